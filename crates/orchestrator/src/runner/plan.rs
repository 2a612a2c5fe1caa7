//! The first generation (a stratified population, or a replay's genome) and the next one: the
//! strategy's plans over the finished generation, inserted in one transaction.

use anyhow::{bail, Result};
use pbtnas_genome::ops;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::events::Event;
use crate::store::{describe_plan, NewTrial, Trial, TrialStatus};
use pbtnas_task::{MemberRecord, PlanKind, SlotPlan, StrategyConfig, Task, WeightSource};

use super::{purpose, Runner};

impl<T: Task> Runner<'_, T> {
    pub(super) fn insert_initial_population(&self) -> Result<()> {
        let space = self.task.space();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed(&[purpose::INIT_POPULATION]));
        let genomes = match &self.cfg.strategy {
            StrategyConfig::Replay(replay) => vec![replay.genome(space, 0)?],
            _ => ops::stratified_population(space, self.cfg.population, &mut rng),
        };
        let trials: Vec<NewTrial> = genomes
            .into_iter()
            .enumerate()
            .map(|(slot, genome)| NewTrial {
                generation: 0,
                slot,
                plan: SlotPlan {
                    slot,
                    genome,
                    kind: PlanKind::Init,
                    parent: None,
                    donor: None,
                    replaced: Vec::new(),
                    transfer: None,
                    weight_mutation: false,
                },
                origin: vec![slot; space.len()],
                parent_ckpt: None,
                donor_ckpt: None,
                train_seed: self.seed(&[purpose::TRAIN, 0, slot as u64]),
            })
            .collect();
        self.store
            .insert_generation(0, &trials, &serde_json::json!({"kind": "init"}))
            .map(drop)
    }

    pub(super) fn plan_next_generation(&self, g: u32, trials: &[Trial]) -> Result<()> {
        let space = self.task.space();
        let records: Vec<MemberRecord> = trials
            .iter()
            .map(|t| MemberRecord {
                slot: t.spec.slot,
                generation: t.spec.generation,
                genome: t.spec.plan.genome.clone(),
                fitness: if t.status == TrialStatus::Done {
                    t.fitness
                } else {
                    None
                },
            })
            .collect();
        let next = g + 1;
        // Random search's whole-member shrink-perturb runs before every step but the first, as
        // the original's fitness function applies it, whatever the exploit schedule.
        let every_step = matches!(
            &self.cfg.strategy,
            StrategyConfig::RandomSearch(r) if r.shrink_perturb_always.is_some()
        );
        let exploit = every_step || self.cfg.exploit.exploit_before(next);
        let plans = if exploit {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed(&[purpose::SELECT, g as u64]));
            self.cfg
                .strategy
                .strategy()
                .next_generation(&records, space, &mut rng)?
        } else {
            records.iter().map(SlotPlan::survivor).collect()
        };
        if plans.len() != records.len() || plans.iter().enumerate().any(|(i, p)| p.slot != i) {
            bail!(
                "strategy returned {} plans not in slot order for {} members",
                plans.len(),
                records.len()
            );
        }
        let ckpt_of = |s: usize| {
            trials[s]
                .ckpt
                .clone()
                .or_else(|| trials[s].spec.parent_ckpt.clone())
        };
        let new: Vec<NewTrial> = plans
            .into_iter()
            .map(|plan| {
                let slot = plan.slot;
                let mut origin = plan.parent.map_or_else(
                    || vec![slot; space.len()],
                    |p| trials[p].spec.origin.clone(),
                );
                if let Some(WeightSource::Slot(d)) = plan.donor {
                    for &gene in &plan.replaced {
                        origin[gene] = trials[d].spec.origin[gene];
                    }
                }
                NewTrial {
                    generation: next,
                    slot,
                    origin,
                    parent_ckpt: plan.parent.and_then(ckpt_of),
                    donor_ckpt: match plan.donor {
                        Some(WeightSource::Slot(d)) => ckpt_of(d),
                        _ => None,
                    },
                    train_seed: self.seed(&[purpose::TRAIN, next as u64, slot as u64]),
                    plan,
                }
            })
            .collect();
        let changes: Vec<String> = new
            .iter()
            .filter(|t| t.plan.kind != PlanKind::Survivor)
            .map(describe_plan)
            .collect();
        if !changes.is_empty() {
            self.progress.emit(&Event::Plan {
                generation: next + 1,
                changes,
            });
        }
        let event =
            serde_json::json!({"kind": if exploit { "exploit" } else { "continue" }, "after": g});
        // `false`: another worker planned it first; plans are pure, so it is this one.
        self.store.insert_generation(next, &new, &event).map(drop)
    }
}
