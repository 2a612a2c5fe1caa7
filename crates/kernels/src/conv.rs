//! conv2d and conv_transpose2d as candle custom ops, with backward passes built from the same
//! three products of a [`ConvShape`]: on the CPU the GEMM kernels of `conv_core`, on CUDA (with
//! `cudnn`) cuDNN's three convolutions (`conv_cudnn`). Gradients are only computed for inputs that
//! need them.

use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use super::channel::{relu, ReluGrad};
use super::conv_core::ConvShape;
use super::cuda::{own_kernels, OpGroup};
use super::im2col::Geometry;

/// Stride, padding, dilation and groups of a convolution (PyTorch's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvParams {
    pub stride: usize,
    pub padding: usize,
    /// Left/right padding when it differs from the top/bottom `padding` (PyTorch's
    /// `padding=(h, w)`); `None`: the same.
    pub padding_w: Option<usize>,
    pub dilation: usize,
    pub groups: usize,
    /// conv_transpose2d only: extra rows/columns on one side of the output.
    pub output_padding: usize,
}

impl Default for ConvParams {
    fn default() -> Self {
        Self {
            stride: 1,
            padding: 0,
            padding_w: None,
            dilation: 1,
            groups: 1,
            output_padding: 0,
        }
    }
}

impl ConvParams {
    /// `(top/bottom, left/right)` padding.
    pub fn pads(&self) -> (usize, usize) {
        (self.padding, self.padding_w.unwrap_or(self.padding))
    }
}

pub(crate) fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let v = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("fast CPU op needs a contiguous tensor"),
    }
}

fn dims4(l: &Layout, what: &str) -> Result<(usize, usize, usize, usize)> {
    match l.shape().dims() {
        &[a, b, c, d] => Ok((a, b, c, d)),
        d => bail!("{what} must have 4 dimensions, got {d:?}"),
    }
}

/// Which side of the convolution a custom op computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// conv2d: x (big) → y (small). Differentiable.
    Conv,
    /// conv_transpose2d: x (small) → y (big). Differentiable.
    Transpose,
    /// `small_to_big(arg1 = small, arg2 = w)`, output big dims given.
    ToBig { hb: usize, wb: usize },
    /// `big_to_small(arg1 = big, arg2 = w)`, output small dims given.
    ToSmall { hs: usize, ws: usize },
    /// `weight_grad(arg1 = big, arg2 = small)`, kernel size given.
    WeightGrad { kh: usize, kw: usize },
}

pub(super) struct ConvOp {
    p: ConvParams,
    dir: Direction,
    /// conv2d and its weight gradient: the input is rectified first (inside im2col).
    relu_input: bool,
}

fn small_size(big: usize, k: usize, pad: usize, p: &ConvParams) -> Result<usize> {
    let span = p.dilation * (k - 1) + 1;
    if big + 2 * pad < span {
        bail!(
            "convolution kernel (span {span}) larger than the padded input ({})",
            big + 2 * pad
        );
    }
    Ok((big + 2 * pad - span) / p.stride + 1)
}

fn big_size(small: usize, k: usize, pad: usize, p: &ConvParams) -> Result<usize> {
    let size = (small - 1) * p.stride + p.dilation * (k - 1) + 1 + p.output_padding;
    if size <= 2 * pad {
        bail!("conv_transpose2d output would be empty");
    }
    Ok(size - 2 * pad)
}

impl ConvOp {
    /// The differentiable conv2d op.
    pub(super) fn conv(p: ConvParams) -> Self {
        Self {
            p,
            dir: Direction::Conv,
            relu_input: false,
        }
    }

    /// The differentiable conv2d of `relu(x)`.
    pub(super) fn relu_conv(p: ConvParams) -> Self {
        Self {
            relu_input: true,
            ..Self::conv(p)
        }
    }

    fn geometry(
        &self,
        hb: usize,
        wb: usize,
        hs: usize,
        ws: usize,
        kh: usize,
        kw: usize,
    ) -> Geometry {
        Geometry {
            hb,
            wb,
            hs,
            ws,
            kh,
            kw,
            stride: self.p.stride,
            pad_h: self.p.pads().0,
            pad_w: self.p.pads().1,
            dilation: self.p.dilation,
        }
    }
}

