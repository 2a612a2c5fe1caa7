//! Batch normalisation in training mode (statistics of the batch) as four custom ops, each a
//! pass over the data on the CPU (two for the statistics) and one kernel on CUDA
//! (`batch_norm.cu`): the channel statistics, the normalisation, and in backward the
//! per-channel gradient sums and the input gradient. Composed from candle ops, batch norm keeps
//! several full-size intermediates and takes about a dozen passes each way.

use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor,
};
use rayon::prelude::*;

use super::conv::f32_slice;
#[cfg(feature = "cuda")]
use super::cuda::{self, BLOCK, REDUCE_BLOCK};
use super::cuda::{own_kernels, OpGroup};
#[cfg(feature = "cuda")]
use candle_core::backend::BackendStorage;

/// (batch, channels, pixels per channel) of an `(N, C)` or `(N, C, ...)` tensor.
pub(crate) fn ncp(dims: &[usize]) -> Result<(usize, usize, usize)> {
    match dims {
        [n, c, rest @ ..] => Ok((*n, *c, rest.iter().product())),
        _ => bail!("batch norm needs at least 2 dimensions, got {dims:?}"),
    }
}

/// `1 / √(var + eps)` with the square root in f64, as every kernel here computes it.
fn inv_std(var: f32, eps: f64) -> f32 {
    (1.0 / (var as f64 + eps).sqrt()) as f32
}

/// The `(2, C)` per-channel vectors an op holds (statistics, gradient sums), on the CPU.
fn rows2(t: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
    let mut v = t.to_vec2::<f32>()?.into_iter();
    Ok((v.next().unwrap_or_default(), v.next().unwrap_or_default()))
}

/// Batch norm with batch statistics: returns `y` and the per-channel batch mean and biased
/// variance (for the running statistics). x is `(N, C, ...)`, gamma and beta `(C)`. In f32 on
/// the CPU and on CUDA (`cuda` builds) this module's kernels; elsewhere composed candle ops.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    if own_kernels(x, OpGroup::Norm) {
        let x = x.contiguous()?;
        let stats = x.apply_op1_no_bwd(&ChannelStats)?;
        let (gamma, beta) = (gamma.contiguous()?, beta.contiguous()?);
        let (c1, c2) = (gamma.elem_count(), beta.elem_count());
        if c1 != stats.dim(1)? || c2 != stats.dim(1)? {
            bail!(
                "batch norm: {} channels but weight/bias of {c1}/{c2}",
                stats.dim(1)?
            );
        }
        let op = BatchNorm {
            eps,
            stats: stats.clone(),
        };
        let y = x.apply_op3(&gamma, &beta, op)?;
        return Ok((y, stats.get(0)?, stats.get(1)?));
    }
    let shape: Vec<usize> = x
        .dims()
        .iter()
        .enumerate()
        .map(|(i, &d)| if i == 1 { d } else { 1 })
        .collect();
    let axes: Vec<usize> = (0..x.rank()).filter(|&i| i != 1).collect();
    let mean = x.mean_keepdim(axes.as_slice())?;
    let centered = x.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(axes.as_slice())?;
    let y = centered
        .broadcast_div(&(&var + eps)?.sqrt()?)?
        .broadcast_mul(&gamma.reshape(shape.as_slice())?)?
        .broadcast_add(&beta.reshape(shape.as_slice())?)?;
    Ok((y, mean.flatten_all()?.detach(), var.flatten_all()?.detach()))
}

/// x `(N, C, ...)` → `(2, C)`: each channel's mean and biased variance.
pub(crate) struct ChannelStats;

