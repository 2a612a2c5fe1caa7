//! Per-channel bias add and ReLU as fused CPU ops. candle's own versions are correct but slow
//! in backward on CPU: a broadcast bias reduces its gradient over strided dims element by
//! element, and ReLU's gradient takes five passes (zeros, compare, cast, multiply, add).

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::batch_norm::ncp;
use super::conv::f32_slice;

fn fast_cpu(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == candle_core::DType::F32
}

/// `x + b` with `b` of shape `(C)` broadcast over channel dim 1 of `x` `(N, C, ...)`.
pub fn bias_add(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    if fast_cpu(x) {
        return x
            .contiguous()?
            .apply_op2(&b.contiguous()?, BiasAdd { relu: false });
    }
    let mut shape = vec![1; x.rank()];
    shape[1] = b.elem_count();
    x.broadcast_add(&b.reshape(shape)?)
}

/// `max(x + b, 0)`: [`bias_add`] then [`relu`] in one pass, forward and backward.
pub fn bias_relu(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    if fast_cpu(x) {
        return x
            .contiguous()?
            .apply_op2(&b.contiguous()?, BiasAdd { relu: true });
    }
    relu(&bias_add(x, b)?)
}

/// `max(x, 0)`.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if fast_cpu(x) {
        return x.contiguous()?.apply_op1(Relu);
    }
    x.relu()
}

/// `x + b`, followed by ReLU when `relu`.
struct BiasAdd {
    relu: bool,
}

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        if self.relu {
            "pbtnas-bias-relu"
        } else {
            "pbtnas-bias-add"
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, b) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let (_, c, p) = ncp(l1.shape().dims())?;
        if b.len() != c {
            bail!("bias_add: {c} channels but a bias of {}", b.len());
        }
        let mut y = x.to_vec();
        add_bias(&mut y, b, p, self.relu);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        b: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let gy = if self.relu {
            gy.contiguous()?.apply_op2_no_bwd(y, &ReluGrad)?
        } else {
            gy.clone()
        };
        let gx = x.track_op().then(|| gy.clone());
        let gb = if b.track_op() {
            Some(gy.contiguous()?.apply_op1_no_bwd(&ChannelSum)?)
        } else {
            None
        };
        Ok((gx, gb))
    }
}

/// `y += b[channel]` over `y` `(N, C, ...)` with `plane` elements per channel row, then ReLU when
/// `relu`; in parallel over the rows.
pub(super) fn add_bias(y: &mut [f32], b: &[f32], plane: usize, relu: bool) {
    y.par_chunks_mut(plane.max(1))
        .enumerate()
        .for_each(|(row, out)| {
            let bias = b[row % b.len()];
            if relu {
                out.iter_mut().for_each(|v| *v = (*v + bias).max(0.0))
            } else {
                out.iter_mut().for_each(|v| *v += bias)
            }
        });
}

/// `(N, C, ...)` → `(C)`: the sum over every dim but 1, rows summed in f32, combined in f64.
pub(super) struct ChannelSum;

impl CustomOp1 for ChannelSum {
    fn name(&self) -> &'static str {
        "pbtnas-channel-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s, l)?;
        let (n, c, p) = ncp(l.shape().dims())?;
        let sums = (0..c)
            .into_par_iter()
            .map(|ch| {
                (0..n)
                    .map(|i| {
                        g[(i * c + ch) * p..(i * c + ch + 1) * p]
                            .iter()
                            .sum::<f32>() as f64
                    })
                    .sum::<f64>() as f32
            })
            .collect();
        Ok((CpuStorage::F32(sums), Shape::from(c)))
    }
}

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "pbtnas-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l)?;
        Ok((
            CpuStorage::F32(x.par_iter().map(|&v| v.max(0.0)).collect()),
            l.shape().clone(),
        ))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, gy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(gy.contiguous()?.apply_op2_no_bwd(y, &ReluGrad)?))
    }
}

/// `gy · [y > 0]`.
pub(super) struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "pbtnas-relu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (gy, y) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let gx = gy
            .par_iter()
            .zip(y)
            .map(|(&g, &v)| if v > 0.0 { g } else { 0.0 })
            .collect();
        Ok((CpuStorage::F32(gx), l1.shape().clone()))
    }
}
