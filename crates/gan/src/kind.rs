//! The GAN task's entry in the binary's list of tasks (`task.kind: gan`), with its final
//! evaluation: FID (with KID, IS and precision/recall/density/coverage), FD-DINOv2 or a CPU proxy
//! of the best member's EMA generator.

use std::time::Instant;

use anyhow::{bail, Result};
use candle_core::Device;
use pbtnas_genome::SearchSpace;
use pbtnas_task::{AnyTask, BuildContext, EvalArgs, EvalMember, FinalEval, Task, TaskKind};

use crate::{GanTask, IsProtocol};

/// `kind: gan`.
pub struct Gan;

impl TaskKind for Gan {
    fn name(&self) -> &'static str {
        "gan"
    }

    fn default_space(&self) -> SearchSpace {
        GanTask::default_space()
    }

    fn build(
        &self,
        section: &serde_json::Value,
        space: SearchSpace,
        ctx: &BuildContext,
    ) -> Result<AnyTask> {
        Ok(AnyTask::new(GanTask::new(section, space, ctx.device)?))
    }

    /// `args.metric` over `args.samples` images: FID (`eval.json`, with KID and IS as the
    /// paper), FD-DINOv2 or a CPU proxy (FD-classifier, FD-pixels8; `eval_<metric>.json`).
    fn final_eval(
        &self,
        section: &serde_json::Value,
        space: SearchSpace,
        device: &Device,
        member: EvalMember,
        args: &EvalArgs,
    ) -> Result<FinalEval> {
        let (samples, seed) = (args.samples, args.seed);
        let name = match args.metric.as_str() {
            "fid" => "FID",
            "fd-dinov2" => "FD-DINOv2",
            "fd-classifier" => "FD-classifier",
            "fd-pixels8" => "FD-pixels8",
            other => bail!("--metric is fid, fd-dinov2, fd-classifier or fd-pixels8, not {other}"),
        };
        let protocol = match args.is_protocol.as_str() {
            "paper" => IsProtocol::Paper,
            "same-samples" => IsProtocol::SameSamples,
            other => bail!("'{other}': the IS protocol is paper or same-samples"),
        };
        let mut section = section.clone();
        section["fitness"] = args.metric.as_str().into();
        if let Some(path) = &args.ref_stats {
            section["ref_stats"] = path.to_string_lossy().as_ref().into();
            section["ref_stats_sha256"] = serde_json::Value::Null;
        }
        if let Some(sha) = &args.ref_stats_sha256 {
            section["ref_stats_sha256"] = sha.as_str().into();
        }
        let task = GanTask::new(&section, space, device)?;
        let generator = task.load(member.genome, member.state.to_device(device)?)?;
        eprintln!("{name} over {samples} samples");
        let started = Instant::now();
        let is_images = match protocol {
            IsProtocol::Paper if name == "FID" => pbtnas_metrics::PAPER_IS_SAMPLES,
            _ => 0,
        };
        let total = (samples + is_images) as u64;
        let m = task.sample_metrics(&generator, samples, seed, true, protocol, |done| {
            member.progress.set(done as u64, total)
        })?;
        if name != "FID" {
            let mut result = serde_json::json!({"samples": samples,
                "seconds": started.elapsed().as_secs_f64()});
            let key = args.metric.replace('-', "_");
            result[key.as_str()] = m.distance.into();
            return Ok(FinalEval {
                result,
                file: format!("eval_{key}.json"),
                line: format!("{name}-{samples} {:.4}", m.distance),
            });
        }
        let result = serde_json::json!({
            "fid": m.distance, "samples": samples, "ref_stats_sha256": task.reference_sha256(),
            "inception_score": m.is.map(|(mean, std)| match protocol {
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
            None => ", no IS (the Inception weights have no classifier head: import pt_inception)"
                .into(),
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
        Ok(FinalEval {
            result,
            file: "eval.json".into(),
            line: format!("FID-{samples} {:.4}{is}{kid}{prdc}", m.distance),
        })
    }
}
