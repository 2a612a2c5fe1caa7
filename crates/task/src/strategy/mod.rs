//! Strategies: the next generation as a pure, seeded function of the population records.

pub mod pbt_nas;
pub mod random_search;
pub mod replay;
pub mod searl;
pub mod selection;

use anyhow::{bail, Result};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::Transfer;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a strategy sees of one member after a step.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub slot: usize,
    /// The (0-based) generation of the step this record ends.
    pub generation: u32,
    pub genome: Genome,
    /// Fitness after the step; `None` if the step failed (ranked last).
    pub fitness: Option<f64>,
}

/// Where transferred weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightSource {
    /// The member that held this slot in the previous generation.
    Slot(usize),
    /// A freshly initialised member with the new genome (architecture mutation).
    Fresh,
}

/// How a slot's member was made, for the lineage and the status table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    /// Initial population.
    Init,
    /// Continues unchanged.
    Survivor,
    /// PBT-NAS child of a parent and a donor.
    Child,
    /// SEARL: plain copy of a parent.
    Copy,
    /// SEARL: copy with weight mutation.
    WeightMutation,
    /// SEARL: copy with one gene mutated and its layers reinitialised.
    ArchMutation,
    /// Random search with shrink-perturb of the whole member.
    Perturbed,
    /// Replay: genes switched to the schedule's next genome, their layers reinitialised.
    Changed,
}

/// The member a slot holds in the next generation, and how its starting state is built:
/// the `parent`'s state (or a fresh init), then `transfer` from `donor`, then weight mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotPlan {
    pub slot: usize,
    pub genome: Genome,
    pub kind: PlanKind,
    /// Previous-generation slot whose state is the base; `None` for a fresh member.
    pub parent: Option<usize>,
    pub donor: Option<WeightSource>,
    /// Genes whose positions got the donor's weights.
    pub replaced: Vec<usize>,
    pub transfer: Option<Transfer>,
    pub weight_mutation: bool,
}

impl SlotPlan {
    /// The slot continues from its own previous state.
    pub fn survivor(r: &MemberRecord) -> Self {
        Self {
            slot: r.slot,
            genome: r.genome.clone(),
            kind: PlanKind::Survivor,
            parent: Some(r.slot),
            donor: None,
            replaced: Vec::new(),
            transfer: None,
            weight_mutation: false,
        }
    }
}

/// A search strategy. `next_generation` must be pure: the same records, space and RNG state give
/// the same plans (one per slot, in slot order).
pub trait Strategy {
    fn next_generation(
        &self,
        records: &[MemberRecord],
        space: &SearchSpace,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<SlotPlan>>;
}

/// The search strategy of a run and its settings, as a config names it (`kind: pbt-nas`, ...);
/// each strategy's own struct holds its settings and defaults (the paper's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StrategyConfig {
    PbtNas(pbt_nas::PbtNas),
    Searl(searl::Searl),
    RandomSearch(random_search::RandomSearch),
    Replay(replay::Replay),
}

impl StrategyConfig {
    /// The strategy these settings configure.
    pub fn strategy(&self) -> &(dyn Strategy + Send + Sync) {
        match self {
            Self::PbtNas(s) => s,
            Self::Searl(s) => s,
            Self::RandomSearch(s) => s,
            Self::Replay(s) => s,
        }
    }
}

impl StrategyConfig {
    /// Refuses settings the strategy cannot run with on `population` members for `steps`
    /// steps exploiting every `exploit_every`, naming the key.
    pub fn validate(&self, population: usize, steps: u32, exploit_every: u32) -> Result<()> {
        let n = population;
        if n < 2 && !(n == 1 && matches!(self, Self::RandomSearch(_) | Self::Replay(_))) {
            bail!("population must be at least 2 (1 for random search: plain training), got {n}");
        }
        let frac = |name: &str, f: f64| -> Result<usize> {
            if !(0.0..=1.0).contains(&f) {
                bail!("{name} must be in [0, 1], got {f}");
            }
            Ok(selection::count(n, f))
        };
        match self {
            Self::PbtNas(s) => {
                frac("mix_prob", s.mix_prob)?;
                let parents = frac("parent_frac", s.parent_frac)?;
                if parents < 1 || (parents < 2 && !s.mix_with_itself) {
                    bail!("parent_frac {} of population {n} gives {parents} parents; mixing needs 2 (pop 6 in the paper uses 0.4)", s.parent_frac);
                }
                if frac("survive_frac", s.survive_frac)? < parents {
                    bail!("survive_frac must keep at least the parents alive");
                }
            }
            Self::Searl(s) => {
                let parents = frac("parent_frac", s.parent_frac)?;
                if parents < 2 {
                    bail!("parent_frac {} of population {n} gives {parents} parents; SEARL's tournament needs 2", s.parent_frac);
                }
                if frac("survive_frac", s.survive_frac)? < parents {
                    bail!("survive_frac must keep at least the parents alive");
                }
            }
            Self::RandomSearch(_) => {}
            Self::Replay(r) => {
                if n != 1 || r.schedule.len() != steps as usize || exploit_every != 1 {
                    bail!("replay needs population 1, a genome per step ({} given for {steps} steps) and exploit.every 1", r.schedule.len());
                }
            }
        }
        Ok(())
    }
}

/// `[shrink, perturb]` in configs.
mod pair {
    use pbtnas_nn::ShrinkPerturb;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer>(v: &ShrinkPerturb, s: S) -> Result<S::Ok, S::Error> {
        [v.shrink, v.perturb].serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ShrinkPerturb, D::Error> {
        let [shrink, perturb] = <[f64; 2]>::deserialize(d)?;
        Ok(ShrinkPerturb { shrink, perturb })
    }
}

/// An optional `[shrink, perturb]` in configs.
mod opt_pair {
    use pbtnas_nn::ShrinkPerturb;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<ShrinkPerturb>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|v| [v.shrink, v.perturb]).serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ShrinkPerturb>, D::Error> {
        Ok(Option::<[f64; 2]>::deserialize(d)?
            .map(|[shrink, perturb]| ShrinkPerturb { shrink, perturb }))
    }
}
