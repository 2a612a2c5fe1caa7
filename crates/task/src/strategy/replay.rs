//! Replay (`pbtnas replay`): one member follows a fixed schedule of genomes, one per generation,
//! as the lineage of a searched member went. Where the genome changes, the changed genes' layers
//! are reinitialised (there is no donor to inherit them from); everything else carries on.

use anyhow::{bail, Result};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::{ShadowRule, ShrinkPerturb, Transfer};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{MemberRecord, PlanKind, SlotPlan, Strategy, WeightSource};

/// A genome schedule for a population of one (`pbtnas replay` writes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Genome strings, index = generation.
    pub schedule: Vec<String>,
}

impl Replay {
    /// The genome of generation `g`.
    pub fn genome(&self, space: &SearchSpace, g: usize) -> Result<Genome> {
        let Some(text) = self.schedule.get(g) else {
            bail!(
                "the replay schedule has {} genomes, generation {} asked",
                self.schedule.len(),
                g + 1
            );
        };
        Ok(space.parse_genome(text)?)
    }
}

impl Strategy for Replay {
    fn next_generation(
        &self,
        records: &[MemberRecord],
        space: &SearchSpace,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Vec<SlotPlan>> {
        let [r] = records else {
            bail!("replay trains a single member, got {}", records.len());
        };
        let genome = self.genome(space, r.generation as usize + 1)?;
        let mut plan = SlotPlan::survivor(r);
        let changed: Vec<usize> = (0..space.len())
            .filter(|&g| genome.genes[g] != r.genome.genes[g])
            .collect();
        if !changed.is_empty() {
            plan.kind = PlanKind::Changed;
            plan.genome = genome;
            plan.donor = Some(WeightSource::Fresh);
            plan.transfer = Some(Transfer {
                positions: space.positions_of(&changed),
                rule: ShrinkPerturb::REINIT,
                shadows: ShadowRule::Fresh,
                reset_optimizer: false,
            });
            plan.replaced = changed;
        }
        Ok(vec![plan])
    }
}
