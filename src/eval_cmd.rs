//! `pbtnas eval RUN_DIR`: the best-ever member of a run, evaluated as the paper reports it; the
//! result also goes to `RUN_DIR/eval.json`. GAN: FID and IS over 50k samples of the EMA generator
//! (FID against the training set's Inception statistics or `--ref-stats`, IS when the weights
//! have the classifier head, KID and precision/recall/density/coverage against the real features
//! `ref-stats` keeps), with progress and an ETA. RL: the mean return of `episodes` deterministic episodes,
//! with a GIF of the first, next to the paper's score (the best last fitness of the final
//! population, not re-evaluated).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use pbtnas_gan::{GanTask, IsProtocol};
use pbtnas_genome::SearchSpace;
use pbtnas_nn::MemberState;
use pbtnas_orchestrator::best::{best_member, BestMember};
use pbtnas_orchestrator::checkpoints::Checkpoints;
use pbtnas_orchestrator::progress::count_bar;
use pbtnas_orchestrator::runner::layout;
use pbtnas_orchestrator::start_state::start_state;
use pbtnas_orchestrator::{status, RunConfig, Task};

/// What `pbtnas eval` is asked for.
pub struct EvalOptions {
    /// GAN: generated images.
    pub samples: usize,
    /// RL: evaluation episodes.
    pub episodes: usize,
    pub seed: u64,
    pub device: String,
    /// GAN: `fid` (with KID and IS) or `fd-dinov2`.
    pub metric: String,
    /// GAN: how the Inception Score is computed.
    pub is_protocol: IsProtocol,
    /// GAN FID: reference statistics instead of the config's or the data dir's.
    pub ref_stats: Option<std::path::PathBuf>,
    /// GAN FID: the SHA-256 the reference statistics file must have.
    pub ref_stats_sha256: Option<String>,
}

pub fn run(run_dir: &Path, opts: &EvalOptions) -> Result<()> {
    let cfg = RunConfig::from_file(&run_dir.join(layout::CONFIG))
        .with_context(|| format!("{} is not a run directory", run_dir.display()))?;
    let (trials, _) = status::load(run_dir)?;
    let best = best_member(&trials, cfg.untrained_best_ever())
        .context("the run has no evaluated member yet")?;
    let device = pbtnas_nn::parse_device(&opts.device)?;
    let space = SearchSpace::from_file(run_dir.join(layout::SPACE))?;
    let ckpts = Checkpoints::open(cfg.checkpoints.location.as_deref(), run_dir)?;
    let model = Model {
        best,
        ckpts: &ckpts,
        device: &device,
    };
    let t = best.trial();
    let (g, slot) = (t.spec.generation + 1, t.spec.slot);
    let header = serde_json::json!({
        "generation": g, "slot": slot, "genome": t.spec.plan.genome.to_string(),
        "fitness": best.fitness(), "seed": opts.seed,
        "untrained": matches!(best, BestMember::Untrained { .. }),
    });
    let kind = cfg.task_kind()?;
    let (result, line) = match kind {
        "gan" => gan(&cfg, space, &model, opts)?,
        "rl" => {
            let last = trials.iter().map(|t| t.spec.generation).max().unwrap_or(0);
            let paper_score = trials
                .iter()
                .filter(|t| t.spec.generation == last)
                .filter_map(|t| t.fitness)
                .fold(f64::NEG_INFINITY, f64::max);
            rl(&cfg, space, &model, opts, run_dir, paper_score)?
        }
        other => bail!("pbtnas eval knows the gan and rl tasks; this run's task is {other}"),
    };
    let mut result = result;
    result
        .as_object_mut()
        .expect("an object")
        .extend(header.as_object().expect("an object").clone());
    // FID keeps `eval.json`; another GAN metric gets its own file beside it.
    let file = match (kind, opts.metric.as_str()) {
        ("gan", m) if m != "fid" => run_dir.join(format!("eval_{}.json", m.replace('-', "_"))),
        _ => run_dir.join("eval.json"),
    };
    std::fs::write(&file, serde_json::to_string_pretty(&result)?)?;
    println!(
        "{line} (generation {g}, slot {slot}); written to {}",
        file.display()
    );
    Ok(())
}

/// The best-ever member's model, by [`best_member`]: a trained step's checkpoint, or (the
/// SEARL quirk) an untrained child's start state rebuilt from its step's inputs.
struct Model<'a> {
    best: BestMember<'a>,
    ckpts: &'a Checkpoints,
    device: &'a candle_core::Device,
}

impl Model<'_> {
    fn load<T: Task>(&self, task: &T) -> Result<T::Member> {
        let read = |sha: &str| -> Result<MemberState> {
            Ok(pbtnas_nn::checkpoint::decode(&self.ckpts.get(sha)?, &candle_core::Device::Cpu)?.0)
        };
        let t = self.best.trial();
        let state = match self.best {
            BestMember::Trained(t) => read(
                t.ckpt
                    .as_deref()
                    .context("the best member has no checkpoint")?,
            )?,
            BestMember::Untrained { child, .. } => start_state(task, &child.spec, &read)?,
        };
        let untrained = if matches!(self.best, BestMember::Untrained { .. }) {
            " (untrained SEARL child: the original's best-ever quirk)"
        } else {
            ""
        };
        eprintln!(
            "best member: generation {}, slot {}{untrained}, fitness {:.5}",
            t.spec.generation + 1,
            t.spec.slot,
            self.best.fitness()
        );
        task.load(&t.spec.plan.genome, state.to_device(self.device)?)
    }
}

