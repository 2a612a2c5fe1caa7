//! `pbtnas status`: the population table of a run's newest generation, and the whole lineage as
//! JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::runner::{best_trial, describe_plan, layout};
use crate::store::{SqliteStore, Store, Trial, TrialStatus};

/// A run's trials, read from its directory.
pub fn load(run_dir: &Path) -> Result<(Vec<Trial>, bool)> {
    let store = SqliteStore::open_existing(&run_dir.join(layout::STORE))?;
    Ok((store.all_trials()?, store.is_complete()?))
}

fn status_word(s: TrialStatus) -> &'static str {
    match s {
        TrialStatus::Pending => "pending",
        TrialStatus::Running => "training",
        TrialStatus::Done => "done",
        TrialStatus::Failed => "FAILED",
    }
}

/// The name serde gives a unit enum value (`child`, `done`).
pub fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The table of the newest generation: slot, genome, fitness, how it was made, state.
pub fn table(trials: &[Trial], complete: bool) -> String {
    let mut out = String::new();
    let Some(g) = trials.iter().map(|t| t.spec.generation).max() else {
        return "no generation yet\n".into();
    };
    let done = trials
        .iter()
        .filter(|t| t.spec.generation == g && t.status == TrialStatus::Done)
        .count();
    let n = trials.iter().filter(|t| t.spec.generation == g).count();
    let _ = writeln!(
        out,
        "generation {} ({done}/{n} done){}",
        g + 1,
        if complete { ", run complete" } else { "" }
    );
    let _ = writeln!(
        out,
        "{:>4}  {:<28} {:>12}  {:<10} {:>6} {:>6}  {:<8} donor genes",
        "slot", "genome", "fitness", "made by", "parent", "donor", "state"
    );
    for t in trials.iter().filter(|t| t.spec.generation == g) {
        let p = &t.spec.plan;
        let fitness = t.fitness.map_or("-".into(), |f| format!("{f:.5}"));
        let opt = |v: Option<usize>| v.map_or("-".to_string(), |s| s.to_string());
        let donor = match p.donor {
            Some(crate::strategy::WeightSource::Slot(d)) => d.to_string(),
            Some(crate::strategy::WeightSource::Fresh) => "fresh".into(),
            None => "-".into(),
        };
        let genes: Vec<String> = p.replaced.iter().map(|g| g.to_string()).collect();
        let kind = serde_name(&p.kind);
        let _ = writeln!(
            out,
            "{:>4}  {:<28} {:>12}  {:<10} {:>6} {:>6}  {:<8} {}",
            t.spec.slot,
            p.genome.to_string(),
            fitness,
            kind,
            opt(p.parent),
            donor,
            status_word(t.status),
            genes.join(",")
        );
    }
    if let Some(b) = best_trial(trials) {
        let _ = writeln!(
            out,
            "best ever: fitness {:.5} at generation {} slot {} ({}), genome {}",
            b.fitness.unwrap_or(f64::NAN),
            b.spec.generation + 1,
            b.spec.slot,
            describe_plan(&b.spec),
            b.spec.plan.genome
        );
    }
    out
}

/// The whole run as JSON: every trial with its plan, lineage and outcome (no timestamps).
pub fn to_json(trials: &[Trial], complete: bool) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = trials
        .iter()
        .map(|t| {
            json!({
                "generation": t.spec.generation,
                "slot": t.spec.slot,
                "genome": t.spec.plan.genome.to_string(),
                "plan": t.spec.plan,
                "origin": t.spec.origin,
                "train_seed": t.spec.train_seed,
                "status": t.status,
                "attempts": t.attempts,
                "fitness": t.fitness,
                "checkpoint": t.ckpt,
            })
        })
        .collect();
    json!({"complete": complete, "trials": rows})
}
