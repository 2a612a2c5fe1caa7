//! The searchable operations of the AdversarialNAS cells and the GanHard discriminator blocks,
//! each creating its tensors under the position it is built at (docs/search-spaces.md,
//! "Generator", "Discriminators").

use anyhow::{bail, Result};
use candle_core::{Tensor, D};
use pbtnas_nn::ops::{conv_transpose2d, release, relu, upsample2x, upsample_bilinear, ConvParams};
use pbtnas_nn::{Init, NormedConv, NormedWeight, Params};

/// A 2-d convolution layer (optionally spectral-normalised), tensors `weight`, `bias`, and for
/// SN `weight_u`, `weight_v`, as PyTorch names them.
pub struct Conv(NormedConv);

impl Conv {
    /// `k × k` conv `cin → cout`; xavier-uniform weights (the GAN code's `weights_init`), PyTorch's
    /// default bias.
    pub fn new(
        p: &Params,
        cin: usize,
        cout: usize,
        k: usize,
        conv: ConvParams,
        bias: bool,
        sn: bool,
    ) -> Result<Self> {
        let fan_in = cin / conv.groups * k * k;
        let init = Init::XavierUniform {
            fan_in,
            fan_out: cout / conv.groups * k * k,
            gain: 1.0,
        };
        let w = NormedWeight::new(
            p,
            &[cout, cin / conv.groups, k, k],
            init,
            sn.then_some(true),
        )?;
        let bias = if bias {
            Some(p.get(cout, "bias", Init::TorchDefault { fan_in })?)
        } else {
            None
        };
        Ok(Self(NormedConv::new(w, bias, conv)))
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.0.forward(x, train)?)
    }

    /// `forward(relu(x))`, the ReLU folded into the convolution (never stored).
    pub fn forward_on_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.0.forward_on_relu(x, train)?)
    }
}

/// A partial result of a cell or block, and whether this forward pass alone holds its data (no
/// other path reads it), so that the data can be freed once an add consumed it.
#[derive(Clone)]
pub struct Term {
    pub t: Tensor,
    pub own: bool,
}

impl Term {
    /// A tensor some other path still reads.
    pub fn shared(t: &Tensor) -> Self {
        Self {
            t: t.clone(),
            own: false,
        }
    }
}

/// The sum of the present terms (`None` when there are none). The data of own terms and of the
/// partial sums is freed as soon as it is added: an add's gradient needs only shapes, and the
/// graph would otherwise keep every term until the backward pass ends.
pub fn sum_terms(terms: impl IntoIterator<Item = Option<Term>>) -> Result<Option<Term>> {
    let mut acc: Option<Term> = None;
    for t in terms.into_iter().flatten() {
        acc = Some(match acc {
            None => t,
            Some(a) => {
                let sum = (&a.t + &t.t)?;
                for done in [a, t].iter().filter(|d| d.own) {
                    release(&done.t)?;
                }
                Term { t: sum, own: true }
            }
        });
    }
    Ok(acc)
}

/// A node operation of a cell or a block: `PRIMITIVES` / `PRIMITIVES_wo_act` / `PRIMITIVES_down_my`.
pub enum Op {
    Skip,
    /// ReLU (unless `act` is false) then conv.
    Conv {
        conv: Conv,
        act: bool,
    },
    AvgPool,
    MaxPool,
}

fn conv_geometry(name: &str, stride: usize) -> Option<(usize, ConvParams)> {
    let p = |k: usize, padding: usize, dilation: usize| {
        (
            k,
            ConvParams {
                stride,
                padding,
                dilation,
                ..Default::default()
            },
        )
    };
    Some(match name {
        "conv_1x1" => p(1, 0, 1),
        "conv_3x3" => p(3, 1, 1),
        "conv_5x5" => p(5, 2, 1),
        "dil_conv_3x3" => p(3, 2, 2),
        "dil_conv_5x5" => p(5, 4, 2),
        _ => return None,
    })
}

impl Op {
    /// Builds the op an option names at `p`; `None` for `none` (not instantiated).
    pub fn build(
        name: &str,
        p: &Params,
        ch_in: usize,
        ch: usize,
        stride: usize,
        act: bool,
        sn: bool,
    ) -> Result<Option<Op>> {
        if let Some((k, g)) = conv_geometry(name, stride) {
            return Ok(Some(Op::Conv {
                conv: Conv::new(p, ch_in, ch, k, g, true, sn)?,
                act,
            }));
        }
        Ok(Some(match name {
            "none" => return Ok(None),
            "skip_connect" => Op::Skip,
            "avg_pool" | "avg_pool_input" => Op::AvgPool,
            "max_pool" | "max_pool_input" => Op::MaxPool,
            other => bail!("unknown operation '{other}'"),
        }))
    }

