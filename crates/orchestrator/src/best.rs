//! The best-ever member of a run: the one definition that status, eval, export, replay, the
//! report and the checkpoint retention use ([`best_member`], with the run's
//! [`RunConfig::untrained_best_ever`](crate::RunConfig::untrained_best_ever)). The best fitness
//! itself is the same either way ([`best_trial`]'s).
//!
//! By default it is the finished member-step with the highest fitness (ties: the earliest), as
//! the original code keeps it for every strategy whose children start unrated. The original's
//! SEARL-like baseline has a quirk: a child is a copy of its *evaluated* parent, fitness
//! included, and the best-ever checkpoint is chosen over the population after replacement, so a
//! mutated, untrained child in a lower slot than its parent wins the tie and can become the
//! best-ever model (`search/algorithms/ea.py` and `store_population_and_best_weights` in
//! `common_utils.py`). [`best_member`] with `untrained_children` reproduces it.

use crate::store::{Trial, TrialStatus};
use pbtnas_task::PlanKind;

/// The best-ever member and where its model comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BestMember<'a> {
    /// A trained member-step: its checkpoint is the model.
    Trained(&'a Trial),
    /// The SEARL quirk: a child of the next generation before its step, rated with its
    /// parent's fitness; the model is the child's start state.
    Untrained {
        child: &'a Trial,
        parent: &'a Trial,
        fitness: f64,
    },
}

impl<'a> BestMember<'a> {
    pub fn fitness(&self) -> f64 {
        match self {
            BestMember::Trained(t) => t.fitness.unwrap_or(f64::NAN),
            BestMember::Untrained { fitness, .. } => *fitness,
        }
    }

    /// The trial that names the model: the trained step, or the untrained child's step.
    pub fn trial(&self) -> &'a Trial {
        match self {
            BestMember::Trained(t) | BestMember::Untrained { child: t, .. } => t,
        }
    }

    /// The trained step whose evaluation is the best fitness: the member itself, or the
    /// untrained child's parent (its line is the best line).
    pub fn rated(&self) -> &'a Trial {
        match self {
            BestMember::Trained(t) | BestMember::Untrained { parent: t, .. } => t,
        }
    }

    /// Where the model is, for a person: `generation 3 slot 5`, or the untrained child's start.
    pub fn describe(&self) -> String {
        let at = |t: &Trial| format!("generation {} slot {}", t.spec.generation + 1, t.spec.slot);
        match self {
            BestMember::Trained(t) => at(t),
            BestMember::Untrained { child, parent, .. } => format!(
                "the start of {} (an untrained SEARL child of {}, the original's quirk)",
                at(child),
                at(parent)
            ),
        }
    }
}

/// The best finished trial of a run (ties: earliest).
pub fn best_trial(trials: &[Trial]) -> Option<&Trial> {
    trials
        .iter()
        .filter(|t| t.status == TrialStatus::Done && t.fitness.is_some())
        .fold(None, |best: Option<&Trial>, t| match best {
            Some(b) if b.fitness >= t.fitness => Some(b),
            _ => Some(t),
        })
}

/// The best-ever member. With `untrained_children` (the SEARL quirk), after each generation that
/// has a next one planned, the candidates are the population after replacement, slot by slot: a
/// survivor with its fitness, a SEARL child (copy, weight or architecture mutation) with its
/// parent's; the first best of them replaces the best-ever only if strictly better, as in the
/// original. Without it: [`best_trial`].
pub fn best_member(trials: &[Trial], untrained_children: bool) -> Option<BestMember<'_>> {
    if !untrained_children {
        return best_trial(trials).map(BestMember::Trained);
    }
    let rated = |t: &&Trial| t.status == TrialStatus::Done && t.fitness.is_some();
    let last = trials.iter().map(|t| t.spec.generation).max()?;
    let mut best: Option<BestMember> = None;
    for g in 0..=last {
        let done: Vec<&Trial> = trials
            .iter()
            .filter(|t| t.spec.generation == g)
            .filter(rated)
            .collect();
        let of_slot = |s: usize| done.iter().copied().find(|t| t.spec.slot == s);
        let next: Vec<&Trial> = trials
            .iter()
            .filter(|t| t.spec.generation == g + 1)
            .collect();
        let candidates: Vec<BestMember> = if next.is_empty() {
            done.iter().copied().map(BestMember::Trained).collect()
        } else {
            next.iter()
                .filter_map(|n| {
                    let searl_child = matches!(
                        n.spec.plan.kind,
                        PlanKind::Copy | PlanKind::WeightMutation | PlanKind::ArchMutation
                    );
                    match (searl_child, n.spec.plan.parent) {
                        (true, Some(p)) => of_slot(p).map(|parent| BestMember::Untrained {
                            child: n,
                            parent,
                            fitness: parent.fitness.expect("rated"),
                        }),
                        _ => of_slot(n.spec.slot).map(BestMember::Trained),
                    }
                })
                .collect()
        };
        let first_best = candidates
            .into_iter()
            .fold(None, |b: Option<BestMember>, c| match b {
                Some(b) if b.fitness() >= c.fitness() => Some(b),
                _ => Some(c),
            });
        if let Some(c) = first_best {
            if best.is_none_or(|b| c.fitness() > b.fitness()) {
                best = Some(c);
            }
        }
    }
    best
}
