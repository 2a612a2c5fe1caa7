//! Which tensors the crate's own kernels take, the launch shapes of its CUDA kernels (`*.cu` next
//! to this file, compiled to PTX by `build.rs` in `cuda` builds; the CPU emulation tests in
//! `cuda_emu.rs` use the same shapes), and, in `cuda` builds, their launching.

use candle_core::Tensor;

/// Threads per block of the elementwise kernels.
#[cfg(any(test, feature = "cuda"))]
pub(crate) const BLOCK: u32 = 256;

/// Threads per block of the per-channel reductions, one block per channel: a power of two, at
/// most the `REDUCE` of the kernels' shared buffers.
#[cfg(any(test, feature = "cuda"))]
pub(crate) const REDUCE_BLOCK: u32 = 256;

/// Blocks of [`BLOCK`] threads for one thread per element of `n`.
#[cfg(any(test, feature = "cuda"))]
pub(crate) fn blocks_for(n: usize) -> u32 {
    u32::try_from(n.div_ceil(BLOCK as usize)).expect("tensor too large for one launch")
}

/// Whether `t` runs on this crate's kernels: f32 on the CPU, or on CUDA in `cuda` builds.
pub(crate) fn own_kernels(t: &Tensor) -> bool {
    t.dtype() == candle_core::DType::F32
        && (t.device().is_cpu() || (cfg!(feature = "cuda") && t.device().is_cuda()))
}

#[cfg(feature = "cuda")]
pub(crate) use device::*;

#[cfg(feature = "cuda")]
mod device {
    use std::ops::Range;

    use candle_core::cuda::cudarc::driver::{
        CudaFunction, CudaSlice, CudaView, CudaViewMut, LaunchArgs, LaunchConfig,
    };
    use candle_core::cuda::WrapErr;
    use candle_core::{bail, CudaDevice, CudaStorage, Layout, Result, Storage, Tensor};

    /// The PTX of a kernel file, by its name without `.cu`.
    fn ptx(file: &str) -> &'static str {
        match file {
            "update" => include_str!(concat!(env!("OUT_DIR"), "/update.ptx")),
            "resample" => include_str!(concat!(env!("OUT_DIR"), "/resample.ptx")),
            "batch_norm" => include_str!(concat!(env!("OUT_DIR"), "/batch_norm.ptx")),
            _ => unreachable!("no kernel file {file}.cu"),
        }
    }

    /// `kernel` of `file.cu`, loaded once per device.
    pub(crate) fn function(dev: &CudaDevice, file: &str, kernel: &str) -> Result<CudaFunction> {
        Ok(dev
            .get_or_load_custom_func(kernel, &format!("pbtnas_{file}"), ptx(file))?
            .into_cuda_function())
    }

    fn range(l: &Layout) -> Result<Range<usize>> {
        match l.contiguous_offsets() {
            Some((a, b)) => Ok(a..b),
            None => bail!("pbtnas CUDA kernels need contiguous f32 tensors"),
        }
    }

    /// The f32 elements of a contiguous tensor's storage.
    pub(crate) fn view<'a>(s: &'a CudaStorage, l: &Layout) -> Result<CudaView<'a, f32>> {
        Ok(s.as_cuda_slice::<f32>()?.slice(range(l)?))
    }

    /// The f32 elements of a contiguous tensor's storage, writable (in-place ops).
    pub(crate) fn view_mut<'a>(s: &'a mut CudaStorage, l: &Layout) -> Result<CudaViewMut<'a, f32>> {
        Ok(s.as_cuda_slice_mut::<f32>()?.slice_mut(range(l)?))
    }

    /// Runs `f` on the f32 elements of a CUDA tensor an op holds besides its inputs.
    pub(crate) fn with_view<R>(
        t: &Tensor,
        f: impl FnOnce(CudaView<'_, f32>) -> Result<R>,
    ) -> Result<R> {
        let (storage, layout) = t.storage_and_layout();
        match &*storage {
            Storage::Cuda(s) => f(view(s, layout)?),
            _ => bail!("expected a CUDA tensor"),
        }
    }

    /// A fresh buffer of `len` f32 that a kernel is about to fill.
    ///
    /// # Safety
    /// The kernel must write every element before anything reads it.
    pub(crate) unsafe fn output(dev: &CudaDevice, len: usize) -> Result<CudaSlice<f32>> {
        dev.alloc::<f32>(len)
    }

    /// Launches `args` on `grid` blocks of `block` threads.
    ///
    /// # Safety
    /// Every tensor argument must hold all the elements the kernel reads or writes at the sizes
    /// passed with it.
    pub(crate) unsafe fn launch(mut args: LaunchArgs<'_>, grid: u32, block: u32) -> Result<()> {
        if grid > 0 {
            let cfg = LaunchConfig {
                grid_dim: (grid, 1, 1),
                block_dim: (block, 1, 1),
                shared_mem_bytes: 0,
            };
            args.launch(cfg).w()?;
        }
        Ok(())
    }
}
