//! In-place parameter updates in f32, one pass each: Adam's moments and step, and the soft
//! (Polyak) update of a target network; on the CPU in parallel chunks, on CUDA (`cuda` builds) one
//! kernel launch each (`update.cu`). candle's own ops would take a pass and a fresh buffer per
//! arithmetic step (about a dozen for Adam).

use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Result, Tensor, Var};
use rayon::prelude::*;

use super::conv::f32_slice;

/// Elements per parallel task; smaller tensors run on the calling thread.
const CHUNK: usize = 1 << 15;

/// Whether `t` can be updated in place by these kernels.
pub(crate) fn in_place_ok(t: &Tensor) -> bool {
    let device = t.device();
    (device.is_cpu() || (cfg!(feature = "cuda") && device.is_cuda()))
        && t.dtype() == candle_core::DType::F32
        && t.is_contiguous()
}

#[cfg(feature = "cuda")]
mod cuda {
    //! Launches of the kernels in `update.cu`.
    use std::sync::Arc;

    use candle_core::backend::BackendStorage;
    use candle_core::cuda::cudarc::driver::{
        CudaFunction, CudaStream, CudaView, CudaViewMut, LaunchArgs, LaunchConfig,
    };
    use candle_core::cuda::WrapErr;
    use candle_core::{CudaStorage, Layout, Result};

    const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/update.ptx"));

    fn range(l: &Layout) -> Result<std::ops::Range<usize>> {
        match l.contiguous_offsets() {
            Some((a, b)) => Ok(a..b),
            None => candle_core::bail!("in-place update needs a contiguous f32 tensor"),
        }
    }

    pub(super) fn view<'a>(s: &'a CudaStorage, l: &Layout) -> Result<CudaView<'a, f32>> {
        Ok(s.as_cuda_slice::<f32>()?.slice(range(l)?))
    }

    /// For an in-place launch of `kernel(n, dst, …)` whose other tensor arguments have the
    /// layouts `others`: the stream, the kernel, `n` and `dst`.
    pub(super) fn prepare<'a>(
        kernel: &str,
        dst: &'a mut CudaStorage,
        l: &Layout,
        others: &[&Layout],
    ) -> Result<(Arc<CudaStream>, CudaFunction, u64, CudaViewMut<'a, f32>)> {
        for o in others {
            super::check_len(kernel, l.shape().elem_count(), o.shape().elem_count())?;
        }
        let dev = dst.device().clone();
        let range = range(l)?;
        let n = range.len() as u64;
        let func = dev
            .get_or_load_custom_func(kernel, "pbtnas_update", PTX)?
            .into_cuda_function();
        let dst = dst.as_cuda_slice_mut::<f32>()?.slice_mut(range);
        Ok((dev.cuda_stream(), func, n, dst))
    }

    /// Launches a prepared kernel over `n` elements.
    pub(super) fn launch(mut args: LaunchArgs<'_>, n: u64) -> Result<()> {
        // SAFETY: every kernel of `update.cu` reads and writes the first `n` elements of each of
        // its tensor arguments, which `prepare` checked are that long.
        unsafe { args.launch(LaunchConfig::for_num_elems(n as u32)) }.w()?;
        Ok(())
    }
}

fn f32_slice_mut<'a>(s: &'a mut CpuStorage, l: &Layout) -> Result<&'a mut [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&mut v[a..b]),
        _ => candle_core::bail!("in-place update needs a contiguous f32 tensor"),
    }
}

/// `dst[i] = f(dst[i], a[i], b[i])` over equal-length slices, in parallel chunks.
fn zip3(dst: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32, f32) -> f32 + Sync) {
    let run = |d: &mut [f32], a: &[f32], b: &[f32]| {
        d.iter_mut()
            .zip(a.iter().zip(b))
            .for_each(|(d, (&a, &b))| *d = f(*d, a, b))
    };
    if dst.len() <= CHUNK {
        return run(dst, a, b);
    }
    dst.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(d, (a, b))| run(d, a, b));
}

fn check_len(what: &str, a: usize, b: usize) -> Result<()> {
    if a != b {
        candle_core::bail!("{what}: {a} elements against {b}");
    }
    Ok(())
}

/// `dst ← keep·dst + take·src` (`src²` when `square`): Adam's moments and the soft update.
pub(crate) struct Blend {
    pub keep: f32,
    pub take: f32,
    pub square: bool,
}

impl InplaceOp2 for Blend {
    fn name(&self) -> &'static str {
        "pbtnas-blend"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let src = f32_slice(s2, l2)?;
        let dst = f32_slice_mut(s1, l1)?;
        check_len(self.name(), dst.len(), src.len())?;
        let Blend { keep, take, square } = *self;
        zip3(dst, src, src, |d, s, _| {
            let s = if square { s * s } else { s };
            d * keep + s * take
        });
        Ok(())
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &mut candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<()> {
        use candle_core::cuda::cudarc::driver::PushKernelArg;
        let (src, square) = (cuda::view(s2, l2)?, self.square as i32);
        let (stream, func, n, mut dst) = cuda::prepare("pbtnas_blend", s1, l1, &[l2])?;
        let mut b = stream.launch_builder(&func);
        b.arg(&n).arg(&mut dst).arg(&src);
        b.arg(&self.keep).arg(&self.take).arg(&square);
        cuda::launch(b, n)
    }
}

/// Adam's step on a parameter from its moments:
/// `p ← p·shrink − step · m / (√v · inv_sqrt_bc2 + eps)`.
pub(crate) struct AdamStep {
    pub shrink: f32,
    pub step: f32,
    pub inv_sqrt_bc2: f32,
    pub eps: f32,
}

impl InplaceOp3 for AdamStep {
    fn name(&self) -> &'static str {
        "pbtnas-adam-step"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<()> {
        let (m, v) = (f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        let p = f32_slice_mut(s1, l1)?;
        check_len(self.name(), p.len(), m.len())?;
        check_len(self.name(), p.len(), v.len())?;
        let AdamStep {
            shrink,
            step,
            inv_sqrt_bc2,
            eps,
        } = *self;
        zip3(p, m, v, |p, m, v| {
            p * shrink - m / (v.sqrt() * inv_sqrt_bc2 + eps) * step
        });
        Ok(())
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &mut candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> Result<()> {
        use candle_core::cuda::cudarc::driver::PushKernelArg;
        let (m, v) = (cuda::view(s2, l2)?, cuda::view(s3, l3)?);
        let (stream, func, n, mut p) = cuda::prepare("pbtnas_adam_step", s1, l1, &[l2, l3])?;
        let mut b = stream.launch_builder(&func);
        b.arg(&n).arg(&mut p).arg(&m).arg(&v);
        b.arg(&self.shrink).arg(&self.step);
        b.arg(&self.inv_sqrt_bc2).arg(&self.eps);
        cuda::launch(b, n)
    }
}

/// `target ← τ·source + (1 − τ)·target`, the soft update of a target network: in place in f32 on
/// the CPU and (in `cuda` builds) on CUDA, through [`Var::set`] elsewhere.
pub fn soft_update(target: &Var, source: &Tensor, tau: f64) -> Result<()> {
    let source = source.detach();
    if in_place_ok(target.as_tensor()) && source.device().same_device(target.device()) {
        let blend = Blend {
            keep: (1.0 - tau) as f32,
            take: tau as f32,
            square: false,
        };
        return target
            .as_tensor()
            .inplace_op2(&source.contiguous()?, &blend);
    }
    let t = target.as_tensor().detach();
    target.set(&((source * tau)? + (t * (1.0 - tau))?)?)
}
