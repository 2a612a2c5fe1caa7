//! Which tensors the crate's own kernels take (and which op groups are sent back to candle's ops,
//! [`use_candle_ops`]), the launch shapes of its CUDA kernels (`*.cu` next to this file, compiled
//! to PTX by `build.rs` in `cuda` builds; the CPU emulation tests in `cuda_emu.rs` use the same
//! shapes), and, in `cuda` builds, their launching.

use std::sync::atomic::{AtomicU8, Ordering};

use candle_core::Tensor;

/// The op groups that have kernels of this crate on the GPU, each of which can run candle's own
/// ops instead ([`use_candle_ops`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpGroup {
    /// Convolutions and transposed convolutions, fused ones included (cuDNN in `cudnn` builds).
    Conv,
    /// Batch norm in training and layer norm.
    Norm,
    /// ×2 upsampling.
    Upsample,
    /// Adam's step and the soft update, in place.
    Update,
}

impl OpGroup {
    /// Every group, in the order of their bits.
    pub const ALL: [OpGroup; 4] = [Self::Conv, Self::Norm, Self::Upsample, Self::Update];

    /// The group's name in `PBTNAS_CANDLE_OPS`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Conv => "conv",
            Self::Norm => "norm",
            Self::Upsample => "upsample",
            Self::Update => "update",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The groups sent to candle's ops, one bit each; [`UNREAD`] until the environment is read.
static CANDLE_OPS: AtomicU8 = AtomicU8::new(UNREAD);
const UNREAD: u8 = u8::MAX;

/// The groups named in `PBTNAS_CANDLE_OPS` (comma-separated group names or `all`; unset or empty:
/// none).
pub fn candle_ops_from_env() -> candle_core::Result<Vec<OpGroup>> {
    let v = std::env::var("PBTNAS_CANDLE_OPS").unwrap_or_default();
    let mut groups = Vec::new();
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match OpGroup::ALL.iter().find(|g| g.name() == name) {
            Some(&g) => groups.push(g),
            None if name == "all" => groups.extend(OpGroup::ALL),
            None => {
                let names: Vec<_> = OpGroup::ALL.iter().map(|g| g.name()).collect();
                candle_core::bail!(
                    "PBTNAS_CANDLE_OPS: unknown op group {name:?}; the groups are {}, or all",
                    names.join(", ")
                )
            }
        }
    }
    Ok(groups)
}

/// Runs `groups` on candle's own ops instead of this crate's kernels, on every device, from now on
/// (for side-by-side timings, and as a way around a kernel that fails on some GPU). Without a call
/// the groups come from `PBTNAS_CANDLE_OPS` at the first op.
pub fn use_candle_ops(groups: &[OpGroup]) {
    let bits = groups.iter().fold(0, |b, g| b | g.bit());
    CANDLE_OPS.store(bits, Ordering::Relaxed);
}

/// The groups that run candle's own ops.
pub fn candle_ops() -> Vec<OpGroup> {
    let bits = candle_bits();
    OpGroup::ALL
        .into_iter()
        .filter(|g| bits & g.bit() != 0)
        .collect()
}

/// The bits of the groups on candle's ops, read from the environment on the first call.
fn candle_bits() -> u8 {
    match CANDLE_OPS.load(Ordering::Relaxed) {
        UNREAD => {
            let groups = candle_ops_from_env().unwrap_or_else(|e| panic!("{e}"));
            use_candle_ops(&groups);
            CANDLE_OPS.load(Ordering::Relaxed)
        }
        bits => bits,
    }
}

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

/// Whether ops of `group` on `t` run on this crate's kernels: f32 on the CPU, or on CUDA in `cuda`
/// builds (convolutions: `cudnn` builds), unless the group was sent to candle's ops.
pub fn own_kernels(t: &Tensor, group: OpGroup) -> bool {
    let cuda = match group {
        OpGroup::Conv => cfg!(feature = "cudnn"),
        _ => cfg!(feature = "cuda"),
    };
    t.dtype() == candle_core::DType::F32
        && (t.device().is_cpu() || (cuda && t.device().is_cuda()))
        && candle_bits() & group.bit() == 0
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
