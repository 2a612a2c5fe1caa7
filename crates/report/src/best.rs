//! `pbtnas export RUN --best`: the best-ever member for use outside the search: its architecture
//! as YAML and its weights as a plain safetensors file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::Tensor;
use pbtnas_nn::MemberState;
use pbtnas_orchestrator::best::BestMember;
use serde_json::json;

use crate::run_data::trial_id;
use crate::RunData;

/// The architecture file of a member: space, genome, and each gene's option and layers.
pub fn architecture_yaml(run: &RunData, best: BestMember) -> Result<String> {
    let trial = best.trial();
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
        "fitness": best.fitness(),
        "model": best.describe(),
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
/// state or task data) of the best-ever member `best`, whose model is `state`, into `out`;
/// returns the files written.
pub fn export_best(
    run: &RunData,
    best: BestMember,
    state: MemberState,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    let trial = best.trial();
    let mut tensors: Vec<(String, Tensor)> = state.weights.into_iter().collect();
    tensors.extend(
        state
            .shadows
            .into_iter()
            .map(|(n, t)| (format!("shadow.{n}"), t)),
    );
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let meta = HashMap::from([
        ("genome".to_string(), trial.spec.plan.genome.to_string()),
        ("space_id".to_string(), run.space.id.clone()),
        ("trial".to_string(), trial_id(trial)),
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