    /// The op on `x`. Its output is its own unless it is `x` itself (skip) or a max pool's (whose
    /// gradient reads it).
    pub fn forward(&self, x: &Term, train: bool) -> Result<Term> {
        let own = |t: Tensor| Term { t, own: true };
        Ok(match self {
            Op::Skip => x.clone(),
            Op::Conv { conv, act: true } => own(conv.forward_on_relu(&x.t, train)?),
            Op::Conv { conv, act: false } => own(conv.forward(&x.t, train)?),
            Op::AvgPool => own(x.t.avg_pool2d(2)?),
            Op::MaxPool => Term::shared(&max_pool2(&x.t)?),
        })
    }
}

/// 2×2 max pooling with stride 2 and PyTorch's gradient: all of it to the first maximum of each
/// window in scan order (candle's max backward gives every tied element the whole gradient, which
/// a window of equal values, e.g. a conv's bias over a dead-ReLU region, makes 4× too large).
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let g = x
        .narrow(2, 0, h / 2 * 2)?
        .narrow(3, 0, w / 2 * 2)?
        .reshape((n, c, h / 2, 2, w / 2, 2))?;
    let at = |i: usize, j: usize| -> Result<Tensor> {
        Ok(g.narrow(3, i, 1)?.narrow(5, j, 1)?.contiguous()?)
    };
    let taps = [at(0, 0)?, at(0, 1)?, at(1, 0)?, at(1, 1)?];
    let m = taps[0]
        .maximum(&taps[1])?
        .maximum(&taps[2].maximum(&taps[3])?)?
        .detach();
    // One-hot of the first tap equal to the maximum (constants: the gradient flows to it alone).
    let mut taken = m.zeros_like()?;
    let mut out = m.zeros_like()?;
    for t in &taps {
        let first = (t.detach().eq(&m)?.to_dtype(x.dtype())? * taken.affine(-1.0, 1.0)?)?;
        taken = (&taken + &first)?;
        out = (out + (t * &first)?)?;
    }
    Ok(out.reshape((n, c, h / 2, w / 2))?)
}

/// Resizes `(N, C, s, s)` to `size × size` (a power-of-two multiple of `s`), as the original's
/// `F.interpolate`: nearest by repeated ×2 steps (the same values), bilinear ×2 by one step and a
/// larger bilinear factor in one interpolation (a projection to the bottom width, ×4, differs
/// from two ×2 steps).
pub fn upsample_to(x: &Tensor, size: usize, bilinear: bool) -> Result<Tensor> {
    let from = x.dim(D::Minus1)?;
    if from == 0 || !size.is_multiple_of(from) || !(size / from).is_power_of_two() {
        bail!("cannot resize {from} to {size} by a power of two");
    }
    let factor = size / from;
    if bilinear && factor > 2 {
        return Ok(upsample_bilinear(x, factor)?);
    }
    let mut y = x.clone();
    while y.dim(D::Minus1)? < size {
        y = upsample2x(&y, bilinear)?;
    }
    Ok(y)
}

/// The cell's up operations (`PRIMITIVES_up`): interpolate ×2 → ReLU → conv 1×1 (bias), or ReLU →
/// depthwise conv-transpose (k3 s2 p1 op1, no bias) → conv 1×1 (no bias).
pub enum Up {
    Interp { bilinear: bool, conv: Conv },
    Transpose { convt: Tensor, conv: Conv },
}

impl Up {
    pub fn build(name: &str, p: &Params, ch: usize) -> Result<Up> {
        let one = ConvParams::default();
        Ok(match name {
            "nearest" | "bilinear" => Up::Interp {
                bilinear: name == "bilinear",
                conv: Conv::new(&p.pp("conv"), ch, ch, 1, one, true, false)?,
            },
            "conv_transpose" => Up::Transpose {
                convt: p.pp("convt").get(
                    (ch, 1, 3, 3),
                    "weight",
                    Init::TorchDefault { fan_in: 9 },
                )?,
                conv: Conv::new(&p.pp("conv"), ch, ch, 1, one, false, false)?,
            },
            other => bail!("unknown up operation '{other}'"),
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Up::Interp {
                bilinear: true,
                conv,
            } => conv.forward_on_relu(&upsample2x(x, true)?, true),
            // ReLU and a 1×1 conv commute with nearest upsampling: the same numbers from a
            // quarter of the products, and nothing stored at the doubled size but the output.
            Up::Interp {
                bilinear: false,
                conv,
            } => Ok(upsample2x(&conv.forward_on_relu(x, true)?, false)?),
            Up::Transpose { convt, conv } => {
                let ch = x.dim(1)?;
                let p = ConvParams {
                    stride: 2,
                    padding: 1,
                    output_padding: 1,
                    groups: ch,
                    ..Default::default()
                };
                conv.forward(&conv_transpose2d(&relu(x)?, convt, p)?, true)
            }
        }
    }
}
