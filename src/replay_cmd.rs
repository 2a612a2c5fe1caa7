//! `pbtnas replay`: one member retrained from scratch along a searched member's line, to see how
//! much of its fitness the search's weight inheritance gave it.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use pbtnas_orchestrator::config::ExploitSchedule;
use pbtnas_orchestrator::run_dir::RunDir;
use pbtnas_orchestrator::strategy::replay::Replay;
use pbtnas_orchestrator::{RunConfig, RunSummary, StrategyConfig};
use pbtnas_report::history::{ancestry, fitness};
use pbtnas_report::run_data::trial_id;
use pbtnas_report::RunData;

/// Builds the replay config of `trial` (default: the best-ever member) of the run in `run_dir`,
/// runs it with `launch`, and prints the replay's fitness beside the line's, step by step.
pub fn run(
    run_dir: &Path,
    trial: Option<&str>,
    final_only: bool,
    out: Option<PathBuf>,
    launch: impl FnOnce(&RunConfig, &Path) -> Result<RunSummary>,
) -> Result<()> {
    let data = RunData::load(run_dir)?;
    let tip = match trial {
        Some(id) => data
            .trials
            .iter()
            .find(|t| trial_id(t) == id)
            .ok_or_else(|| {
                anyhow!(
                    "{} has no trial {id} (ids look like g006_s03)",
                    run_dir.display()
                )
            })?,
        // The best line: for the SEARL quirk's untrained best, its parent's.
        None => data
            .best()
            .map(|b| b.rated())
            .ok_or_else(|| anyhow!("{} has no finished member", run_dir.display()))?,
    };
    let id = trial_id(tip);
    let line = ancestry(&data, tip);
    let steps = tip.spec.generation + 1;
    if line.len() != steps as usize {
        bail!(
            "the line of {id} is broken: {} of its {steps} steps are in the store",
            line.len()
        );
    }
    let schedule: Vec<String> = if final_only {
        vec![tip.spec.plan.genome.to_string(); steps as usize]
    } else {
        line.iter()
            .map(|t| t.spec.plan.genome.to_string())
            .collect()
    };
    let mut cfg = RunDir(run_dir).saved_config(&[])?;
    let suffix = if final_only { "-final" } else { "" };
    cfg.name = format!("{}-replay-{id}{suffix}", cfg.name);
    cfg.population = 1;
    cfg.steps = steps;
    cfg.workers = None;
    cfg.exploit = ExploitSchedule::default();
    cfg.strategy = StrategyConfig::Replay(Replay { schedule });
    let dir = out.unwrap_or_else(|| run_dir.join(format!("replay-{id}{suffix}")));
    launch(&cfg, &dir)?;

    let replay = RunData::load(&dir)?;
    println!("generation  searched line ({id})  replay as one model");
    for (g, t) in line.iter().enumerate() {
        let show = |v: Option<f64>| v.map_or("-".to_string(), |f| format!("{f:.5}"));
        let r = replay.trial(g as u32, 0).and_then(fitness);
        println!("{:>10}  {:>22}  {:>19}", g + 1, show(fitness(t)), show(r));
    }
    Ok(())
}
