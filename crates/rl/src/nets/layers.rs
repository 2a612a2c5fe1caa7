//! The searchable layers of the DrQ-v2 space (docs/search-spaces.md, "DrQ-v2 networks"):
//! activations, linear and conv layers whose spectral norm is a forward-pass switch (u/v always
//! exist, so names never change), the conv ops (id, conv k, residual k, separable conv k) and the
//! linear ops (id, linear, residual ×0.5 / ×2).

use anyhow::{bail, Result};
use candle_core::Tensor;
use pbtnas_nn::ops::{relu, ConvParams};
use pbtnas_nn::{layer_norm, Init, NormedConv, NormedWeight, Params};

/// A searched activation: `id`, `tanh`, `relu`, `swish` (SiLU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Id,
    Tanh,
    Relu,
    Swish,
}

impl Act {
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "id" => Act::Id,
            "tanh" => Act::Tanh,
            "relu" => Act::Relu,
            "swish" => Act::Swish,
            other => bail!("unknown activation '{other}' (id, tanh, relu, swish)"),
        })
    }

    pub fn forward(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Act::Id => x.clone(),
            Act::Tanh => x.tanh()?,
            Act::Relu => relu(x)?,
            Act::Swish => x.silu()?,
        })
    }
}

/// Weight init of DrQ-v2's `weight_init_rl`: orthogonal with `gain`, zero bias. With spectral
/// norm on, PyTorch's init wrote into the normalised weight, so such layers keep the default
/// kaiming-uniform U(±1/√fan_in) weight (a quirk; docs/search-spaces.md, "DrQ-v2 networks");
/// their bias is still zero.
fn weight_init(rows: usize, fan_in: usize, gain: f64, sn: bool) -> Init {
    if sn {
        Init::TorchDefault { fan_in }
    } else {
        Init::Orthogonal { rows, gain }
    }
}

/// A switchable spectral-normed weight as the RL code's `parametrizations.spectral_norm`: u
/// first in each power iteration, 15 or 17 iterations when a layer's vectors are created.
fn normed(p: &Params, shape: &[usize], init: Init, sn: Option<bool>) -> Result<NormedWeight> {
    Ok(NormedWeight::parametrized(p, shape, init, sn)?)
}

/// `nn.Linear`, optionally with a spectral-norm switch.
pub struct Linear {
    w: NormedWeight,
    bias: Tensor,
}

impl Linear {
    /// DrQ-v2's init (orthogonal, gain 1) unless spectral norm is on; `sn` as in
    /// [`NormedWeight::new`]: `None` for heads and trunks.
    pub fn new(p: &Params, din: usize, dout: usize, sn: Option<bool>) -> Result<Self> {
        let init = weight_init(dout, din, 1.0, sn == Some(true));
        Ok(Self {
            w: normed(p, &[dout, din], init, sn)?,
            bias: p.get(dout, "bias", Init::Const(0.0))?,
        })
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(x.matmul(&self.w.get(train)?.t()?)?
            .broadcast_add(&self.bias)?)
    }
}

/// `nn.LayerNorm` (weight 1, bias 0), differentiable.
pub struct LayerNorm {
    gamma: Tensor,
    beta: Tensor,
}

