//! Adam/AdamW with per-parameter state that can be saved, loaded and carried over by name.
//!
//! The update is PyTorch's (`torch.optim.AdamW`; with `weight_decay = 0` it is `Adam`):
//! `p *= 1 - lr·wd; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
//!  p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + eps)`, with a step count `t` per parameter.
//!
//! State is keyed by parameter name. On load, state whose name is unknown or whose shape differs
//! from the parameter's is dropped and that parameter starts fresh; the rest continues. The
//! original PBT-NAS (torch 1.10) instead mapped state by position in the parameter list and reset
//! the whole optimizer when the parameter count changed; keying by name keeps the moments of every
//! unchanged layer and never hands one layer's moments to another.

use std::collections::BTreeMap;

use candle_core::{backprop::GradStore, Result, Tensor, Var};

use crate::ops::{in_place_ok, AdamStep, Blend};
use serde::{Deserialize, Serialize};

/// Adam hyperparameters (PyTorch defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled (AdamW) weight decay.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Moments and step count of one parameter.
#[derive(Debug, Clone)]
pub struct ParamState {
    pub m: Tensor,
    pub v: Tensor,
    pub step: u64,
}

/// The saveable state of one optimizer: per parameter name.
impl ParamState {
    /// The same state in buffers of its own.
    fn deep_copy(&self) -> Result<Self> {
        Ok(Self {
            m: self.m.copy()?,
            v: self.v.copy()?,
            step: self.step,
        })
    }
}

pub type AdamState = BTreeMap<String, ParamState>;

/// Adam over a named set of parameters.
pub struct Adam {
    config: AdamConfig,
    params: Vec<(String, Var)>,
    state: AdamState,
}

impl Adam {
    /// A fresh optimizer.
    pub fn new(params: Vec<(String, Var)>, config: AdamConfig) -> Self {
        Self {
            config,
            params,
            state: AdamState::new(),
        }
    }

    /// An optimizer that continues from (a copy of) saved state, keeping the entries whose name
    /// and shape match a parameter. Returns it with the names whose state was dropped or missing.
    pub fn with_state(
        params: Vec<(String, Var)>,
        config: AdamConfig,
        mut saved: AdamState,
    ) -> Result<(Self, Vec<String>)> {
        let mut state = AdamState::new();
        let mut fresh = Vec::new();
        for (name, var) in &params {
            match saved.remove(name) {
                Some(s) if s.m.shape() == var.shape() && s.v.shape() == var.shape() => {
                    state.insert(name.clone(), s.deep_copy()?);
                }
                _ => fresh.push(name.clone()),
            }
        }
        let adam = Self {
            config,
            params,
            state,
        };
        Ok((adam, fresh))
    }

    /// The hyperparameters (lr and wd are re-imposed from the config at every load).
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Sets the learning rate.
    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// One update of every parameter that has a gradient in `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let c = self.config;
        for (name, var) in &self.params {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            // Gradients can carry op history (candle records ops on tensors derived from
            // variables, e.g. through a spectral norm's σ(W)); moments built from them would chain
            // every step's graph to the next and never be freed.
            let g = &g.detach();
            let s = match self.state.get_mut(name) {
                Some(s) => s,
                None => {
                    // Two buffers: the kernels update each moment in place.
                    self.state.insert(
                        name.clone(),
                        ParamState {
                            m: var.zeros_like()?,
                            v: var.zeros_like()?,
                            step: 0,
                        },
                    );
                    self.state.get_mut(name).expect("just inserted")
                }
            };
            s.step += 1;
            let t = s.step as i32;
            let bc1 = 1.0 - c.beta1.powi(t);
            let bc2 = 1.0 - c.beta2.powi(t);
            let p = var.as_tensor();
            if [p, &s.m, &s.v].into_iter().all(in_place_ok) && g.device().same_device(p.device()) {
                let g = &g.contiguous()?;
                let moment = |decay: f64, square| Blend {
                    keep: decay as f32,
                    take: (1.0 - decay) as f32,
                    square,
                };
                s.m.inplace_op2(g, &moment(c.beta1, false))?;
                s.v.inplace_op2(g, &moment(c.beta2, true))?;
                let step = AdamStep {
                    shrink: (1.0 - c.lr * c.weight_decay) as f32,
                    step: (c.lr / bc1) as f32,
                    inv_sqrt_bc2: (1.0 / bc2.sqrt()) as f32,
                    eps: c.eps as f32,
                };
                p.inplace_op3(&s.m, &s.v, &step)?;
                continue;
            }
            s.m = ((&s.m * c.beta1)? + (g * (1.0 - c.beta1))?)?.detach();
            s.v = ((&s.v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?.detach();
            let denom = ((s.v.sqrt()? / bc2.sqrt())? + c.eps)?;
            let mut p = var.as_tensor().detach();
            if c.weight_decay != 0.0 {
                p = (p * (1.0 - c.lr * c.weight_decay))?;
            }
            let update = ((&s.m / denom)? * (c.lr / bc1))?;
            var.set(&(p - update)?)?;
        }
        Ok(())
    }

    /// A copy of the state, for checkpoints (the moments are updated in place by later steps).
    pub fn state(&self) -> Result<AdamState> {
        self.state
            .iter()
            .map(|(n, s)| Ok((n.clone(), s.deep_copy()?)))
            .collect()
    }
}
