//! Building a child's state from its parents: layer replacement with shrink-perturb
//! (docs/algorithm.md, "Mixing", "Shrink-perturb", "Optimizer state") and SEARL's weight mutation
//! (docs/algorithm.md, "SEARL-like mutation").

use candle_core::{bail, Result, Tensor};
use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::weights::{is_under, MemberState, WeightMap};

/// `W_child = shrink · W_donor + perturb · W_fresh` (λ, γ); PBT-NAS uses (0.4, 0.1).
/// (1, 0) copies the donor exactly, (0, 1) takes the fresh init exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShrinkPerturb {
    pub shrink: f64,
    pub perturb: f64,
}

impl ShrinkPerturb {
    /// The paper's (0.4, 0.1).
    pub const PAPER: Self = Self {
        shrink: 0.4,
        perturb: 0.1,
    };
    /// Copy the donor's tensors unchanged (ablation "copy exactly").
    pub const COPY: Self = Self {
        shrink: 1.0,
        perturb: 0.0,
    };
    /// Replace by a fresh init (ablation "reinitialize").
    pub const REINIT: Self = Self {
        shrink: 0.0,
        perturb: 1.0,
    };

    fn apply(&self, donor: &Tensor, fresh: Option<&Tensor>, name: &str) -> Result<Tensor> {
        if !donor.dtype().is_float() || *self == Self::COPY {
            return Ok(donor.clone());
        }
        let Some(fresh) = fresh else {
            bail!("tensor '{name}': the fresh weights of the child's genome lack it; a task must name tensors by position so that the same option builds the same names")
        };
        if fresh.shape() != donor.shape() {
            bail!(
                "tensor '{name}': donor shape {:?} differs from the fresh init's {:?}",
                donor.shape(),
                fresh.shape()
            );
        }
        if *self == Self::REINIT {
            return Ok(fresh.clone());
        }
        donor.affine(self.shrink, 0.0)? + fresh.affine(self.perturb, 0.0)?
    }
}

/// What happens to copy-as-is tensors (EMA generator, target critic) at replaced positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShadowRule {
    /// Take the donor's, unchanged (PBT-NAS mixing).
    CopyDonor,
    /// Take the fresh model's (SEARL architecture mutation).
    Fresh,
    /// Leave the parent's (shrink-perturb of a whole GAN member in random search: the EMA
    /// generator is not part of the original's `model_state_dict`).
    Keep,
    /// Shrink-perturb them as the weights, against the fresh member's shadows (a whole RL member
    /// in random search: the target critic is part of the original's `model_state_dict`).
    LikeWeights,
    /// What the original does to the whole model state: [`ShadowRule::LikeWeights`] when the
    /// task's shadows belong to its model state, else [`ShadowRule::Keep`]; planners that do not
    /// know the task emit it and the runner resolves it with [`Transfer::resolve`].
    ModelState,
}

/// One weight transfer: at `positions`, the child's tensors are the donor's, transformed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// Parameter-name prefixes; the empty prefix is the whole member.
    pub positions: Vec<String>,
    pub rule: ShrinkPerturb,
    pub shadows: ShadowRule,
    /// Drop optimizer state of the replaced tensors (they start fresh).
    pub reset_optimizer: bool,
}

impl Transfer {
    /// The transfer with [`ShadowRule::ModelState`] made concrete for a task whose shadows
    /// (`shadows_in_model_state`) are or are not part of its model state.
    pub fn resolve(&self, shadows_in_model_state: bool) -> Transfer {
        let mut t = self.clone();
        if t.shadows == ShadowRule::ModelState {
            t.shadows = if shadows_in_model_state {
                ShadowRule::LikeWeights
            } else {
                ShadowRule::Keep
            };
        }
        t
    }
}

fn replace_under(
    dst: &mut WeightMap,
    src: &WeightMap,
    position: &str,
    mut f: impl FnMut(&str, &Tensor) -> Result<Tensor>,
) -> Result<()> {
    dst.retain(|name, _| !is_under(name, position));
    for (name, t) in src.iter().filter(|(n, _)| is_under(n, position)) {
        dst.insert(name.clone(), f(name, t)?);
    }
    Ok(())
}

