//! `pbtnas eval RUN_DIR`: the best-ever member of a run, evaluated as the paper reports its task
//! (the task kind's final evaluation: GAN FID-50k with IS, RL the return over episodes); the
//! result also goes to `RUN_DIR/eval.json` (or `eval_<metric>.json`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::best::{best_member, BestMember};
use pbtnas_orchestrator::progress::CountReporter;
use pbtnas_orchestrator::run_dir::RunDir;
use pbtnas_orchestrator::status;
use pbtnas_task::{EvalArgs, EvalMember, StepProgress};

use crate::{best_model, tasks};

pub fn run(run_dir: &Path, args: &EvalArgs, device: &str) -> Result<()> {
    let cfg = RunDir(run_dir).saved_config(&[])?;
    let kind = tasks::kind_of(&cfg)?;
    let (trials, _) = status::load(run_dir)?;
    let best = best_member(&trials, cfg.untrained_best_ever())
        .context("the run has no evaluated member yet")?;
    let device = pbtnas_nn::parse_device(device)?;
    let state = best_model::state(run_dir, &cfg, best, &device)?;
    let t = best.trial();
    let untrained = matches!(best, BestMember::Untrained { .. });
    let (g, slot) = (t.spec.generation + 1, t.spec.slot);
    eprintln!(
        "best member: {}, fitness {:.5}",
        best.describe(),
        best.fitness()
    );
    let last = trials.iter().map(|t| t.spec.generation).max().unwrap_or(0);
    let final_best = trials
        .iter()
        .filter(|t| t.spec.generation == last)
        .filter_map(|t| t.fitness)
        .fold(f64::NEG_INFINITY, f64::max);
    let member = EvalMember {
        genome: &t.spec.plan.genome,
        state,
        final_best,
        run_dir,
        progress: StepProgress::new(Arc::new(CountReporter::new("  evaluating"))),
    };
    let space = SearchSpace::from_file(RunDir(run_dir).space())?;
    let eval = kind.final_eval(&cfg.task, space, &device, member, args)?;
    let mut result = eval.result;
    let header = serde_json::json!({
        "generation": g, "slot": slot, "genome": t.spec.plan.genome.to_string(),
        "fitness": best.fitness(), "seed": args.seed, "untrained": untrained,
    });
    result
        .as_object_mut()
        .context("a final evaluation gives a JSON object")?
        .extend(header.as_object().expect("an object").clone());
    let file = run_dir.join(&eval.file);
    std::fs::write(&file, serde_json::to_string_pretty(&result)?)?;
    println!(
        "{} (generation {g}, slot {slot}); written to {}",
        eval.line,
        file.display()
    );
    Ok(())
}
