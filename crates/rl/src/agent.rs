//! The DrQ-v2 agent: encoder, actor, twin critic and its soft-updated target, three Adam
//! optimizers, acting with the truncated-normal policy and one update (critic, then actor, then
//! target) on a sampled batch.

use anyhow::{bail, Result};
use candle_core::{Device, Tensor, Var};
use pbtnas_nn::ops::soft_update;
use pbtnas_nn::{Adam, AdamConfig, AdamState, Params, PhaseTimer, WeightMap};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::nets::{Actor, Arch, Critic, Encoder, ObsShape};
use crate::replay_buffer::Batch;

/// Actions are clamped to `[−1 + ε, 1 − ε]` as DrQ-v2's `TruncatedNormal` does.
const ACTION_EPS: f64 = 1e-6;

/// Spectral norm's power-iteration vectors: carried with the weights, never optimised.
pub fn is_buffer(name: &str) -> bool {
    name.ends_with("weight_u") || name.ends_with("weight_v")
}

/// DrQ-v2's `utils.schedule`: a constant (`"0.2"`) or `"linear(init, final, duration)"` in agent
/// steps.
pub fn stddev(schedule: &str, step: u64) -> Result<f64> {
    let s = schedule.trim();
    if let Ok(c) = s.parse::<f64>() {
        return Ok(c);
    }
    let Some(args) = s.strip_prefix("linear(").and_then(|r| r.strip_suffix(')')) else {
        bail!("stddev schedule '{schedule}': expected a number or linear(init, final, duration)");
    };
    let v: Vec<f64> = args
        .split(',')
        .map(|a| a.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("stddev schedule '{schedule}': {e}"))?;
    let [init, fin, duration] = v[..] else {
        bail!("stddev schedule '{schedule}': linear takes 3 arguments");
    };
    let mix = (step as f64 / duration).clamp(0.0, 1.0);
    Ok((1.0 - mix) * init + mix * fin)
}

/// Sizes and optimiser settings of an agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentSpec {
    pub obs: ObsShape,
    pub action_dim: usize,
    pub hidden_dim: usize,
    pub adam: AdamConfig,
    pub critic_tau: f64,
    pub stddev_clip: f64,
}

/// Losses and values of one update.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateInfo {
    pub critic_loss: f64,
    pub actor_loss: f64,
    pub q: f64,
}

pub struct Agent {
    pub spec: AgentSpec,
    /// Encoder, actor and critic parameters (`encoder.*`, `actor.*`, `critic.*`).
    pub params: Params,
    /// The target critic, under the critic's names.
    pub target: Params,
    encoder: Encoder,
    actor: Actor,
    critic: Critic,
    critic_target: Critic,
    pub opt_encoder: Adam,
    pub opt_actor: Adam,
    pub opt_critic: Adam,
}

fn trainable(p: &Params, prefix: &str) -> Vec<(String, Var)> {
    p.vars()
        .into_iter()
        .filter(|(n, _)| pbtnas_nn::is_under(n, prefix) && !is_buffer(n))
        .collect()
}

fn normal(
    shape: (usize, usize),
    scale: f64,
    clip: Option<f64>,
    rng: &mut impl Rng,
    dev: &Device,
) -> Result<Tensor> {
    let v: Vec<f32> = (0..shape.0 * shape.1)
        .map(|_| {
            let e: f64 = StandardNormal.sample(rng);
            let e = e * scale;
            clip.map_or(e, |c| e.clamp(-c, c)) as f32
        })
        .collect();
    Ok(Tensor::from_vec(v, shape, dev)?)
}

impl Agent {
    /// Builds the networks over `params` (new or loaded) and the target over `target` (a copy of
    /// the critic when `None`), with optimizer state from `states` (encoder, actor, critic).
    pub fn new(
        arch: &Arch,
        spec: AgentSpec,
        params: Params,
        target: Option<Params>,
        mut states: [AdamState; 3],
    ) -> Result<Self> {
        let encoder = Encoder::new(&params.pp("encoder"), arch, spec.obs)?;
        let repr = encoder.repr_dim();
        let (h, a) = (spec.hidden_dim, spec.action_dim);
        let actor = Actor::new(&params.pp("actor"), arch, repr, h, a)?;
        let critic = Critic::new(&params.pp("critic"), arch, repr, h, a)?;
        let target = match target {
            Some(t) => t,
            None => {
                let mut w = params.weights()?;
                w.retain(|n, _| pbtnas_nn::is_under(n, "critic"));
                Params::from_weights(&w, 0, params.device())?
            }
        };
        let critic_target = Critic::new(&target.pp("critic"), arch, repr, h, a)?;
        let opt = |prefix: &str, state: &mut AdamState| {
            Ok::<_, candle_core::Error>(
                Adam::with_state(trainable(&params, prefix), spec.adam, std::mem::take(state))?.0,
            )
        };
        Ok(Self {
            opt_encoder: opt("encoder", &mut states[0])?,
            opt_actor: opt("actor", &mut states[1])?,
            opt_critic: opt("critic", &mut states[2])?,
            spec,
            params,
            target,
            encoder,
            actor,
            critic,
            critic_target,
        })
    }

    /// The target critic's tensors.
    pub fn target_weights(&self) -> Result<WeightMap> {
        Ok(self.target.weights()?)
    }

    fn obs_tensor(&self, obs: &[f32], n: usize) -> Result<Tensor> {
        let dev = self.params.device();
        Ok(match self.spec.obs {
            ObsShape::Pixels { c, h, w } => Tensor::from_slice(obs, (n, c, h, w), dev)?,
            ObsShape::State(d) => Tensor::from_slice(obs, (n, d), dev)?,
        })
    }

