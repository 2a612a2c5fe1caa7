//! PBT-NAS (docs/algorithm.md, "Selection", "Mixing", "Shrink-perturb"): the bottom slots are
//! replaced by children that mix a fitter parent with a donor from the top, layer by layer, with
//! shrink-perturb of the donor's layers.

use anyhow::Result;
use pbtnas_genome::{ops, SearchSpace};
use pbtnas_nn::{ShadowRule, ShrinkPerturb, Transfer};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::selection::select;
use super::{MemberRecord, PlanKind, SlotPlan, Strategy, WeightSource};

/// PBT-NAS and its ablations: `shrink_perturb: [1, 0]` (copy exactly), `[0, 1]` (reinitialize),
/// `mix_with_itself: true` (no mixing). Unset keys take the paper's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PbtNas {
    /// Per gene, the chance of taking the donor's option (and shrink-perturbed weights).
    pub mix_prob: f64,
    /// The top fraction that parents and donors come from.
    pub parent_frac: f64,
    /// The fraction that survives unchanged; the rest is replaced by children.
    pub survive_frac: f64,
    /// `[shrink, perturb]` of the donor's layers.
    #[serde(with = "super::pair")]
    pub shrink_perturb: ShrinkPerturb,
    /// The donor is the parent itself (the no-mixing ablation).
    pub mix_with_itself: bool,
}

impl Default for PbtNas {
    fn default() -> Self {
        Self {
            mix_prob: 0.25,
            parent_frac: 0.25,
            survive_frac: 0.75,
            shrink_perturb: ShrinkPerturb::PAPER,
            mix_with_itself: false,
        }
    }
}

impl Strategy for PbtNas {
    fn next_generation(
        &self,
        records: &[MemberRecord],
        space: &SearchSpace,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<SlotPlan>> {
        let sel = select(records, self.parent_frac, self.survive_frac)?;
        let mut plans: Vec<SlotPlan> = records.iter().map(SlotPlan::survivor).collect();
        for &slot in &sel.replaced {
            // No mixing: the original draws two distinct members, sets the donor to the first
            // and, the fitnesses being equal, never swaps: the parent is uniform over the pool.
            let (parent, donor) = if self.mix_with_itself {
                let p = sel.draw_one(rng);
                (p, p)
            } else {
                sel.draw_pair(rng)
            };
            let (genome, replaced) = ops::mix(
                &records[parent].genome,
                &records[donor].genome,
                self.mix_prob,
                rng,
            )?;
            plans[slot] = SlotPlan {
                slot,
                genome,
                kind: PlanKind::Child,
                parent: Some(parent),
                donor: Some(WeightSource::Slot(donor)),
                transfer: Some(Transfer {
                    positions: space.positions_of(&replaced),
                    rule: self.shrink_perturb,
                    shadows: ShadowRule::CopyDonor,
                    reset_optimizer: true,
                }),
                replaced,
                weight_mutation: false,
            };
        }
        Ok(plans)
    }
}