impl CustomOp1 for ChannelStats {
    fn name(&self) -> &'static str {
        "pbtnas-bn-stats"
    }

    /// Two passes, rows summed in f32, rows combined in f64.
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l)?;
        let (n, c, p) = ncp(l.shape().dims())?;
        let (mean, var): (Vec<f32>, Vec<f32>) = (0..c)
            .into_par_iter()
            .map(|ch| {
                let rows = (0..n).map(|i| &x[(i * c + ch) * p..(i * c + ch + 1) * p]);
                let m = (n * p) as f64;
                let mean = rows
                    .clone()
                    .map(|r| r.iter().sum::<f32>() as f64)
                    .sum::<f64>()
                    / m;
                let mf = mean as f32;
                let ss: f64 = rows
                    .map(|r| r.iter().map(|&v| (v - mf) * (v - mf)).sum::<f32>() as f64)
                    .sum();
                (mf, (ss / m) as f32)
            })
            .unzip();
        Ok((CpuStorage::F32([mean, var].concat()), Shape::from((2, c))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda::cudarc::driver::PushKernelArg;
        let (n, c, p) = ncp(l.shape().dims())?;
        let dev = s.device().clone();
        let func = cuda::function(&dev, "batch_norm", "pbtnas_bn_stats")?;
        let x = cuda::view(s, l)?;
        // SAFETY: the kernel writes both statistics of every channel.
        let mut out = unsafe { cuda::output(&dev, 2 * c)? };
        let (n64, c64, p64) = (n as u64, c as u64, p as u64);
        let stream = dev.cuda_stream();
        let mut b = stream.launch_builder(&func);
        b.arg(&n64).arg(&c64).arg(&p64).arg(&x).arg(&mut out);
        // SAFETY: x holds n·c·p elements, out 2c; one block per channel.
        unsafe { cuda::launch(b, c as u32, REDUCE_BLOCK)? };
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(out, dev),
            Shape::from((2, c)),
        ))
    }
}

/// `(x − mean) / √(var + eps) · gamma + beta` over inputs (x, gamma, beta), with the batch's
/// `(2, C)` statistics from [`ChannelStats`].
struct BatchNorm {
    eps: f64,
    stats: Tensor,
}

impl CustomOp3 for BatchNorm {
    fn name(&self) -> &'static str {
        "pbtnas-batch-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, gamma, beta) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        let (_, c, p) = ncp(l1.shape().dims())?;
        let (mean, var) = rows2(&self.stats)?;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(p.max(1))
            .enumerate()
            .for_each(|(row, out)| {
                let ch = row % c;
                let scale = gamma[ch] / (var[ch] as f64 + self.eps).sqrt() as f32;
                let shift = beta[ch] - mean[ch] * scale;
                for (o, &v) in out.iter_mut().zip(&x[row * p..(row + 1) * p]) {
                    *o = v * scale + shift;
                }
            });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda::cudarc::driver::PushKernelArg;
        let (_, c, p) = ncp(l1.shape().dims())?;
        let total = l1.shape().elem_count();
        let dev = s1.device().clone();
        let func = cuda::function(&dev, "batch_norm", "pbtnas_bn_forward")?;
        let (x, gamma, beta) = (
            cuda::view(s1, l1)?,
            cuda::view(s2, l2)?,
            cuda::view(s3, l3)?,
        );
        // SAFETY: one thread per element writes it.
        let mut y = unsafe { cuda::output(&dev, total)? };
        cuda::with_view(&self.stats, |stats| {
            let (t64, c64, p64) = (total as u64, c as u64, p as u64);
            let stream = dev.cuda_stream();
            let mut b = stream.launch_builder(&func);
            b.arg(&t64).arg(&c64).arg(&p64).arg(&x).arg(&stats);
            b.arg(&gamma).arg(&beta).arg(&self.eps).arg(&mut y);
            // SAFETY: x and y hold `total` elements; stats 2c, gamma and beta c (checked when
            // the op was made).
            unsafe { cuda::launch(b, cuda::blocks_for(total), BLOCK) }
        })?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(y, dev),
            l1.shape().clone(),
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let gy = gy.contiguous()?;
        let sums = gy.apply_op2_no_bwd(
            x,
            &GradSums {
                eps: self.eps,
                stats: self.stats.clone(),
            },
        )?;
        let gx = if x.track_op() {
            let op = GradInput {
                eps: self.eps,
                stats: self.stats.clone(),
                sums: sums.clone(),
                gamma: gamma.clone(),
            };
            Some(gy.apply_op2_no_bwd(x, &op)?)
        } else {
            None
        };
        Ok((gx, Some(sums.get(1)?), Some(sums.get(0)?)))
    }
}

/// (gy, x) → `(2, C)`: per channel Σ gy (beta's gradient) and Σ gy·x̂ (gamma's).
pub(crate) struct GradSums {
    pub eps: f64,
    pub stats: Tensor,
}

