//! What the runner says as it goes: each finished member-step, and each finished generation.

use anyhow::Result;

use crate::best::best_trial;
use crate::events::Event;
use crate::store::{Trial, TrialStatus};
use pbtnas_task::Task;

use super::Runner;

impl<T: Task> Runner<'_, T> {
    pub(super) fn report_trial(&self, g: u32, slot: usize, status: TrialStatus) {
        let trials = self.store.trials(g).unwrap_or_default();
        let left = trials
            .iter()
            .filter(|t| matches!(t.status, TrialStatus::Pending | TrialStatus::Running))
            .count();
        let later = (self.cfg.steps - g - 1) as usize * self.cfg.population;
        let eta = self.progress.step_done(left + later);
        let fitness = trials.into_iter().nth(slot).and_then(|t| t.fitness);
        self.progress.emit(&Event::Step {
            generation: g + 1,
            slot,
            status,
            fitness,
            left_in_generation: left,
            eta_s: eta,
            steps: self.cfg.steps,
        });
    }

    pub(super) fn report_generation(&self, g: u32, trials: &[Trial]) -> Result<()> {
        let f: Vec<f64> = trials.iter().filter_map(|t| t.fitness).collect();
        let best = f.iter().copied().reduce(f64::max).unwrap_or(f64::NAN);
        let median = crate::status::median(&f).unwrap_or(f64::NAN);
        let all = self.store.all_trials()?;
        let best_ever_text = best_trial(&all).map_or(String::from("-"), |t| {
            format!(
                "{:.5} (gen {} slot {})",
                t.fitness.unwrap_or(f64::NAN),
                t.spec.generation + 1,
                t.spec.slot
            )
        });
        let failed = trials
            .iter()
            .filter(|t| t.status == TrialStatus::Failed)
            .count();
        let best_ever = best_trial(&all).and_then(|t| t.fitness);
        self.progress.emit(&Event::Generation {
            generation: g + 1,
            steps: self.cfg.steps,
            best,
            median,
            best_ever,
            failed,
            best_ever_text,
            elapsed: self.progress.elapsed(),
        });
        Ok(())
    }
}