/// What a [`ConvOp`] computes, in the terms of [`ConvShape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Product {
    /// `(arg1 = big, arg2 = w)` → small.
    BigToSmall,
    /// `(arg1 = small, arg2 = w)` → big.
    SmallToBig,
    /// `(arg1 = big, arg2 = small)` → the weight's gradient.
    WeightGrad,
}

impl ConvOp {
    /// The shape of the convolution, its output's shape and the product to compute, from the
    /// layouts of the two arguments; the same on every device.
    pub(super) fn plan(&self, l1: &Layout, l2: &Layout) -> Result<(ConvShape, Shape, Product)> {
        let g = self.p.groups;
        Ok(match self.dir {
            Direction::Conv | Direction::ToSmall { .. } => {
                let (n, c, h, w) = dims4(l1, "conv2d input")?;
                let (o, cg, kh, kw) = dims4(l2, "conv2d weight")?;
                if cg * g != c || o % g != 0 {
                    bail!(
                        "conv2d: input has {c} channels, weight {:?} with {g} groups",
                        l2.shape().dims()
                    );
                }
                let (hs, ws) = match self.dir {
                    Direction::ToSmall { hs, ws } => (hs, ws),
                    _ => {
                        let (ph, pw) = self.p.pads();
                        (
                            small_size(h, kh, ph, &self.p)?,
                            small_size(w, kw, pw, &self.p)?,
                        )
                    }
                };
                let cs = ConvShape {
                    batch: n,
                    big_ch: c,
                    small_ch: o,
                    groups: g,
                    geo: self.geometry(h, w, hs, ws, kh, kw),
                    relu_big: self.relu_input,
                };
                (cs, Shape::from((n, o, hs, ws)), Product::BigToSmall)
            }
            Direction::Transpose | Direction::ToBig { .. } => {
                let (n, s, h, w) = dims4(l1, "conv_transpose2d input")?;
                let (s2, bg, kh, kw) = dims4(l2, "conv_transpose2d weight")?;
                if s2 != s || s % g != 0 {
                    bail!(
                        "conv_transpose2d: input has {s} channels, weight {:?} with {g} groups",
                        l2.shape().dims()
                    );
                }
                let (hb, wb) = match self.dir {
                    Direction::ToBig { hb, wb } => (hb, wb),
                    _ => {
                        let (ph, pw) = self.p.pads();
                        (big_size(h, kh, ph, &self.p)?, big_size(w, kw, pw, &self.p)?)
                    }
                };
                let cs = ConvShape {
                    batch: n,
                    big_ch: bg * g,
                    small_ch: s,
                    groups: g,
                    geo: self.geometry(hb, wb, h, w, kh, kw),
                    relu_big: false,
                };
                (cs, Shape::from((n, bg * g, hb, wb)), Product::SmallToBig)
            }
            Direction::WeightGrad { kh, kw } => {
                let (n, cb, hb, wb) = dims4(l1, "weight-gradient big side")?;
                let (_, cs_, hs, ws) = dims4(l2, "weight-gradient small side")?;
                let cs = ConvShape {
                    batch: n,
                    big_ch: cb,
                    small_ch: cs_,
                    groups: g,
                    geo: self.geometry(hb, wb, hs, ws, kh, kw),
                    relu_big: self.relu_input,
                };
                (cs, Shape::from((cs_, cb / g, kh, kw)), Product::WeightGrad)
            }
        })
    }
}