impl CustomOp2 for GradSums {
    fn name(&self) -> &'static str {
        "pbtnas-bn-grad-sums"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (gy, x) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let (n, c, p) = ncp(l1.shape().dims())?;
        let (mean, var) = rows2(&self.stats)?;
        let (sum_g, sum_gx): (Vec<f32>, Vec<f32>) = (0..c)
            .into_par_iter()
            .map(|ch| {
                let (mut a, mut b) = (0f64, 0f64);
                for i in 0..n {
                    let r = (i * c + ch) * p..(i * c + ch + 1) * p;
                    let (mut a32, mut b32) = (0f32, 0f32);
                    for (&g, &v) in gy[r.clone()].iter().zip(&x[r]) {
                        a32 += g;
                        b32 += g * (v - mean[ch]);
                    }
                    a += a32 as f64;
                    b += b32 as f64;
                }
                (a as f32, (b * inv_std(var[ch], self.eps) as f64) as f32)
            })
            .unzip();
        Ok((
            CpuStorage::F32([sum_g, sum_gx].concat()),
            Shape::from((2, c)),
        ))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda::cudarc::driver::PushKernelArg;
        let (n, c, p) = ncp(l1.shape().dims())?;
        let dev = s1.device().clone();
        let func = cuda::function(&dev, "batch_norm", "pbtnas_bn_grad_sums")?;
        let (gy, x) = (cuda::view(s1, l1)?, cuda::view(s2, l2)?);
        // SAFETY: the kernel writes both sums of every channel.
        let mut out = unsafe { cuda::output(&dev, 2 * c)? };
        cuda::with_view(&self.stats, |stats| {
            let (n64, c64, p64) = (n as u64, c as u64, p as u64);
            let stream = dev.cuda_stream();
            let mut b = stream.launch_builder(&func);
            b.arg(&n64).arg(&c64).arg(&p64).arg(&gy).arg(&x);
            b.arg(&stats).arg(&self.eps).arg(&mut out);
            // SAFETY: gy and x hold n·c·p elements, stats and out 2c; one block per channel.
            unsafe { cuda::launch(b, c as u32, REDUCE_BLOCK) }
        })?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(out, dev),
            Shape::from((2, c)),
        ))
    }
}

/// (gy, x) → gx = gamma/σ · (gy − mean(gy) − x̂ · mean(gy·x̂)), from the [`GradSums`].
pub(crate) struct GradInput {
    pub eps: f64,
    pub stats: Tensor,
    pub sums: Tensor,
    pub gamma: Tensor,
}

impl CustomOp2 for GradInput {
    fn name(&self) -> &'static str {
        "pbtnas-bn-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (gy, x) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let (n, c, p) = ncp(l1.shape().dims())?;
        let ((mean, var), (sum_g, sum_gx)) = (rows2(&self.stats)?, rows2(&self.sums)?);
        let gamma = self.gamma.to_vec1::<f32>()?;
        let m = (n * p) as f64;
        let mut gx = vec![0f32; x.len()];
        gx.par_chunks_mut(p.max(1))
            .enumerate()
            .for_each(|(row, out)| {
                let ch = row % c;
                let is = inv_std(var[ch], self.eps);
                let mg = (sum_g[ch] as f64 / m) as f32;
                let mgx = (sum_gx[ch] as f64 / m) as f32 * is;
                let r = row * p..(row + 1) * p;
                for ((o, &g), &v) in out.iter_mut().zip(&gy[r.clone()]).zip(&x[r]) {
                    *o = gamma[ch] * is * (g - mg - (v - mean[ch]) * mgx);
                }
            });
        Ok((CpuStorage::F32(gx), l1.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda::cudarc::driver::PushKernelArg;
        let (n, c, p) = ncp(l1.shape().dims())?;
        let total = l1.shape().elem_count();
        let dev = s1.device().clone();
        let func = cuda::function(&dev, "batch_norm", "pbtnas_bn_grad_input")?;
        let (gy, x) = (cuda::view(s1, l1)?, cuda::view(s2, l2)?);
        // SAFETY: one thread per element writes it.
        let mut gx = unsafe { cuda::output(&dev, total)? };
        let gamma = self.gamma.contiguous()?;
        cuda::with_view(&self.stats, |stats| {
            cuda::with_view(&self.sums, |sums| {
                cuda::with_view(&gamma, |gamma| {
                    let (t64, c64, p64, m) = (total as u64, c as u64, p as u64, (n * p) as f64);
                    let stream = dev.cuda_stream();
                    let mut b = stream.launch_builder(&func);
                    b.arg(&t64).arg(&c64).arg(&p64).arg(&gy).arg(&x);
                    b.arg(&stats).arg(&sums).arg(&gamma).arg(&self.eps).arg(&m);
                    b.arg(&mut gx);
                    // SAFETY: gy, x and gx hold `total` elements; stats and sums 2c, gamma c.
                    unsafe { cuda::launch(b, cuda::blocks_for(total), BLOCK) }
                })
            })
        })?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(gx, dev),
            l1.shape().clone(),
        ))
    }
}
