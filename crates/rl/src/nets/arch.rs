//! A DrQ-v2 architecture read from a genome of the 36-gene space (gene names of
//! `configs/spaces/rl.yaml`), or the original, unsearched DrQ-v2 networks.

use anyhow::{Context, Result};
use pbtnas_genome::{Genome, SearchSpace};

use super::layers::Act;

/// One Q head or the policy MLP: the ops of layers 1–3 and the activations of layers 0–3.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpArch {
    pub ops: [String; 3],
    pub acts: [Act; 4],
    pub sn: bool,
}

/// Every choice that shapes the agent's networks.
#[derive(Debug, Clone, PartialEq)]
pub struct Arch {
    /// Ops of encoder layers 1–3 and the activations of layers 0–3.
    pub encoder_ops: [String; 3],
    pub encoder_acts: [Act; 4],
    pub encoder_sn: bool,
    /// "Same" padding in encoder layers 1–3 (the PBT-NAS encoder); false: the original's
    /// unpadded convs (84 → 41 → 39 → 37 → 35).
    pub encoder_pad: bool,
    pub actor_feature_dim: usize,
    pub actor_trunk_act: Act,
    pub policy: MlpArch,
    pub critic_feature_dim: usize,
    pub critic_trunk_act: Act,
    pub q: [MlpArch; 2],
}

impl Arch {
    /// DrQ-v2's own networks: 4 unpadded 3×3 convs with ReLU, trunks Linear → LayerNorm → tanh
    /// to `feature_dim`, policy and Q MLPs with two hidden layers and ReLU, no spectral norm.
    pub fn original(feature_dim: usize) -> Self {
        let mlp = MlpArch {
            ops: ["linear".into(), "id".into(), "id".into()],
            acts: [Act::Relu; 4],
            sn: false,
        };
        Self {
            encoder_ops: ["conv_3".into(), "conv_3".into(), "conv_3".into()],
            encoder_acts: [Act::Relu; 4],
            encoder_sn: false,
            encoder_pad: false,
            actor_feature_dim: feature_dim,
            actor_trunk_act: Act::Tanh,
            policy: mlp.clone(),
            critic_feature_dim: feature_dim,
            critic_trunk_act: Act::Tanh,
            q: [mlp.clone(), mlp],
        }
    }

    /// The architecture a genome of the DrQ-v2 space encodes.
    pub fn from_genome(space: &SearchSpace, genome: &Genome) -> Result<Self> {
        let get = |name: &str| -> Result<String> {
            let i = space
                .gene_index(name)
                .with_context(|| format!("the space '{}' has no gene '{name}' (the RL task needs the DrQ-v2 space, configs/spaces/rl.yaml)", space.name))?;
            Ok(space.option(genome, i).to_string())
        };
        let act = |name: &str| Act::parse(&get(name)?);
        let sn = |name: &str| Ok::<bool, anyhow::Error>(get(name)? == "spectral");
        let dim = |name: &str| -> Result<usize> {
            let v = get(name)?;
            v.parse()
                .with_context(|| format!("gene {name}: '{v}' is not a dimension"))
        };
        let q = |q: &str| -> Result<MlpArch> {
            Ok(MlpArch {
                ops: [
                    get(&format!("critic.{q}.1"))?,
                    get(&format!("critic.{q}.2"))?,
                    get(&format!("critic.{q}.3"))?,
                ],
                acts: [
                    act(&format!("critic.{q}_activ.0"))?,
                    act(&format!("critic.{q}_activ.1"))?,
                    act(&format!("critic.{q}_activ.2"))?,
                    act(&format!("critic.{q}_activ.3"))?,
                ],
                sn: sn(&format!("critic.norm_{q}"))?,
            })
        };
        Ok(Self {
            encoder_ops: [
                get("encoder.convnet.1")?,
                get("encoder.convnet.2")?,
                get("encoder.convnet.3")?,
            ],
            encoder_acts: [
                act("encoder.convnet_activ.0")?,
                act("encoder.convnet_activ.1")?,
                act("encoder.convnet_activ.2")?,
                act("encoder.convnet_activ.3")?,
            ],
            encoder_sn: sn("encoder.norm")?,
            encoder_pad: true,
            actor_feature_dim: dim("actor.feature_dim")?,
            actor_trunk_act: act("actor.trunk_activ")?,
            policy: MlpArch {
                ops: [
                    get("actor.policy.1")?,
                    get("actor.policy.2")?,
                    get("actor.policy.3")?,
                ],
                acts: [
                    act("actor.policy_activ.0")?,
                    act("actor.policy_activ.1")?,
                    act("actor.policy_activ.2")?,
                    act("actor.policy_activ.3")?,
                ],
                sn: sn("actor.norm")?,
            },
            critic_feature_dim: dim("critic.feature_dim")?,
            critic_trunk_act: act("critic.trunk_activ")?,
            q: [q("Q1")?, q("Q2")?],
        })
    }
}