/// The best member's mean return over `opts.episodes` episodes and a GIF of the first.
fn rl(
    cfg: &RunConfig,
    space: SearchSpace,
    model: &Model,
    opts: &EvalOptions,
    run_dir: &Path,
    paper_score: f64,
) -> Result<(serde_json::Value, String)> {
    let task = pbtnas_rl::RlTask::new(&cfg.task, space, model.device)?;
    let member = model.load(&task)?;
    eprintln!("{} episodes", opts.episodes);
    let started = Instant::now();
    let (returns, frames) =
        task.evaluate_returns(&member, opts.episodes.max(1), opts.seed, true)?;
    let gif = run_dir.join("eval.gif");
    pbtnas_env::video::write_gif(&frames, &gif, 40)?;
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let result = serde_json::json!({
        "return_mean": mean, "return_std": std, "returns": returns, "episodes": returns.len(),
        "paper_score": paper_score, "gif": gif, "seconds": started.elapsed().as_secs_f64(),
    });
    let line = format!(
        "return {mean:.1} ± {std:.1} over {} episodes, GIF {}; the paper's score (best last fitness of the final population) {paper_score:.1}",
        returns.len(),
        gif.display()
    );
    Ok((result, line))
}

/// FID (with KID and IS), FD-DINOv2 or a CPU proxy (FD-classifier, FD-pixels8) of the best
/// member's EMA generator over `samples` images.
fn gan(
    cfg: &RunConfig,
    space: SearchSpace,
    model: &Model,
    opts: &EvalOptions,
) -> Result<(serde_json::Value, String)> {
    let (samples, seed) = (opts.samples, opts.seed);
    let mut section = cfg.task.clone();
    let name = match opts.metric.as_str() {
        "fid" => "FID",
        "fd-dinov2" => "FD-DINOv2",
        "fd-classifier" => "FD-classifier",
        "fd-pixels8" => "FD-pixels8",
        other => bail!("--metric is fid, fd-dinov2, fd-classifier or fd-pixels8, not {other}"),
    };
    section["fitness"] = opts.metric.as_str().into();
    if let Some(path) = &opts.ref_stats {
        section["ref_stats"] = path.to_string_lossy().as_ref().into();
        section["ref_stats_sha256"] = serde_json::Value::Null;
    }
    if let Some(sha) = &opts.ref_stats_sha256 {
        section["ref_stats_sha256"] = sha.as_str().into();
    }
    let task = GanTask::new(&section, space, model.device)?;
    let member = model.load(&task)?;
    eprintln!("{name} over {samples} samples");
    let started = Instant::now();
    let is_images = match opts.is_protocol {
        IsProtocol::Paper if name == "FID" => pbtnas_metrics::PAPER_IS_SAMPLES,
        _ => 0,
    };
    let bar = count_bar(
        (samples + is_images) as u64,
        &format!(
            "  {name} images{}",
            if is_images > 0 { ", then IS" } else { "" }
        ),
    );
    let m = task.sample_metrics(&member, samples, seed, true, opts.is_protocol, |done| {
        bar.set_position(done as u64)
    })?;
    bar.finish();
    if name != "FID" {
        let mut result = serde_json::json!({"samples": samples,
            "seconds": started.elapsed().as_secs_f64()});
        result[opts.metric.replace('-', "_")] = m.distance.into();
        return Ok((result, format!("{name}-{samples} {:.4}", m.distance)));
    }
    let result = serde_json::json!({
        "fid": m.distance, "samples": samples, "ref_stats_sha256": task.reference_sha256(),
        "inception_score": m.is.map(|(mean, std)| match opts.is_protocol {
            IsProtocol::Paper => serde_json::json!({"mean": mean, "std": std, "splits": 10,
                "samples": pbtnas_metrics::PAPER_IS_SAMPLES, "protocol": "paper (torchmetrics, uint8, std ddof 1)"}),
            IsProtocol::SameSamples => serde_json::json!({"mean": mean, "std": std,
                "splits": samples.min(10), "samples": samples, "protocol": "same-samples (std ddof 0)"}),
        }),
        "kid": m.kid.map(|(mean, std)| serde_json::json!({"mean": mean, "std": std, "subsets": 100})),
        "prdc": m.prdc.map(|p| serde_json::json!({"precision": p.precision, "recall": p.recall,
            "density": p.density, "coverage": p.coverage, "k_precision_recall": 3,
            "k_density_coverage": 5})),
        "seconds": started.elapsed().as_secs_f64(),
    });
    let is = match m.is {
        Some((mean, std)) => format!(", IS {mean:.3} ± {std:.3}"),
        None => {
            ", no IS (the Inception weights have no classifier head: import pt_inception)".into()
        }
    };
    let kid = match m.kid {
        Some((mean, std)) => format!(", KID {mean:.5} ± {std:.5}"),
        None => {
            ", no KID (needs 2+ samples and the real features `pbtnas metrics ref-stats` keeps)"
                .into()
        }
    };
    let prdc = m
        .prdc
        .map(|p| {
            format!(
                ", precision {:.3}, recall {:.3}, density {:.3}, coverage {:.3}",
                p.precision, p.recall, p.density, p.coverage
            )
        })
        .unwrap_or_default();
    Ok((
        result,
        format!("FID-{samples} {:.4}{is}{kid}{prdc}", m.distance),
    ))
}