impl CustomOp2 for ConvOp {
    fn name(&self) -> &'static str {
        "pbtnas-conv"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (a, b) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let (cs, shape, product) = self.plan(l1, l2)?;
        let out = match product {
            Product::BigToSmall => cs.big_to_small(a, b),
            Product::SmallToBig => cs.small_to_big(a, b),
            Product::WeightGrad => cs.weight_grad(a, b),
        };
        Ok((CpuStorage::F32(out), shape))
    }

    #[cfg(feature = "cudnn")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let (cs, shape, product) = self.plan(l1, l2)?;
        if cs.relu_big {
            bail!("pbtnas-conv: the folded ReLU is CPU-only");
        }
        let out = super::conv_cudnn::run(product, &cs, (s1, l1), (s2, l2))?;
        Ok((out, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let gy = gy.contiguous()?;
        let (_, _, h, wd) = x.dims4()?;
        let (_, _, kh, kw) = w.dims4()?;
        let op = |dir| ConvOp {
            p: self.p,
            dir,
            relu_input: self.relu_input,
        };
        match self.dir {
            Direction::Conv => {
                let gx = if x.track_op() {
                    let g = gy.apply_op2_no_bwd(w, &op(Direction::ToBig { hb: h, wb: wd }))?;
                    // Through the input's ReLU: zero where the input was not positive.
                    Some(if self.relu_input {
                        g.apply_op2_no_bwd(&x.contiguous()?, &ReluGrad)?
                    } else {
                        g
                    })
                } else {
                    None
                };
                let gw = if w.track_op() {
                    Some(x.apply_op2_no_bwd(&gy, &op(Direction::WeightGrad { kh, kw }))?)
                } else {
                    None
                };
                Ok((gx, gw))
            }
            Direction::Transpose => {
                let gx = if x.track_op() {
                    Some(gy.apply_op2_no_bwd(w, &op(Direction::ToSmall { hs: h, ws: wd }))?)
                } else {
                    None
                };
                let gw = if w.track_op() {
                    Some(gy.apply_op2_no_bwd(x, &op(Direction::WeightGrad { kh, kw }))?)
                } else {
                    None
                };
                Ok((gx, gw))
            }
            _ => bail!("no second derivative for pbtnas-conv"),
        }
    }
}

/// 2-d convolution, PyTorch semantics: x `(N, C, H, W)`, w `(O, C/groups, kh, kw)`. On CPU in f32
/// it runs the GEMM kernels here, on CUDA with `cudnn` cuDNN's three convolutions; elsewhere
/// candle's own convolution (whose gradients run through its transposed convolution).
pub fn conv2d(x: &Tensor, w: &Tensor, p: ConvParams) -> Result<Tensor> {
    if own_kernels(x, OpGroup::Conv) {
        x.contiguous()?.apply_op2(&w.contiguous()?, ConvOp::conv(p))
    } else {
        let (x, pad) = symmetric_padding(x, p)?;
        x.conv2d(w, pad, p.stride, p.dilation, p.groups)
    }
}

/// `conv2d(relu(x), w, p)` without storing `relu(x)`: on the CPU in f32 the ReLU is applied inside
/// im2col, forward and for the weight gradient, and the input gradient is masked by `x > 0`.
/// GanHard's cells rectify the input of every convolution.
pub fn relu_conv2d(x: &Tensor, w: &Tensor, p: ConvParams) -> Result<Tensor> {
    if x.device().is_cpu() && own_kernels(x, OpGroup::Conv) {
        x.contiguous()?
            .apply_op2(&w.contiguous()?, ConvOp::relu_conv(p))
    } else {
        conv2d(&relu(x)?, w, p)
    }
}

/// candle's own convolutions pad both dimensions alike: pads the input's width beforehand when
/// it differs (conv2d only), returning the input and the padding to pass on.
fn symmetric_padding(x: &Tensor, p: ConvParams) -> Result<(Tensor, usize)> {
    match p.pads() {
        (ph, pw) if ph == pw => Ok((x.clone(), ph)),
        (ph, pw) => Ok((x.pad_with_zeros(3, pw, pw)?.pad_with_zeros(2, ph, ph)?, 0)),
    }
}

