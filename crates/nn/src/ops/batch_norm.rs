//! Fused batch normalisation in training mode (statistics of the batch), forward and backward
//! in one pass each over the data, as a candle custom op on CPU.

use std::sync::{Arc, Mutex};

use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::conv::{f32_slice, with_f32};

/// Per-channel batch mean and biased variance, kept by the forward for the backward and for the
/// caller's running statistics.
type Stats = Arc<Mutex<Option<(Vec<f32>, Vec<f32>)>>>;

struct BatchNormOp {
    eps: f64,
    stats: Stats,
}

/// (batch, channels, pixels per channel) of an `(N, C)` or `(N, C, ...)` tensor.
pub(crate) fn ncp(dims: &[usize]) -> Result<(usize, usize, usize)> {
    match dims {
        [n, c, rest @ ..] => Ok((*n, *c, rest.iter().product())),
        _ => bail!("batch norm needs at least 2 dimensions, got {dims:?}"),
    }
}

/// Mean and biased variance of each channel: two passes, rows summed in f32, rows combined in f64.
fn channel_stats(x: &[f32], n: usize, c: usize, p: usize) -> (Vec<f32>, Vec<f32>) {
    (0..c)
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
        .unzip()
}

impl CustomOp3 for BatchNormOp {
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
        let (n, c, p) = ncp(l1.shape().dims())?;
        if gamma.len() != c || beta.len() != c {
            bail!(
                "batch norm: {c} channels but weight/bias of {}/{}",
                gamma.len(),
                beta.len()
            );
        }
        let (mean, var) = channel_stats(x, n, c, p);
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
        *self.stats.lock().expect("stats") = Some((mean, var));
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, p) = ncp(x.dims())?;
        let (mean, var) = self
            .stats
            .lock()
            .expect("stats")
            .clone()
            .expect("forward ran");
        let gam = gamma.to_vec1::<f32>()?;
        let invstd: Vec<f32> = var
            .iter()
            .map(|&v| (1.0 / (v as f64 + self.eps).sqrt()) as f32)
            .collect();
        let m = (n * p) as f64;
        let (gx, sum_g, sum_gx) = with_f32(x, |xs| {
            with_f32(gy, |gys| {
                // Per channel: Σ dy and Σ dy·x̂.
                let (sum_g, sum_gx): (Vec<f64>, Vec<f64>) = (0..c)
                    .into_par_iter()
                    .map(|ch| {
                        let (mut a, mut b) = (0f64, 0f64);
                        for i in 0..n {
                            let r = (i * c + ch) * p..(i * c + ch + 1) * p;
                            let (mut a32, mut b32) = (0f32, 0f32);
                            for (&g, &v) in gys[r.clone()].iter().zip(&xs[r]) {
                                a32 += g;
                                b32 += g * (v - mean[ch]);
                            }
                            a += a32 as f64;
                            b += b32 as f64;
                        }
                        (a, b * invstd[ch] as f64)
                    })
                    .unzip();
                let gx = if x.track_op() {
                    let mut gx = vec![0f32; xs.len()];
                    gx.par_chunks_mut(p.max(1))
                        .enumerate()
                        .for_each(|(row, out)| {
                            let ch = row % c;
                            let k = gam[ch] * invstd[ch];
                            let mg = (sum_g[ch] / m) as f32;
                            let mgx = (sum_gx[ch] / m) as f32 * invstd[ch];
                            let r = row * p..(row + 1) * p;
                            for ((o, &g), &v) in out.iter_mut().zip(&gys[r.clone()]).zip(&xs[r]) {
                                *o = k * (g - mg - (v - mean[ch]) * mgx);
                            }
                        });
                    Some(Tensor::from_vec(gx, x.shape(), x.device())?)
                } else {
                    None
                };
                Ok((gx, sum_g, sum_gx))
            })
        })?;
        let to_t = |v: Vec<f64>| {
            Tensor::from_vec(
                v.into_iter().map(|x| x as f32).collect::<Vec<_>>(),
                c,
                x.device(),
            )
        };
        Ok((gx, Some(to_t(sum_gx)?), Some(to_t(sum_g)?)))
    }
}

/// Batch norm with batch statistics: returns `y` and the per-channel batch mean and biased
/// variance (for the running statistics). x is `(N, C, ...)`, gamma and beta `(C)`. On CPU in
/// f32 a fused kernel; elsewhere composed candle ops.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (_, c, _) = ncp(x.dims())?;
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        let stats: Stats = Arc::default();
        let y = x.contiguous()?.apply_op3(
            &gamma.contiguous()?,
            &beta.contiguous()?,
            BatchNormOp {
                eps,
                stats: stats.clone(),
            },
        )?;
        let (mean, var) = stats.lock().expect("stats").clone().expect("forward ran");
        return Ok((
            y,
            Tensor::from_vec(mean, c, x.device())?,
            Tensor::from_vec(var, c, x.device())?,
        ));
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
