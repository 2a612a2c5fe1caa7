//! A weight with optional spectral normalisation: its power-iteration vectors `weight_u` (rows)
//! and `weight_v` (columns) are created under the weight's position whenever the layer can be
//! normalised, so the tensor names do not depend on whether the norm is on (PBT-NAS's RL code
//! switches it per network; the GAN code has it always on where present).

use candle_core::{Result, Tensor};

use crate::init::{Init, Params};
use crate::ops::{
    bias_add, conv2d, conv2d_bias_relu, relu, relu_conv2d, relu_conv2d_bias, ConvParams,
};
use crate::spectral_norm::{power_iteration, spectral_norm_with, PowerIteration};

pub struct NormedWeight {
    weight: Tensor,
    uv: Option<(Tensor, Tensor)>,
    on: bool,
    order: PowerIteration,
}

impl NormedWeight {
    /// The parameter `weight` of `shape` at `p`. `sn`: `None` for a layer without spectral norm,
    /// `Some(on)` for one with the vectors, normalised when `on`. New vectors start as PyTorch's
    /// `nn.utils.spectral_norm` starts them (the GAN code): normalised N(0, 1) vectors.
    pub fn new(p: &Params, shape: &[usize], init: Init, sn: Option<bool>) -> Result<Self> {
        Self::build(p, shape, init, sn, PowerIteration::VFirst, 0)
    }

    /// As PyTorch's `parametrizations.spectral_norm` in the RL code: power iterations with u
    /// first and, when the vectors are new (not loaded), those the original runs before training
    /// on the initial weight: 15 at registration whether or not the norm is on, and with it on one
    /// more when registering evaluates it and one when `weight_init_rl` reads the weight (17).
    pub fn parametrized(p: &Params, shape: &[usize], init: Init, sn: Option<bool>) -> Result<Self> {
        let at_init = if sn == Some(true) { 17 } else { 15 };
        Self::build(p, shape, init, sn, PowerIteration::UFirst, at_init)
    }

    fn build(
        p: &Params,
        shape: &[usize],
        init: Init,
        sn: Option<bool>,
        order: PowerIteration,
        iterations: usize,
    ) -> Result<Self> {
        let rows = shape[0];
        let cols = shape[1..].iter().product::<usize>();
        let weight = p.get(shape, "weight", init)?;
        let uv = match sn {
            Some(_) => {
                let fresh = !p.contains("weight_u") && !p.contains("weight_v");
                let u = p.get(rows, "weight_u", Init::UnitNormal)?;
                let v = p.get(cols, "weight_v", Init::UnitNormal)?;
                if fresh {
                    for _ in 0..iterations {
                        power_iteration(&weight, &u, &v, order)?;
                    }
                }
                Some((u, v))
            }
            None => None,
        };
        Ok(Self {
            weight,
            uv,
            on: sn == Some(true),
            order,
        })
    }

    /// The weight to use: `w / σ(w)` when the norm is on (one power iteration first when
    /// `train`), else `w`.
    pub fn get(&self, train: bool) -> Result<Tensor> {
        match (&self.uv, self.on) {
            (Some((u, v)), true) => spectral_norm_with(&self.weight, u, v, train, self.order),
            _ => Ok(self.weight.clone()),
        }
    }
}

/// A 2-d convolution over a [`NormedWeight`] with an optional per-channel bias; the tasks build
/// the weight and bias with their own inits.
pub struct NormedConv {
    w: NormedWeight,
    bias: Option<Tensor>,
    p: ConvParams,
}

impl NormedConv {
    pub fn new(w: NormedWeight, bias: Option<Tensor>, p: ConvParams) -> Self {
        Self { w, bias, p }
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = conv2d(x, &self.w.get(train)?, self.p)?;
        match &self.bias {
            Some(b) => bias_add(&y, b),
            None => Ok(y),
        }
    }

    /// `forward(relu(x))` without storing `relu(x)` ([`relu_conv2d`]).
    pub fn forward_on_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let w = self.w.get(train)?;
        match &self.bias {
            Some(b) => relu_conv2d_bias(x, &w, b, self.p),
            None => relu_conv2d(x, &w, self.p),
        }
    }

    /// `relu(forward(x))`, as one fused op when there is a bias.
    pub fn forward_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let w = self.w.get(train)?;
        match &self.bias {
            Some(b) => conv2d_bias_relu(x, &w, b, self.p),
            None => relu(&conv2d(x, &w, self.p)?),
        }
    }
}
