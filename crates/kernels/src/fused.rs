//! A convolution with its bias and a ReLU before or after it as one custom op: one graph node and
//! one output buffer instead of three, so neither the forward nor candle's backward (a zero
//! buffer and an add per node) touches, or keeps, the intermediate activations.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

use super::channel::{add_bias, bias_add, bias_relu, ChannelSum, ReluGrad};
use super::conv::{conv2d, f32_slice, relu_conv2d, ConvOp, ConvParams};
use super::cuda::{own_kernels, OpGroup};

/// `max(conv2d(x, w, p) + b, 0)` with `b` of shape `(O)`.
pub fn conv2d_bias_relu(x: &Tensor, w: &Tensor, b: &Tensor, p: ConvParams) -> Result<Tensor> {
    if fast_cpu(x) {
        return fused(x, w, b, ConvOp::conv(p), true);
    }
    bias_relu(&conv2d(x, w, p)?, b)
}

/// `conv2d(max(x, 0), w, p) + b`, the ReLU folded into the convolution ([`relu_conv2d`]).
pub fn relu_conv2d_bias(x: &Tensor, w: &Tensor, b: &Tensor, p: ConvParams) -> Result<Tensor> {
    if fast_cpu(x) {
        return fused(x, w, b, ConvOp::relu_conv(p), false);
    }
    bias_add(&relu_conv2d(x, w, p)?, b)
}

fn fast_cpu(x: &Tensor) -> bool {
    x.device().is_cpu() && own_kernels(x, OpGroup::Conv)
}

fn fused(x: &Tensor, w: &Tensor, b: &Tensor, conv: ConvOp, relu: bool) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, ConvBias { conv, relu })
}

/// The convolution `conv`, plus the bias, then a ReLU when `relu`.
struct ConvBias {
    conv: ConvOp,
    relu: bool,
}

impl CustomOp3 for ConvBias {
    fn name(&self) -> &'static str {
        "pbtnas-conv-bias"
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
        let (y, shape) = self.conv.cpu_fwd(s1, l1, s2, l2)?;
        let (CpuStorage::F32(mut y), &[_, c, h, w]) = (y, shape.dims()) else {
            candle_core::bail!("conv2d gave no 4-d f32 output");
        };
        let b = f32_slice(s3, l3)?;
        if b.len() != c {
            candle_core::bail!("conv2d with bias: {c} channels but a bias of {}", b.len());
        }
        add_bias(&mut y, b, h * w, self.relu);
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
        let gz = if self.relu {
            gy.contiguous()?.apply_op2_no_bwd(y, &ReluGrad)?
        } else {
            gy.contiguous()?
        };
        let gb = if b.track_op() {
            Some(gz.apply_op1_no_bwd(&ChannelSum)?)
        } else {
            None
        };
        let (gx, gw) = self.conv.bwd(x, w, y, &gz)?;
        Ok((gx, gw, gb))
    }
}
