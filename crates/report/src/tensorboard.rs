//! TensorBoard files of a run, derived from its store, so `tensorboard --logdir RUN_DIR` works:
//!
//! - `tensorboard/population`: `fitness/best`, `fitness/median`, `fitness/best_so_far`;
//! - `tensorboard/members/slot_XX`: what ran in slot XX each generation (fitness and every
//!   metric), with `exploited` = 1 where the slot got a new member, so a jump is visibly one;
//! - `tensorboard/lineage/gGGG_sSS`: for each member of the newest finished generation, the
//!   stitched history of the members it continues (parent edges), the curve Ray Tune users ask
//!   for. Lineages of older generations are removed when a newer one finishes.
//!
//! The step axis is the 1-based generation; wall time is when the trial finished. Files grow by
//! appending while a run goes on, so a live TensorBoard follows it.

use std::path::Path;

use anyhow::Result;
use pbtnas_orchestrator::store::{Trial, TrialStatus};
use pbtnas_orchestrator::PlanKind;

use crate::history::{ancestry, fitness_series};
use crate::run_data::trial_id;
use crate::tfevents::EventFile;
use crate::RunData;

/// The file name used in every TensorBoard run folder.
pub const EVENTS: &str = "events.out.tfevents.0.pbtnas";

fn wall(t: &Trial) -> f64 {
    t.finished_at.or(t.started_at).unwrap_or(0.0)
}

fn trial_scalars(f: &mut EventFile, t: &Trial, step: i64) {
    if t.status != TrialStatus::Done {
        return;
    }
    if let Some(fit) = t.fitness {
        f.scalar("fitness", step, wall(t), fit as f32);
    }
    for (k, v) in &t.metrics {
        f.scalar(&format!("metrics/{k}"), step, wall(t), *v as f32);
    }
}

/// Writes (or brings up to date) every TensorBoard file of the run under `dir`.
pub fn write(run: &RunData, dir: &Path) -> Result<()> {
    let start = run
        .trials
        .iter()
        .filter_map(|t| t.started_at)
        .fold(f64::MAX, f64::min);
    let start = if start == f64::MAX { 0.0 } else { start };

    let series = fitness_series(run);
    let mut pop = EventFile::new(start);
    for g in 0..run.generations() {
        let done = run
            .trials
            .iter()
            .filter(|t| t.spec.generation == g)
            .all(|t| matches!(t.status, TrialStatus::Done | TrialStatus::Failed));
        if !done {
            break;
        }
        let w = run
            .trials
            .iter()
            .filter(|t| t.spec.generation == g)
            .map(wall)
            .fold(0.0, f64::max);
        let step = g as i64 + 1;
        let gi = g as usize;
        for (tag, v) in [
            ("fitness/best", series.best[gi]),
            ("fitness/median", series.median[gi]),
            ("fitness/best_so_far", series.best_so_far[gi]),
        ] {
            if let Some(v) = v {
                pop.scalar(tag, step, w, v as f32);
            }
        }
    }
    pop.sync(&dir.join("population").join(EVENTS))?;

    for slot in 0..run.population() {
        let mut f = EventFile::new(start);
        for t in run.trials.iter().filter(|t| t.spec.slot == slot) {
            if t.status != TrialStatus::Done {
                break;
            }
            let step = t.spec.generation as i64 + 1;
            trial_scalars(&mut f, t, step);
            let new = !matches!(t.spec.plan.kind, PlanKind::Survivor | PlanKind::Init);
            f.scalar("exploited", step, wall(t), new as u8 as f32);
        }
        f.sync(
            &dir.join("members")
                .join(format!("slot_{slot:02}"))
                .join(EVENTS),
        )?;
    }

    let finished = (0..run.generations()).rev().find(|&g| {
        let gen: Vec<&Trial> = run
            .trials
            .iter()
            .filter(|t| t.spec.generation == g)
            .collect();
        !gen.is_empty() && gen.iter().all(|t| t.status == TrialStatus::Done)
    });
    let lineage_dir = dir.join("lineage");
    if let Some(g) = finished {
        let tips: Vec<&Trial> = run
            .trials
            .iter()
            .filter(|t| t.spec.generation == g)
            .collect();
        let names: Vec<String> = tips.iter().map(|t| trial_id(t)).collect();
        for tip in tips {
            let mut f = EventFile::new(start);
            for t in ancestry(run, tip) {
                trial_scalars(&mut f, t, t.spec.generation as i64 + 1);
            }
            f.sync(&lineage_dir.join(trial_id(tip)).join(EVENTS))?;
        }
        if let Ok(entries) = std::fs::read_dir(&lineage_dir) {
            for e in entries.flatten() {
                if !names.contains(&e.file_name().to_string_lossy().to_string()) {
                    std::fs::remove_dir_all(e.path())?;
                }
            }
        }
    }
    Ok(())
}
