//! Random search (docs/algorithm.md, "Random search"): members train independently; optionally
//! every member is shrink-perturbed as a whole at the start of every step but the first (its
//! model state, as the original's `net.state_dict()`: for RL the target critic too, for GANs not
//! the EMA generator).

use anyhow::Result;
use pbtnas_genome::SearchSpace;
use pbtnas_nn::{ShadowRule, ShrinkPerturb, Transfer};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{MemberRecord, PlanKind, SlotPlan, Strategy, WeightSource};

/// Random search over the stratified initial population.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomSearch {
    /// `[shrink, perturb]` of every member's whole state at the start of every step but the
    /// first; none by default.
    #[serde(with = "super::opt_pair")]
    pub shrink_perturb_always: Option<ShrinkPerturb>,
}

impl Strategy for RandomSearch {
    fn next_generation(
        &self,
        records: &[MemberRecord],
        _space: &SearchSpace,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Vec<SlotPlan>> {
        Ok(records
            .iter()
            .map(|r| {
                let mut plan = SlotPlan::survivor(r);
                if let Some(rule) = self.shrink_perturb_always {
                    plan.kind = PlanKind::Perturbed;
                    plan.donor = Some(WeightSource::Slot(r.slot));
                    plan.transfer = Some(Transfer {
                        positions: vec![String::new()],
                        rule,
                        shadows: ShadowRule::ModelState,
                        reset_optimizer: false,
                    });
                }
                plan
            })
            .collect())
    }
}