impl LayerNorm {
    pub fn new(p: &Params, dim: usize) -> Result<Self> {
        Ok(Self {
            gamma: p.get(dim, "weight", Init::Const(1.0))?,
            beta: p.get(dim, "bias", Init::Const(0.0))?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(layer_norm(x, &self.gamma, &self.beta, 1e-5)?)
    }
}

/// `nn.Conv2d` with bias and optional spectral norm; orthogonal init with gain √2 unless `sn`.
pub struct Conv(NormedConv);

impl Conv {
    pub fn new(
        p: &Params,
        cin: usize,
        cout: usize,
        k: usize,
        conv: ConvParams,
        sn: bool,
    ) -> Result<Self> {
        let fan_in = cin / conv.groups * k * k;
        let init = weight_init(cout, fan_in, 2f64.sqrt(), sn);
        let w = normed(p, &[cout, cin / conv.groups, k, k], init, Some(sn))?;
        let bias = p.get(cout, "bias", Init::Const(0.0))?;
        Ok(Self(NormedConv::new(w, Some(bias), conv)))
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.0.forward(x, train)?)
    }

    /// `act(forward(x))`; a ReLU is fused with the bias.
    pub fn forward_act(&self, x: &Tensor, act: Act, train: bool) -> Result<Tensor> {
        match act {
            Act::Relu => Ok(self.0.forward_relu(x, train)?),
            _ => act.forward(&self.0.forward(x, train)?),
        }
    }
}

/// A searched encoder layer (32 → 32 channels, stride 1, "same" padding; or no padding for the
/// original DrQ-v2 encoder).
pub enum ConvOp {
    Id,
    /// Conv → act.
    Conv(Conv),
    /// Conv → act → Conv → +x → act.
    Residual(Conv, Conv),
    /// Depthwise k×k → pointwise 1×1 → act.
    SepConv(Conv, Conv),
}

impl ConvOp {
    /// The op an option names (`id`, `conv_k`, `residual_k`, `sep_conv_k`) at `p`; `pad` false
    /// gives the original encoder's unpadded convs.
    pub fn build(name: &str, p: &Params, ch: usize, sn: bool, pad: bool) -> Result<Self> {
        if name == "id" {
            return Ok(ConvOp::Id);
        }
        let (kind, k) = name
            .rsplit_once('_')
            .and_then(|(kind, k)| Some((kind, k.parse::<usize>().ok()?)))
            .filter(|(_, k)| k % 2 == 1)
            .ok_or_else(|| anyhow::anyhow!("unknown conv op '{name}'"))?;
        let same = ConvParams {
            padding: if pad { k / 2 } else { 0 },
            ..Default::default()
        };
        Ok(match kind {
            "conv" => ConvOp::Conv(Conv::new(&p.pp("conv"), ch, ch, k, same, sn)?),
            "residual" => ConvOp::Residual(
                Conv::new(&p.pp("conv1"), ch, ch, k, same, sn)?,
                Conv::new(&p.pp("conv2"), ch, ch, k, same, sn)?,
            ),
            "sep_conv" => ConvOp::SepConv(
                Conv::new(
                    &p.pp("depthwise"),
                    ch,
                    ch,
                    k,
                    ConvParams { groups: ch, ..same },
                    sn,
                )?,
                Conv::new(&p.pp("pointwise"), ch, ch, 1, ConvParams::default(), sn)?,
            ),
            other => bail!("unknown conv op '{other}_{k}'"),
        })
    }

    pub fn forward(&self, x: &Tensor, act: Act, train: bool) -> Result<Tensor> {
        match self {
            ConvOp::Id => Ok(x.clone()),
            ConvOp::Conv(c) => c.forward_act(x, act, train),
            ConvOp::Residual(c1, c2) => {
                let h = c2.forward(&c1.forward_act(x, act, train)?, train)?;
                act.forward(&(h + x)?)
            }
            ConvOp::SepConv(dw, pw) => pw.forward_act(&dw.forward(x, train)?, act, train),
        }
    }
}

/// A searched MLP layer (hidden → hidden).
pub enum LinearOp {
    Id,
    /// Linear → act.
    Linear(Linear),
    /// LayerNorm → Linear(h → h·m) → act → Linear(→ h) → +x, no activation after the add.
    Residual(LayerNorm, Linear, Linear),
}

impl LinearOp {
    /// The op an option names (`id`, `linear`, `residual_05`, `residual_2`) at `p`.
    pub fn build(name: &str, p: &Params, hidden: usize, sn: bool) -> Result<Self> {
        let residual = |wide: usize| -> Result<Self> {
            Ok(LinearOp::Residual(
                LayerNorm::new(&p.pp("ln"), hidden)?,
                Linear::new(&p.pp("fc1"), hidden, wide, Some(sn))?,
                Linear::new(&p.pp("fc2"), wide, hidden, Some(sn))?,
            ))
        };
        match name {
            "id" => Ok(LinearOp::Id),
            "linear" => Ok(LinearOp::Linear(Linear::new(p, hidden, hidden, Some(sn))?)),
            "residual_05" => residual((hidden / 2).max(1)),
            "residual_2" => residual(hidden * 2),
            other => bail!("unknown linear op '{other}' (id, linear, residual_05, residual_2)"),
        }
    }

    pub fn forward(&self, x: &Tensor, act: Act, train: bool) -> Result<Tensor> {
        match self {
            LinearOp::Id => Ok(x.clone()),
            LinearOp::Linear(l) => act.forward(&l.forward(x, train)?),
            LinearOp::Residual(ln, fc1, fc2) => {
                let h = fc2.forward(&act.forward(&fc1.forward(&ln.forward(x)?, train)?)?, train)?;
                Ok((h + x)?)
            }
        }
    }
}
