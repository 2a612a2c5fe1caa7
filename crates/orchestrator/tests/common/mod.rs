//! Trials built by hand, for the tests of what is decided from a run's trials.
#![allow(dead_code)] // each test file uses some of them

use pbtnas_genome::Genome;
use pbtnas_orchestrator::store::{NewTrial, Trial, TrialStatus};
use pbtnas_orchestrator::{PlanKind, SlotPlan};

/// A member-step of `kind` from `parent`: done with `fitness` and checkpoint `g<gen>s<slot>`, or
/// pending (`None`); its input checkpoint is `g<gen>p<parent>`.
pub fn trial(
    generation: u32,
    slot: usize,
    kind: PlanKind,
    parent: usize,
    fitness: Option<f64>,
) -> Trial {
    Trial {
        spec: NewTrial {
            generation,
            slot,
            plan: SlotPlan {
                slot,
                genome: Genome {
                    space: "s".into(),
                    genes: vec![0],
                },
                kind,
                parent: Some(parent),
                donor: None,
                replaced: Vec::new(),
                transfer: None,
                weight_mutation: kind == PlanKind::WeightMutation,
            },
            origin: vec![slot],
            parent_ckpt: Some(format!("g{generation}p{parent}")),
            donor_ckpt: None,
            train_seed: 0,
        },
        status: if fitness.is_some() {
            TrialStatus::Done
        } else {
            TrialStatus::Pending
        },
        attempts: 1,
        failures: 0,
        fitness,
        ckpt: fitness.map(|_| format!("g{generation}s{slot}")),
        metrics: Default::default(),
        error: None,
        started_at: None,
        finished_at: None,
        worker: None,
        lease_until: None,
        phase: None,
    }
}
