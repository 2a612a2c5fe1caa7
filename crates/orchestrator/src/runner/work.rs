//! A worker's loop (lease, train, finish the generation or wait) and one member-step's execution,
//! from its start state to its committed checkpoint and outcome.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use pbtnas_nn::checkpoint::encode;

use crate::events::Event;
use crate::store::{NewTrial, Outcome, Trial, TrialStatus};
use pbtnas_task::{StepContext, Task};

use super::workers::is_this_process;
use super::Runner;

impl<T: Task> Runner<'_, T> {
    /// One worker's loop: lease a member-step of the newest generation and train it; when the
    /// generation is finished, plan the next one (or complete the run); when the others are
    /// still training the last steps of a generation, wait (or, yielding at a barrier, return
    /// once none of them is this process's).
    pub(super) fn work(&self, me: &str) -> Result<()> {
        let ttl = self.opts.lease_seconds;
        loop {
            if self.store.is_complete()? {
                return Ok(());
            }
            let g = self
                .store
                .latest_generation()?
                .expect("generation 0 exists");
            if let Some(trial) = self.store.lease_trial(g, me, ttl, self.cfg.max_attempts)? {
                let slot = trial.spec.slot;
                if let Some(status) = self.run_trial(&trial, me)? {
                    if status != TrialStatus::Pending {
                        self.report_trial(g, slot, status);
                    }
                }
                continue;
            }
            let trials = self.store.trials(g)?;
            if trials
                .iter()
                .all(|t| matches!(t.status, TrialStatus::Done | TrialStatus::Failed))
            {
                self.finish_generation(g, &trials)?;
            } else if self.opts.yield_at_barrier
                && !trials.iter().any(|t| {
                    t.status == TrialStatus::Running
                        && t.worker.as_deref().is_some_and(is_this_process)
                })
            {
                return Ok(());
            } else {
                // The others are training the generation's last steps.
                std::thread::sleep(std::time::Duration::from_millis(WAIT_POLL_MS));
            }
        }
    }

    /// Generation `g` is finished: reports it, then plans the next generation or completes the
    /// run. Several workers can get here; one per process reports, and the store keeps one plan.
    pub(super) fn finish_generation(&self, g: u32, trials: &[Trial]) -> Result<()> {
        let _one = self.finishing.lock().expect("finishing lock");
        if self.store.latest_generation()? != Some(g) || self.store.is_complete()? {
            return Ok(());
        }
        self.report_generation(g, trials)?;
        if let Some(hook) = &self.opts.after_generation {
            if let Err(e) = (hook.0)(&self.opts.run_dir) {
                let message = format!("after generation {}: {e:#}", g + 1);
                self.progress.emit(&Event::Warning { message });
            }
        }
        if g + 1 >= self.cfg.steps {
            self.store.mark_complete()?;
        } else {
            self.plan_next_generation(g, trials)?;
        }
        self.collect_garbage(g)
    }

    /// Runs one leased trial, renewing the lease while it trains, and records its outcome:
    /// the new status, or `None` if the lease was lost meanwhile. Errors of the task (and
    /// panics) are recorded in the store; only store/IO failures are returned.
    pub(super) fn run_trial(&self, trial: &Trial, me: &str) -> Result<Option<TrialStatus>> {
        let (g, slot) = (trial.spec.generation, trial.spec.slot);
        let started = Instant::now();
        let ttl = self.opts.lease_seconds;
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let result = std::thread::scope(|s| {
            s.spawn(move || {
                let every = std::time::Duration::from_secs_f64(ttl / 4.0);
                // Wakes at once when the step ends (the sender is dropped).
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    finished.recv_timeout(every)
                {
                    // A failed renewal is retried; the lease has three more quarters to go.
                    let _ = self.store.renew_lease(g, slot, me, ttl);
                }
            });
            let result = catch_unwind(AssertUnwindSafe(|| self.execute(trial, me)))
                .unwrap_or_else(|p| Err(anyhow!("panicked: {}", panic_message(&p))));
            drop(done);
            result
        });
        let outcome = match result {
            Ok((fitness, ckpt, mut metrics)) => {
                metrics.insert("time/step_s".into(), started.elapsed().as_secs_f64());
                Outcome::Done {
                    fitness,
                    ckpt,
                    metrics,
                }
            }
            Err(e) => {
                let error = format!("{e:#}");
                self.progress.emit(&Event::Error {
                    generation: g + 1,
                    slot,
                    error: error.clone(),
                });
                Outcome::Error(error)
            }
        };
        self.store
            .finish_trial(g, slot, me, &outcome, self.cfg.max_attempts)
    }

    /// Runs a leased step and stores its checkpoint: fitness, checkpoint hash, metrics.
    pub(super) fn execute(
        &self,
        trial: &Trial,
        me: &str,
    ) -> Result<(f64, String, pbtnas_task::Metrics)> {
        let (fitness, bytes, metrics) = self.produce(&trial.spec, Some(me), 0)?;
        let sha = self.ckpts.put(&bytes)?;
        Ok((fitness, sha, metrics))
    }

    /// Builds a member's starting state from its plan and inputs, trains and evaluates it:
    /// fitness, encoded checkpoint, metrics. `me` is the worker holding the step's lease (none
    /// when a step is redone to repair its checkpoint); `depth` counts nested repairs.
    pub(super) fn produce(
        &self,
        spec: &NewTrial,
        me: Option<&str>,
        depth: u32,
    ) -> Result<(f64, Vec<u8>, pbtnas_task::Metrics)> {
        let plan = &spec.plan;
        let task = self.task;
        let state =
            crate::start_state::start_state(task, spec, &|sha| self.load_input(sha, depth))?;
        let mut member = task.load(&plan.genome, state)?;
        let bar = self.progress.step_bar(format!(
            "gen {} slot {:>2}{}",
            spec.generation + 1,
            spec.slot,
            if me.is_none() { " (redo)" } else { "" }
        ));
        let ctx = StepContext {
            generation: spec.generation,
            slot: spec.slot,
            seed: spec.train_seed,
            artifacts: self.artifacts.clone(),
            progress: bar.progress(),
        };
        let trained = task.train_step(&mut member, &ctx);
        ctx.progress.evaluating();
        if let Some(me) = me {
            // Shown by `pbtnas status`; a failed write only loses that detail.
            let _ = self
                .store
                .set_phase(spec.generation, spec.slot, me, "evaluating");
        }
        let evaluated = trained.and_then(|m| Ok((m, task.evaluate(&mut member, &ctx)?)));
        self.progress.step_end(&bar);
        let (mut metrics, eval) = evaluated?;
        if eval.fitness.is_nan() {
            bail!("fitness is NaN");
        }
        metrics.extend(eval.metrics);
        let header = serde_json::json!({
            "genome": plan.genome.to_string(),
            "generation": spec.generation,
            "slot": spec.slot,
            "fitness": eval.fitness,
        });
        let bytes = encode(&task.save(&member)?, &header)?;
        Ok((eval.fitness, bytes, metrics))
    }
}

/// How often an idle worker looks whether the generation it waits for is finished.
const WAIT_POLL_MS: u64 = 25;

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
