//! SEARL-like mutation PBT (docs/algorithm.md, "SEARL-like mutation"): each replaced slot gets
//! the fitter of two members drawn from the top, then a plain copy, a weight mutation or an
//! architecture mutation (1/3 each).

use anyhow::Result;
use pbtnas_genome::{ops, SearchSpace};
use pbtnas_nn::{ShadowRule, ShrinkPerturb, Transfer};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::selection::select;
use super::{MemberRecord, PlanKind, SlotPlan, Strategy, WeightSource};

/// The SEARL-like baseline. Unset keys take the paper's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Searl {
    /// The top fraction the tournament draws from.
    pub parent_frac: f64,
    /// The fraction that survives unchanged.
    pub survive_frac: f64,
    /// The original's best-ever quirk (off by default): a mutated child, untrained, rated
    /// with its parent's fitness, can become the best-ever member (the orchestrator's `best`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub untrained_best_ever: bool,
}

impl Default for Searl {
    fn default() -> Self {
        Self {
            parent_frac: 0.25,
            survive_frac: 0.75,
            untrained_best_ever: false,
        }
    }
}

impl Strategy for Searl {
    fn next_generation(
        &self,
        records: &[MemberRecord],
        space: &SearchSpace,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<SlotPlan>> {
        let sel = select(records, self.parent_frac, self.survive_frac)?;
        let mut plans: Vec<SlotPlan> = records.iter().map(SlotPlan::survivor).collect();
        for &slot in &sel.replaced {
            let (parent, _) = sel.draw_pair(rng);
            let base = &records[parent].genome;
            let mut plan = SlotPlan {
                slot,
                genome: base.clone(),
                kind: PlanKind::Copy,
                parent: Some(parent),
                donor: None,
                replaced: Vec::new(),
                transfer: None,
                weight_mutation: false,
            };
            match rng.random_range(0..3) {
                0 => {}
                1 => {
                    plan.kind = PlanKind::WeightMutation;
                    plan.weight_mutation = true;
                }
                _ => {
                    let (genome, gene) = ops::mutate(space, base, rng)?;
                    plan.kind = PlanKind::ArchMutation;
                    plan.genome = genome;
                    plan.replaced = vec![gene];
                    plan.donor = Some(WeightSource::Fresh);
                    plan.transfer = Some(Transfer {
                        positions: space.positions_of(&[gene]),
                        rule: ShrinkPerturb::REINIT,
                        shadows: ShadowRule::Fresh,
                        reset_optimizer: true,
                    });
                }
            }
            plans[slot] = plan;
        }
        Ok(plans)
    }
}
