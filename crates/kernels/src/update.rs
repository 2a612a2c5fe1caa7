//! In-place parameter updates in f32, one pass each: Adam's moments and step, and the soft
//! (Polyak) update of a target network; on the CPU in parallel chunks, on CUDA (`cuda` builds) one
//! kernel launch each (`update.cu`). candle's own ops would take a pass and a fresh buffer per
//! arithmetic step (about a dozen for Adam).

use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Result, Tensor, Var};
use rayon::prelude::*;

#[cfg(feature = "cuda")]
use super::cuda;
#[cfg(feature = "cuda")]
use candle_core::backend::BackendStorage;

use super::conv::f32_slice;
use super::cuda::{own_kernels, OpGroup};

/// Elements per parallel task; smaller tensors run on the calling thread.
const CHUNK: usize = 1 << 15;

/// Whether `t` can be updated in place by these kernels.
pub fn in_place_ok(t: &Tensor) -> bool {
    own_kernels(t, OpGroup::Update) && t.is_contiguous()
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
pub struct Blend {
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
        check_len(
            self.name(),
            l1.shape().elem_count(),
            l2.shape().elem_count(),
        )?;
        let (dev, n) = (s1.device().clone(), l1.shape().elem_count());
        let func = cuda::function(&dev, "update", "pbtnas_blend")?;
        let (src, square, len) = (cuda::view(s2, l2)?, self.square as i32, n as u64);
        let mut dst = cuda::view_mut(s1, l1)?;
        let stream = dev.cuda_stream();
        let mut b = stream.launch_builder(&func);
        b.arg(&len).arg(&mut dst).arg(&src);
        b.arg(&self.keep).arg(&self.take).arg(&square);
        // SAFETY: both tensors hold `n` elements (checked above); the kernel touches those.
        unsafe { cuda::launch(b, cuda::blocks_for(n), cuda::BLOCK) }
    }
}

/// Adam's step on a parameter from its moments:
/// `p ← p·shrink − step · m / (√v · inv_sqrt_bc2 + eps)`.
pub struct AdamStep {
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
        let n = l1.shape().elem_count();
        check_len(self.name(), n, l2.shape().elem_count())?;
        check_len(self.name(), n, l3.shape().elem_count())?;
        let dev = s1.device().clone();
        let func = cuda::function(&dev, "update", "pbtnas_adam_step")?;
        let (m, v, len) = (cuda::view(s2, l2)?, cuda::view(s3, l3)?, n as u64);
        let mut p = cuda::view_mut(s1, l1)?;
        let stream = dev.cuda_stream();
        let mut b = stream.launch_builder(&func);
        b.arg(&len).arg(&mut p).arg(&m).arg(&v);
        b.arg(&self.shrink).arg(&self.step);
        b.arg(&self.inv_sqrt_bc2).arg(&self.eps);
        // SAFETY: the three tensors hold `n` elements (checked above); the kernel touches those.
        unsafe { cuda::launch(b, cuda::blocks_for(n), cuda::BLOCK) }
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
