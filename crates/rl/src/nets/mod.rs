//! DrQ-v2's networks, built from an [`Arch`] (docs/search-spaces.md, "DrQ-v2 networks"). Tensors
//! live under the positions the space names: `encoder.convnet.{0..3}`, `actor.trunk`,
//! `actor.policy.{0..3}`, `actor.head`, `critic.trunk`, `critic.Q{1,2}.{0..3}`,
//! `critic.Q{1,2}.head`.

pub mod arch;
pub mod layers;

use anyhow::{bail, Result};
use candle_core::Tensor;
use pbtnas_nn::ops::ConvParams;
use pbtnas_nn::Params;

pub use crate::obs::ObsShape;
pub use arch::{Arch, MlpArch};
use layers::{Act, Conv, ConvOp, LayerNorm, Linear, LinearOp};

/// Encoder conv channels (32 in DrQ-v2).
pub const CHANNELS: usize = 32;

/// The conv encoder: layer 0 a fixed 3×3 stride-2 unpadded conv to 32 channels, layers 1–3
/// searched; input `obs / 255 − 0.5`, output flattened.
pub enum Encoder {
    State(usize),
    Pixels {
        conv0: Conv,
        layers: Vec<ConvOp>,
        acts: [Act; 4],
        repr_dim: usize,
    },
}

impl Encoder {
    pub fn new(p: &Params, arch: &Arch, obs: ObsShape) -> Result<Self> {
        let ObsShape::Pixels { c, h, w } = obs else {
            return Ok(Encoder::State(obs.len()));
        };
        let sn = arch.encoder_sn;
        let stride2 = ConvParams {
            stride: 2,
            ..Default::default()
        };
        let conv0 = Conv::new(&p.pp("convnet.0"), c, CHANNELS, 3, stride2, sn)?;
        let layers = arch
            .encoder_ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let pp = p.pp(format!("convnet.{}", i + 1));
                ConvOp::build(op, &pp, CHANNELS, sn, arch.encoder_pad)
            })
            .collect::<Result<Vec<_>>>()?;
        let (mut oh, mut ow) = ((h.saturating_sub(3)) / 2 + 1, (w.saturating_sub(3)) / 2 + 1);
        if !arch.encoder_pad {
            let shrink = 2 * layers.iter().filter(|l| !matches!(l, ConvOp::Id)).count();
            (oh, ow) = (oh.saturating_sub(shrink), ow.saturating_sub(shrink));
        }
        if h < 3 || w < 3 || oh == 0 || ow == 0 {
            bail!("frames of {h}×{w} are too small for the encoder");
        }
        Ok(Encoder::Pixels {
            conv0,
            layers,
            acts: arch.encoder_acts,
            repr_dim: CHANNELS * oh * ow,
        })
    }

    /// Length of the flattened features.
    pub fn repr_dim(&self) -> usize {
        match self {
            Encoder::State(d) => *d,
            Encoder::Pixels { repr_dim, .. } => *repr_dim,
        }
    }

    /// Features of a batch of observations (pixels as 0..255 floats).
    pub fn forward(&self, obs: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Encoder::State(_) => Ok(obs.clone()),
            Encoder::Pixels {
                conv0,
                layers,
                acts,
                ..
            } => {
                let mut h = conv0.forward_act(&obs.affine(1.0 / 255.0, -0.5)?, acts[0], train)?;
                for (op, act) in layers.iter().zip(&acts[1..]) {
                    h = op.forward(&h, *act, train)?;
                }
                Ok(h.flatten_from(1)?)
            }
        }
    }
}

/// Linear(repr → feature_dim) → LayerNorm → activation; never spectral-normed.
pub struct Trunk {
    linear: Linear,
    ln: LayerNorm,
    act: Act,
}

impl Trunk {
    fn new(p: &Params, repr: usize, feature_dim: usize, act: Act) -> Result<Self> {
        Ok(Self {
            linear: Linear::new(&p.pp("linear"), repr, feature_dim, None)?,
            ln: LayerNorm::new(&p.pp("ln"), feature_dim)?,
            act,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.act
            .forward(&self.ln.forward(&self.linear.forward(x, true)?)?)
    }
}

/// Layer 0 (input → hidden), three searched layers, and a head without spectral norm.
struct Mlp {
    l0: Linear,
    ops: Vec<LinearOp>,
    head: Linear,
    arch: MlpArch,
}

impl Mlp {
    fn new(p: &Params, din: usize, hidden: usize, dout: usize, arch: &MlpArch) -> Result<Self> {
        Ok(Self {
            l0: Linear::new(&p.pp("0"), din, hidden, Some(arch.sn))?,
            ops: arch
                .ops
                .iter()
                .enumerate()
                .map(|(i, op)| LinearOp::build(op, &p.pp(format!("{}", i + 1)), hidden, arch.sn))
                .collect::<Result<_>>()?,
            head: Linear::new(&p.pp("head"), hidden, dout, None)?,
            arch: arch.clone(),
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = self.arch.acts[0].forward(&self.l0.forward(x, train)?)?;
        for (op, act) in self.ops.iter().zip(&self.arch.acts[1..]) {
            h = op.forward(&h, *act, train)?;
        }
        self.head.forward(&h, train)
    }
}

/// The actor: trunk, policy MLP, `tanh` of the head: the mean of the action distribution.
pub struct Actor {
    trunk: Trunk,
    policy: Mlp,
}

impl Actor {
    pub fn new(
        p: &Params,
        arch: &Arch,
        repr: usize,
        hidden: usize,
        action_dim: usize,
    ) -> Result<Self> {
        Ok(Self {
            trunk: Trunk::new(
                &p.pp("trunk"),
                repr,
                arch.actor_feature_dim,
                arch.actor_trunk_act,
            )?,
            policy: Mlp::new(
                &p.pp("policy"),
                arch.actor_feature_dim,
                hidden,
                action_dim,
                &arch.policy,
            )?,
        })
    }

    /// The mean action `μ` in (−1, 1).
    pub fn forward(&self, repr: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self
            .policy
            .forward(&self.trunk.forward(repr)?, train)?
            .tanh()?)
    }
}

/// Twin Q networks with a shared trunk; each takes `[features, action]`.
pub struct Critic {
    trunk: Trunk,
    q: [Mlp; 2],
}

impl Critic {
    pub fn new(
        p: &Params,
        arch: &Arch,
        repr: usize,
        hidden: usize,
        action_dim: usize,
    ) -> Result<Self> {
        let f = arch.critic_feature_dim;
        let q = |i: usize| {
            Mlp::new(
                &p.pp(format!("Q{}", i + 1)),
                f + action_dim,
                hidden,
                1,
                &arch.q[i],
            )
        };
        Ok(Self {
            trunk: Trunk::new(&p.pp("trunk"), repr, f, arch.critic_trunk_act)?,
            q: [q(0)?, q(1)?],
        })
    }

    /// `(Q1, Q2)`, each `(B, 1)`.
    pub fn forward(&self, repr: &Tensor, action: &Tensor, train: bool) -> Result<(Tensor, Tensor)> {
        let h = Tensor::cat(&[&self.trunk.forward(repr)?, action], 1)?;
        Ok((self.q[0].forward(&h, train)?, self.q[1].forward(&h, train)?))
    }
}
