//! `relu(conv2d(x, w) + b)` as one custom op: one graph node and one output buffer instead of
//! three, so neither the forward nor candle's backward (a zero buffer and an add per node)
//! touches the intermediate activations.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::channel::{bias_relu, ChannelSum, ReluGrad};
use super::conv::{conv2d, f32_slice, ConvOp, ConvParams};

/// `max(conv2d(x, w, p) + b, 0)` with `b` of shape `(O)`.
pub fn conv2d_bias_relu(x: &Tensor, w: &Tensor, b: &Tensor, p: ConvParams) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        return x.contiguous()?.apply_op3(
            &w.contiguous()?,
            &b.contiguous()?,
            ConvBiasRelu(ConvOp::conv(p)),
        );
    }
    bias_relu(&conv2d(x, w, p)?, b)
}

struct ConvBiasRelu(ConvOp);

impl CustomOp3 for ConvBiasRelu {
    fn name(&self) -> &'static str {
        "pbtnas-conv-bias-relu"
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
        let (y, shape) = self.0.cpu_fwd(s1, l1, s2, l2)?;
        let (CpuStorage::F32(mut y), &[_, c, h, w]) = (y, shape.dims()) else {
            candle_core::bail!("conv2d gave no 4-d f32 output");
        };
        let b = f32_slice(s3, l3)?;
        if b.len() != c {
            candle_core::bail!("conv2d_bias_relu: {c} channels but a bias of {}", b.len());
        }
        y.par_chunks_mut((h * w).max(1))
            .enumerate()
            .for_each(|(row, out)| {
                let bias = b[row % c];
                out.iter_mut().for_each(|v| *v = (*v + bias).max(0.0))
            });
        Ok((CpuStorage::F32(y), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let gz = gy.contiguous()?.apply_op2_no_bwd(y, &ReluGrad)?;
        let gb = if b.track_op() {
            Some(gz.apply_op1_no_bwd(&ChannelSum)?)
        } else {
            None
        };
        let (gx, gw) = self.0.bwd(x, w, y, &gz)?;
        Ok((gx, gw, gb))
    }
}
