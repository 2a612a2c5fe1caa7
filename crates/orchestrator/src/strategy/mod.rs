//! Strategies: the next generation as a pure, seeded function of the population records.

pub mod pbt_nas;
pub mod random_search;
pub mod replay;
pub mod searl;
pub mod selection;

use anyhow::Result;
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::Transfer;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::StrategyConfig;

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

/// The strategy a config names.
pub fn from_config(cfg: &StrategyConfig) -> Box<dyn Strategy + Send + Sync> {
    match cfg.clone() {
        StrategyConfig::PbtNas {
            mix_prob,
            parent_frac,
            survive_frac,
            shrink_perturb,
            mix_with_itself,
        } => Box::new(pbt_nas::PbtNas {
            mix_prob,
            parent_frac,
            survive_frac,
            shrink_perturb,
            mix_with_itself,
        }),
        StrategyConfig::Searl {
            parent_frac,
            survive_frac,
            ..
        } => Box::new(searl::Searl {
            parent_frac,
            survive_frac,
        }),
        StrategyConfig::RandomSearch {
            shrink_perturb_always,
        } => Box::new(random_search::RandomSearch {
            shrink_perturb_always,
        }),
        StrategyConfig::Replay { schedule } => Box::new(replay::Replay { schedule }),
    }
}
