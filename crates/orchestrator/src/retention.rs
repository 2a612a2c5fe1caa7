//! Which checkpoints a run keeps after a generation: the retention policy as a pure function of
//! the run's trials, applied by the runner to its checkpoint store.

use std::collections::HashSet;

use crate::best::{best_member, BestMember};
use crate::config::CheckpointPolicy;
use crate::store::Trial;

/// The checkpoints to keep once generation `completed` is finished, or `None` to keep all
/// (`keep_all`): the last `keep_generations` completed generations (at least the population),
/// while the run goes on the inputs of the planned generation and (`keep_inputs`) those of the
/// population's own steps, and (`keep_best`) the best-ever member's model or, for the SEARL
/// quirk's untrained best, the inputs it is rebuilt from.
pub fn to_keep(
    policy: &CheckpointPolicy,
    trials: &[Trial],
    completed: u32,
    untrained_best_ever: bool,
) -> Option<HashSet<String>> {
    if policy.keep_all {
        return None;
    }
    let newest = trials.iter().map(|t| t.spec.generation).max().unwrap_or(0);
    let mut keep: HashSet<String> = HashSet::new();
    for t in trials {
        if t.spec.generation + policy.keep_generations.max(1) > completed {
            keep.extend(t.ckpt.clone());
        }
        // While the run goes on: the inputs of the next generation, and (to recompute a bad
        // checkpoint of the population) those of the population's own steps.
        let inputs = newest > completed
            && (t.spec.generation == newest
                || (policy.keep_inputs && t.spec.generation == completed));
        if inputs {
            keep.extend(t.spec.parent_ckpt.clone());
            keep.extend(t.spec.donor_ckpt.clone());
        }
    }
    if policy.keep_best {
        match best_member(trials, untrained_best_ever) {
            Some(BestMember::Trained(t)) => keep.extend(t.ckpt.clone()),
            Some(BestMember::Untrained { child, .. }) => {
                keep.extend(child.spec.parent_ckpt.clone());
                keep.extend(child.spec.donor_ckpt.clone());
            }
            None => {}
        }
    }
    Some(keep)
}

/// Every checkpoint the trials name (outputs and inputs): a stored file named by none of them
/// is an orphan.
pub fn referenced(trials: &[Trial]) -> HashSet<String> {
    trials
        .iter()
        .flat_map(|t| [&t.ckpt, &t.spec.parent_ckpt, &t.spec.donor_ckpt])
        .flatten()
        .cloned()
        .collect()
}
