//! `pbtnas export RUN --best`: the best-ever member for use outside the search: its architecture
//! as YAML and its weights as a plain safetensors file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use candle_core::{Device, Tensor};
use pbtnas_nn::checkpoint::decode;
use pbtnas_orchestrator::best::best_trial;
use pbtnas_orchestrator::checkpoints::Checkpoints;
use serde_json::json;

use crate::run_data::trial_id;
use crate::RunData;

/// The architecture file of a member: space, genome, and each gene's option and layers.
pub fn architecture_yaml(
    run: &RunData,
    trial: &pbtnas_orchestrator::store::Trial,
) -> Result<String> {
    let genome = &trial.spec.plan.genome;
    let genes: Vec<serde_json::Value> = run
        .space
        .genes
        .iter()
        .enumerate()
        .map(|(i, g)| json!({"gene": g.name, "option": run.space.option(genome, i), "positions": g.positions}))
        .collect();
    let cfg: serde_json::Value = serde_norway::from_str(&run.config_yaml).unwrap_or_default();
    let doc = json!({
        "run": run.dir.display().to_string(),
        "trial": trial_id(trial),
        "fitness": trial.fitness,
        "space": run.space.name,
        "space_id": run.space.id,
        "genome": genome.to_string(),
        "genes": genes,
        "task": cfg.get("task"),
    });
    Ok(serde_norway::to_string(&doc)?)
}

/// Writes `architecture.yaml`, `space.yaml` and `model.safetensors` (weights under their names,
/// shadows such as the EMA generator or the target critic under `shadow.<name>`, no optimizer
/// state or task data) of the best-ever member into `out`; returns the files written.
pub fn export_best(run: &RunData, out: &Path) -> Result<Vec<PathBuf>> {
    let best = best_trial(&run.trials)
        .ok_or_else(|| anyhow!("{} has no finished member yet", run.name()))?;
    let sha = best
        .ckpt
        .as_deref()
        .ok_or_else(|| anyhow!("the best member {} has no checkpoint", trial_id(best)))?;
    let ckpts = Checkpoints::of_run(&run.dir)?;
    let bytes = ckpts
        .get(sha)
        .with_context(|| format!("reading the checkpoint of {}", trial_id(best)))?;
    let (state, _) = decode(&bytes, &Device::Cpu)?;
    let mut tensors: Vec<(String, Tensor)> = state.weights.into_iter().collect();
    tensors.extend(
        state
            .shadows
            .into_iter()
            .map(|(n, t)| (format!("shadow.{n}"), t)),
    );
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let meta = HashMap::from([
        ("genome".to_string(), best.spec.plan.genome.to_string()),
        ("space_id".to_string(), run.space.id.clone()),
        ("trial".to_string(), trial_id(best)),
    ]);
    let files = [
        out.join("architecture.yaml"),
        out.join("space.yaml"),
        out.join("model.safetensors"),
    ];
    std::fs::write(&files[0], architecture_yaml(run, best)?)?;
    std::fs::write(&files[1], run.space.to_yaml())?;
    let tensors = tensors
        .into_iter()
        .map(|(n, t)| Ok((n, t.contiguous()?)))
        .collect::<candle_core::Result<Vec<_>>>()?;
    safetensors::serialize_to_file(tensors, Some(meta), &files[2])?;
    Ok(files.to_vec())
}
