//! `pbtnas eval RUN_DIR`: FID and IS of a GAN run's best-ever member as the paper reports them
//! (50k samples of the EMA generator; FID against the training set's Inception statistics, IS
//! when the weights have the classifier head), with progress and an ETA; the result also goes
//! to `RUN_DIR/eval.json`.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use pbtnas_gan::GanTask;
use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::checkpoints::CheckpointDir;
use pbtnas_orchestrator::runner::layout;
use pbtnas_orchestrator::{status, RunConfig, Task};

pub fn run(run_dir: &Path, samples: usize, seed: u64, device: &str) -> Result<()> {
    let cfg = RunConfig::from_file(&run_dir.join(layout::CONFIG))
        .with_context(|| format!("{} is not a run directory", run_dir.display()))?;
    if cfg.task_kind()? != "gan" {
        bail!(
            "pbtnas eval computes GAN metrics; this run's task is {}",
            cfg.task_kind()?
        );
    }
    let (trials, _) = status::load(run_dir)?;
    let best = trials
        .iter()
        .filter(|t| t.fitness.is_some_and(f64::is_finite) && t.ckpt.is_some())
        .max_by(|a, b| a.fitness.partial_cmp(&b.fitness).expect("finite"))
        .context("the run has no evaluated member with a checkpoint yet")?;
    let device = pbtnas_nn::parse_device(device)?;
    let space = SearchSpace::from_file(&run_dir.join(layout::SPACE))?;
    let mut section = cfg.task.clone();
    section["fitness"] = "fid".into();
    let task = GanTask::new(&section, space, &device)?;
    let ckpts = CheckpointDir::open(run_dir.join(layout::CHECKPOINTS))?;
    let sha = best.ckpt.as_deref().expect("filtered");
    let (state, _) = pbtnas_nn::checkpoint::decode(&ckpts.get(sha)?, &device)?;
    let member = task.load(&best.spec.plan.genome, state)?;
    let (g, slot) = (best.spec.generation + 1, best.spec.slot);
    eprintln!(
        "best member: generation {g}, slot {slot}, fitness {:.5}; FID over {samples} samples",
        best.fitness.expect("filtered")
    );
    let started = Instant::now();
    let (fid, is) = task.sample_metrics(&member, samples, seed, |done| {
        let rate = done as f64 / started.elapsed().as_secs_f64();
        eprint!(
            "\r  {done}/{samples} images, {rate:.1}/s, ETA {:.0} s   ",
            (samples - done) as f64 / rate
        );
    })?;
    eprintln!();
    let result = serde_json::json!({
        "generation": g, "slot": slot, "genome": best.spec.plan.genome.to_string(),
        "fitness": best.fitness, "fid": fid, "samples": samples, "seed": seed,
        "inception_score": is.map(|(mean, std)| serde_json::json!({"mean": mean, "std": std, "splits": samples.min(10)})),
        "seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(
        run_dir.join("eval.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    let is = match is {
        Some((mean, std)) => format!(", IS {mean:.3} ± {std:.3}"),
        None => {
            ", no IS (the Inception weights have no classifier head: import pt_inception)".into()
        }
    };
    println!(
        "FID-{samples} {fid:.4}{is} (generation {g}, slot {slot}); written to {}",
        run_dir.join("eval.json").display()
    );
    Ok(())
}
