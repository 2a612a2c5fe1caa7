//! `pbtnas eval RUN_DIR`: the best-ever member of a run, evaluated as the paper reports its task
//! (the task kind's final evaluation: GAN FID-50k with IS, RL the return over episodes); the
//! result also goes to `RUN_DIR/eval.json` (or `eval_<metric>.json`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use pbtnas_genome::SearchSpace;
use pbtnas_nn::MemberState;
use pbtnas_orchestrator::best::{best_member, BestMember};
use pbtnas_orchestrator::checkpoints::Checkpoints;
use pbtnas_orchestrator::progress::CountReporter;
use pbtnas_orchestrator::run_dir::RunDir;
use pbtnas_orchestrator::start_state::start_state;
use pbtnas_orchestrator::{status, RunConfig};
use pbtnas_task::{EvalArgs, EvalMember, StepProgress};

use crate::tasks;

pub fn run(run_dir: &Path, args: &EvalArgs, device: &str) -> Result<()> {
    let mut cfg = RunConfig::from_file(&RunDir(run_dir).config())
        .with_context(|| format!("{} is not a run directory", run_dir.display()))?;
    let kind = tasks::kind_of(&cfg)?;
    let (trials, _) = status::load(run_dir)?;
    let best = best_member(&trials, cfg.untrained_best_ever())
        .context("the run has no evaluated member yet")?;
    let device = pbtnas_nn::parse_device(device)?;
    cfg.space = Some(RunDir(run_dir).space());
    let state = model_state(run_dir, &cfg, best, &device)?;
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

/// The model of a run's best-ever member `best`, on the CPU: a trained step's checkpoint, or (the
/// SEARL quirk) an untrained child's start state, rebuilt from its step's inputs by the run's
/// task. `pbtnas eval` evaluates it and `pbtnas export` writes it. `cfg.space` names the run's
/// saved space.
pub fn model_state(
    run_dir: &Path,
    cfg: &RunConfig,
    best: BestMember,
    device: &candle_core::Device,
) -> Result<MemberState> {
    let ckpts = Checkpoints::open(cfg.checkpoints.location.as_deref(), run_dir)?;
    let read = |sha: &str| -> Result<MemberState> {
        Ok(pbtnas_nn::checkpoint::decode(&ckpts.get(sha)?, &candle_core::Device::Cpu)?.0)
    };
    match best {
        BestMember::Trained(t) => read(
            t.ckpt
                .as_deref()
                .context("the best member has no checkpoint")?,
        ),
        BestMember::Untrained { child, .. } => {
            let task = tasks::build(tasks::kind_of(cfg)?, cfg, device)?;
            start_state(&task, &child.spec, &read)
        }
    }
}