    /// The action for one observation: the policy mean when `eval`, else a sample with noise
    /// `stddev` (unclipped noise, clamped action, as DrQ-v2's `act`).
    pub fn act(
        &self,
        obs: &[f32],
        stddev: f64,
        eval: bool,
        rng: &mut impl Rng,
    ) -> Result<Vec<f32>> {
        let repr = self.encoder.forward(&self.obs_tensor(obs, 1)?, false)?;
        let mu = self.actor.forward(&repr, false)?;
        let a = if eval {
            mu
        } else {
            let noise = normal((1, self.spec.action_dim), stddev, None, rng, mu.device())?;
            (mu + noise)?.clamp(-1.0 + ACTION_EPS, 1.0 - ACTION_EPS)?
        };
        Ok(a.flatten_all()?.to_vec1::<f32>()?)
    }

    /// One DrQ-v2 update: the critic (and encoder) on the n-step TD error against the target
    /// critic at a clipped-noise next action, the actor on `−min(Q1, Q2)` of detached features,
    /// then the target's soft update.
    pub fn update(&mut self, b: &Batch, stddev: f64, rng: &mut impl Rng) -> Result<UpdateInfo> {
        let mut off = PhaseTimer::new(self.params.device(), false);
        self.update_profiled(b, stddev, rng, &mut off)
    }

    /// [`Agent::update`], marking its phases on `prof` (batch upload, critic forward, backward
    /// and Adam, actor forward, backward and Adam, target update).
    pub fn update_profiled(
        &mut self,
        b: &Batch,
        stddev: f64,
        rng: &mut impl Rng,
        prof: &mut PhaseTimer,
    ) -> Result<UpdateInfo> {
        let dev = self.params.device().clone();
        let (n, a) = (b.size, self.spec.action_dim);
        let clip = Some(self.spec.stddev_clip);
        let obs = self.obs_tensor(&b.obs, n)?;
        let next_obs = self.obs_tensor(&b.next_obs, n)?;
        let action = Tensor::from_slice(&b.action, (n, a), &dev)?;
        let reward = Tensor::from_slice(&b.reward, (n, 1), &dev)?;
        let discount = Tensor::from_slice(&b.discount, (n, 1), &dev)?;
        prof.mark("batch")?;

        // The critic's graph (the encoder's activations included) is dropped at the end of this
        // block; only detached values leave it.
        let (repr, critic_loss, q) = {
            let repr = self.encoder.forward(&obs, true)?;
            let next_repr = self.encoder.forward(&next_obs, true)?.detach();
            let target_q = {
                let mu = self.actor.forward(&next_repr, true)?.detach();
                let next_action = (mu + normal((n, a), stddev, clip, rng, &dev)?)?
                    .clamp(-1.0 + ACTION_EPS, 1.0 - ACTION_EPS)?;
                let (t1, t2) = self.critic_target.forward(&next_repr, &next_action, true)?;
                (reward + discount.mul(&t1.minimum(&t2)?)?)?.detach()
            };
            let (q1, q2) = self.critic.forward(&repr, &action, true)?;
            let critic_loss =
                ((&q1 - &target_q)?.sqr()?.mean_all()? + (&q2 - &target_q)?.sqr()?.mean_all()?)?;
            prof.mark("critic_forward")?;
            let grads = critic_loss.backward()?;
            prof.mark("critic_backward")?;
            self.opt_critic.step(&grads)?;
            self.opt_encoder.step(&grads)?;
            prof.mark("critic_adam")?;
            (repr.detach(), critic_loss.detach(), q1.mean_all()?.detach())
        };

        let mu = self.actor.forward(&repr, true)?;
        let x = (mu + normal((n, a), stddev, clip, rng, &dev)?)?;
        // Straight-through clamp: the value is clamped, the gradient passes unchanged.
        let sampled = (&x + (x.clamp(-1.0 + ACTION_EPS, 1.0 - ACTION_EPS)? - &x)?.detach())?;
        let (p1, p2) = self.critic.forward(&repr, &sampled, true)?;
        let actor_loss = p1.minimum(&p2)?.mean_all()?.neg()?;
        prof.mark("actor_forward")?;
        let grads = actor_loss.backward()?;
        prof.mark("actor_backward")?;
        self.opt_actor.step(&grads)?;
        prof.mark("actor_adam")?;

        self.soft_update_target()?;
        prof.mark("target_update")?;
        Ok(UpdateInfo {
            critic_loss: critic_loss.to_scalar::<f32>()? as f64,
            actor_loss: actor_loss.to_scalar::<f32>()? as f64,
            q: q.to_scalar::<f32>()? as f64,
        })
    }

    /// `target ← τ·critic + (1 − τ)·target` for every trainable critic tensor (not the
    /// spectral-norm vectors, which the target's own forward passes update, as in PyTorch).
    pub fn soft_update_target(&self) -> Result<()> {
        let tau = self.spec.critic_tau;
        let target: std::collections::BTreeMap<String, Var> =
            self.target.vars().into_iter().collect();
        for (name, var) in trainable(&self.params, "critic") {
            soft_update(&target[&name], var.as_tensor(), tau)?;
        }
        Ok(())
    }

    /// Optimizer states (encoder, actor, critic).
    pub fn optimizer_states(&self) -> Result<[AdamState; 3]> {
        Ok([
            self.opt_encoder.state()?,
            self.opt_actor.state()?,
            self.opt_critic.state()?,
        ])
    }
}
