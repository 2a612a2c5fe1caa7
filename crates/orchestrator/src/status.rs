//! `pbtnas status`: the population table of a run's newest generation, and the whole lineage as
//! JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::best::best_member;
use crate::progress::human_duration;
use crate::run_dir::RunDir;
use crate::store::{describe_plan, Trial, TrialStatus};

/// A run's trials, read from its directory.
pub fn load(run_dir: &Path) -> Result<(Vec<Trial>, bool)> {
    let store = crate::store::open_existing(run_dir)?;
    Ok((store.all_trials()?, store.is_complete()?))
}

fn status_word(t: &Trial) -> &'static str {
    match t.status {
        TrialStatus::Pending => "pending",
        TrialStatus::Running if t.phase.as_deref() == Some("evaluating") => "evaluating",
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

/// The run's planned number of steps, from its saved config.
pub fn planned_steps(run_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(RunDir(run_dir).config()).ok()?;
    let cfg: serde_norway::Value = serde_norway::from_str(&text).ok()?;
    cfg.get("steps")?.as_u64().map(|s| s as u32)
}

/// A worker id without this host's name: `pid:thread` here, `host:pid:thread` elsewhere.
fn short_worker(worker: &str) -> String {
    worker
        .strip_prefix(&format!("{}:", crate::runner::hostname()))
        .unwrap_or(worker)
        .to_string()
}

/// How long a trial took, or has been running.
fn duration(t: &Trial, now: f64) -> String {
    match (t.status, t.started_at, t.finished_at) {
        (TrialStatus::Done | TrialStatus::Failed, Some(s), Some(f)) => human_duration(f - s),
        (TrialStatus::Running, Some(s), _) => format!("{} so far", human_duration(now - s)),
        _ => "-".into(),
    }
}

/// Median of the values (mean of the two middle ones for an even count), as the progress line,
/// `status` and the report print it.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(0.5 * (v[n / 2 - 1] + v[n / 2])),
    }
}

/// The time left for the member-steps not done, at the pace so far: mean step time divided by
/// the members trained at once (busy time over wall time).
pub fn eta(trials: &[Trial], steps: u32, population: usize) -> Option<String> {
    let done: Vec<(f64, f64)> = trials
        .iter()
        .filter(|t| t.status == TrialStatus::Done)
        .filter_map(|t| Some((t.started_at?, t.finished_at?)))
        .collect();
    let first = done.iter().map(|d| d.0).fold(f64::INFINITY, f64::min);
    let last = done.iter().map(|d| d.1).fold(f64::NEG_INFINITY, f64::max);
    if done.is_empty() || last <= first {
        return None;
    }
    let busy: f64 = done.iter().map(|(s, f)| f - s).sum();
    let mean = busy / done.len() as f64;
    let at_once = (busy / (last - first)).max(1.0);
    let finished = trials
        .iter()
        .filter(|t| matches!(t.status, TrialStatus::Done | TrialStatus::Failed))
        .count();
    let left = (steps as usize * population).saturating_sub(finished);
    Some(format!(
        "ETA {} for {left} member-steps ({} each, ~{at_once:.1} at once)",
        human_duration(left as f64 * mean / at_once),
        human_duration(mean)
    ))
}

/// The table of the newest generation: slot, genome, fitness, how it was made, state, time;
/// with the planned `steps`, an ETA line while the run is not complete.
pub fn table(
    trials: &[Trial],
    complete: bool,
    steps: Option<u32>,
    untrained_best_ever: bool,
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
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
        "{:>4}  {:<28} {:>12}  {:<10} {:>6} {:>6}  {:<8} {:>12}  {:<12} donor genes",
        "slot", "genome", "fitness", "made by", "parent", "donor", "state", "time", "worker"
    );
    for t in trials.iter().filter(|t| t.spec.generation == g) {
        let p = &t.spec.plan;
        let fitness = t.fitness.map_or("-".into(), |f| format!("{f:.5}"));
        let opt = |v: Option<usize>| v.map_or("-".to_string(), |s| s.to_string());
        let donor = match p.donor {
            Some(pbtnas_task::WeightSource::Slot(d)) => d.to_string(),
            Some(pbtnas_task::WeightSource::Fresh) => "fresh".into(),
            None => "-".into(),
        };
        let genes: Vec<String> = p.replaced.iter().map(|g| g.to_string()).collect();
        let kind = serde_name(&p.kind);
        let _ = writeln!(
            out,
            "{:>4}  {:<28} {:>12}  {:<10} {:>6} {:>6}  {:<8} {:>12}  {:<12} {}",
            t.spec.slot,
            p.genome.to_string(),
            fitness,
            kind,
            opt(p.parent),
            donor,
            status_word(t),
            duration(t, now),
            t.worker.as_deref().map_or("-".into(), short_worker),
            genes.join(",")
        );
    }
    if let (false, Some(steps)) = (complete, steps) {
        let line =
            eta(trials, steps, n).unwrap_or_else(|| "ETA after the first member-step".into());
        let _ = writeln!(out, "{line}");
    }
    if let Some(b) = best_member(trials, untrained_best_ever) {
        let t = b.trial();
        let _ = writeln!(
            out,
            "best ever: fitness {:.5} at {} ({}), genome {}",
            b.fitness(),
            b.describe(),
            describe_plan(&t.spec),
            t.spec.plan.genome
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
                "parent_checkpoint": t.spec.parent_ckpt,
                "donor_checkpoint": t.spec.donor_ckpt,
                "worker": t.worker,
                "phase": t.phase,
            })
        })
        .collect();
    json!({"complete": complete, "trials": rows})
}