/// 2-d transposed convolution, PyTorch semantics: x `(N, Cin, H, W)`, w `(Cin, Cout/groups, kh,
/// kw)`; `padding` crops the output. On CPU in f32 it runs the GEMM kernels here, on CUDA with
/// `cudnn` cuDNN's; elsewhere candle's, which has no groups:
/// depthwise ones are composed from candle ops there, other grouped ones run group by group.
pub fn conv_transpose2d(x: &Tensor, w: &Tensor, p: ConvParams) -> Result<Tensor> {
    if own_kernels(x, OpGroup::Conv) {
        x.contiguous()?.apply_op2(
            &w.contiguous()?,
            ConvOp {
                p,
                dir: Direction::Transpose,
                relu_input: false,
            },
        )
    } else if p.pads().0 != p.pads().1 {
        // Padding crops the unpadded output: compute that, then crop each dimension.
        let (ph, pw) = p.pads();
        let full = conv_transpose2d(
            x,
            w,
            ConvParams {
                padding: 0,
                padding_w: None,
                ..p
            },
        )?;
        let (_, _, h, wd) = full.dims4()?;
        full.narrow(2, ph, h - 2 * ph)?.narrow(3, pw, wd - 2 * pw)
    } else if p.groups == 1 {
        x.conv_transpose2d(w, p.padding, p.output_padding, p.stride, p.dilation)
    } else if p.groups == x.dim(1)? && w.dim(1)? == 1 {
        depthwise_conv_transpose2d(x, w, p)
    } else {
        let (xs, ws) = (x.chunk(p.groups, 1)?, w.chunk(p.groups, 0)?);
        let one = ConvParams { groups: 1, ..p };
        let ys = xs
            .iter()
            .zip(&ws)
            .map(|(x, w)| conv_transpose2d(x, w, one))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&ys, 1)
    }
}

/// Depthwise transposed convolution from differentiable candle ops, for devices without a fused
/// kernel: insert `stride - 1` zeros between input pixels, pad, then sum the `kh·kw` shifted
/// copies scaled by the flipped per-channel taps.
pub fn depthwise_conv_transpose2d(x: &Tensor, w: &Tensor, p: ConvParams) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let (_, _, kh, kw) = w.dims4()?;
    let s = p.stride;
    let spread = |t: &Tensor, dim: usize, len: usize| -> Result<Tensor> {
        if s == 1 {
            return Ok(t.clone());
        }
        let t = t.unsqueeze(dim + 1)?;
        let mut zeros_shape = t.dims().to_vec();
        zeros_shape[dim + 1] = s - 1;
        let z = Tensor::zeros(zeros_shape, t.dtype(), t.device())?;
        let mut shape = t.dims().to_vec();
        shape.remove(dim + 1);
        shape[dim] = len * s;
        Tensor::cat(&[t, z], dim + 1)?
            .reshape(shape)?
            .narrow(dim, 0, (len - 1) * s + 1)
    };
    let xd = spread(&spread(x, 2, h)?, 3, wd)?;
    let (eh, ew) = (p.dilation * (kh - 1), p.dilation * (kw - 1));
    if p.padding > eh.min(ew) {
        bail!("depthwise conv_transpose2d: padding larger than the kernel's reach");
    }
    let xp = xd
        .pad_with_zeros(2, eh - p.padding, eh - p.padding + p.output_padding)?
        .pad_with_zeros(3, ew - p.padding, ew - p.padding + p.output_padding)?;
    let (ho, wo) = (
        (h - 1) * s + p.output_padding + eh + 1 - 2 * p.padding,
        (wd - 1) * s + p.output_padding + ew + 1 - 2 * p.padding,
    );
    let mut y: Option<Tensor> = None;
    for ky in 0..kh {
        for kx in 0..kw {
            let tap = w
                .narrow(2, kh - 1 - ky, 1)?
                .narrow(3, kw - 1 - kx, 1)?
                .reshape((1, c, 1, 1))?;
            let term = xp
                .narrow(2, ky * p.dilation, ho)?
                .narrow(3, kx * p.dilation, wo)?
                .broadcast_mul(&tap)?;
            y = Some(match y {
                Some(acc) => (acc + term)?,
                None => term,
            });
        }
    }
    let y = y.expect("a kernel has at least one tap");
    debug_assert_eq!(y.dims4()?, (n, c, ho, wo));
    Ok(y)
}