/// The child's state: the `parent`'s, with every tensor under `transfer.positions` deleted and
/// replaced by the `donor`'s, shrink-perturbed against `fresh` (a freshly initialised member
/// with the child's genome). Integer tensors are copied; deleting first lets the donor's option
/// bring parameter names the parent's option did not have.
pub fn inherit(
    parent: &MemberState,
    donor: &MemberState,
    fresh: &MemberState,
    transfer: &Transfer,
) -> Result<MemberState> {
    let mut child = parent.clone();
    for pos in &transfer.positions {
        replace_under(&mut child.weights, &donor.weights, pos, |name, t| {
            transfer.rule.apply(t, fresh.weights.get(name), name)
        })?;
        match transfer.shadows {
            ShadowRule::CopyDonor => replace_under(
                &mut child.shadows,
                &donor.shadows,
                pos,
                |_, t| Ok(t.clone()),
            )?,
            ShadowRule::Fresh => {
                replace_under(
                    &mut child.shadows,
                    &fresh.shadows,
                    pos,
                    |_, t| Ok(t.clone()),
                )?
            }
            ShadowRule::Keep => {}
            ShadowRule::LikeWeights => {
                replace_under(&mut child.shadows, &donor.shadows, pos, |name, t| {
                    transfer.rule.apply(t, fresh.shadows.get(name), name)
                })?
            }
            ShadowRule::ModelState => {
                bail!("a transfer's shadow rule 'model-state' must be resolved for the task first")
            }
        }
        if transfer.reset_optimizer {
            for state in child.optimizers.values_mut() {
                state.retain(|name, _| !is_under(name, pos));
            }
        }
    }
    Ok(child)
}

/// SEARL's `classic_parameter_mutation` on `weights`, seeded: a random number of tensors among
/// those with ndim > 1 whose name has no "norm" get a random fraction of their elements
/// perturbed (5% super-mutation N(0,|10W|), 5% reset N(0,1), else N(0,|0.1W|)), then everything
/// is clamped to ±1e6. The mask rate uses only the first dimension, as SEARL does
/// (docs/algorithm.md, "SEARL-like mutation").
pub fn searl_weight_mutation(weights: &mut WeightMap, seed: u64) -> Result<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let candidates: Vec<String> = weights
        .iter()
        .filter(|(n, t)| !n.contains("norm") && t.rank() > 1 && t.dtype().is_float())
        .map(|(n, _)| n.clone())
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let how_many = rng.random_range(1..=candidates.len());
    let mut chosen: Vec<String> = index::sample(&mut rng, candidates.len(), how_many)
        .into_iter()
        .map(|i| candidates[i].clone())
        .collect();
    chosen.sort();
    for name in &chosen {
        let t = &weights[name];
        let rows = t.dim(0)?;
        let max_mut = (0.1 * rows as f64).ceil() as usize;
        let num_mutations = rng.random_range(0..max_mut.max(1));
        let rate = num_mutations as f64 / rows as f64;
        let mut data = t
            .flatten_all()?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1::<f32>()?;
        for w in data.iter_mut() {
            if rng.random::<f64>() >= rate {
                continue;
            }
            let r: f64 = rng.random();
            let x = *w as f64;
            let new = if r < 0.05 {
                x + normal(10.0 * x.abs(), &mut rng)
            } else if r < 0.10 {
                normal(1.0, &mut rng)
            } else {
                x + normal(0.1 * x.abs(), &mut rng)
            };
            *w = new.clamp(-1e6, 1e6) as f32;
        }
        let mutated = Tensor::from_vec(data, t.shape(), t.device())?.to_dtype(t.dtype())?;
        weights.insert(name.clone(), mutated);
    }
    Ok(chosen)
}

/// [`searl_weight_mutation`] of a member: of its weights, and with `with_shadows` of its weights
/// and shadows drawn from together (the RL code mutates `model_state_dict`, target critic
/// included; the GAN code's EMA generator is kept apart).
pub fn searl_weight_mutation_state(
    state: &mut MemberState,
    with_shadows: bool,
    seed: u64,
) -> Result<Vec<String>> {
    if !with_shadows {
        return searl_weight_mutation(&mut state.weights, seed);
    }
    const SHADOW: &str = "shadow:";
    let mut all = state.weights.clone();
    all.extend(
        state
            .shadows
            .iter()
            .map(|(n, t)| (format!("{SHADOW}{n}"), t.clone())),
    );
    let chosen = searl_weight_mutation(&mut all, seed)?;
    for (name, t) in all {
        match name.strip_prefix(SHADOW) {
            Some(s) => state.shadows.insert(s.to_string(), t),
            None => state.weights.insert(name, t),
        };
    }
    Ok(chosen)
}

fn normal(std: f64, rng: &mut ChaCha8Rng) -> f64 {
    if std == 0.0 {
        return 0.0;
    }
    Normal::new(0.0, std).expect("finite std").sample(rng)
}
