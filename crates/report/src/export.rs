//! Flat exports of a run's store: `metrics.jsonl` (one line per trial and metric) and
//! `population.csv` (one row per trial), for pandas, spreadsheets and other tools.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use pbtnas_orchestrator::status::serde_name;
use pbtnas_orchestrator::store::describe_plan;
use serde_json::json;

use crate::history::donor_slot;
use crate::run_data::trial_id;
use crate::RunData;

/// `{"trial":"g003_s02","gen":3,"slot":2,"key":"fitness","value":-41.2}` lines: each trial's
/// fitness and every metric its step reported. `gen` is 1-based, as printed everywhere.
pub fn metrics_jsonl(run: &RunData) -> String {
    let mut out = String::new();
    for t in &run.trials {
        let fitness = t.fitness.map(|f| ("fitness".to_string(), f));
        for (key, value) in fitness.into_iter().chain(t.metrics.clone()) {
            let line = json!({
                "trial": trial_id(t),
                "gen": t.spec.generation + 1,
                "slot": t.spec.slot,
                "key": key,
                "value": value,
            });
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// Header of [`population_csv`].
pub const CSV_HEADER: &str = "generation,slot,trial,status,fitness,made_by,kind,parent,donor,\
donor_genes,genome,attempts,failures,train_seed,started_at,finished_at,checkpoint";

/// One row per trial: lineage, outcome and timing.
pub fn population_csv(run: &RunData) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for t in &run.trials {
        let p = &t.spec.plan;
        let genes: Vec<String> = p.replaced.iter().map(|g| g.to_string()).collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},\"{}\",{},{},{},\"{}\",\"{}\",{},{},{},{},{},{}",
            t.spec.generation + 1,
            t.spec.slot,
            trial_id(t),
            serde_name(&t.status),
            opt(t.fitness.map(|f| f.to_string())),
            describe_plan(&t.spec),
            serde_name(&p.kind),
            opt(p.parent.map(|s| s.to_string())),
            opt(donor_slot(t).map(|s| s.to_string())),
            genes.join(" "),
            p.genome,
            t.attempts,
            t.failures,
            t.spec.train_seed,
            opt(t.started_at.map(|s| format!("{s:.3}"))),
            opt(t.finished_at.map(|s| format!("{s:.3}"))),
            opt(t.ckpt.clone()),
        );
    }
    out
}

/// Writes both files into `dir`.
pub fn write(run: &RunData, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("metrics.jsonl"), metrics_jsonl(run))?;
    std::fs::write(dir.join("population.csv"), population_csv(run))?;
    Ok(())
}
