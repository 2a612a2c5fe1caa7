//! [`TaskKind`]: a kind of task as the binary's list of tasks holds it: its name, its default
//! space, how it is built from its config section, and its paper-style final evaluation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use candle_core::Device;
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::MemberState;

use crate::erased::AnyTask;
use crate::progress::StepProgress;

/// What a task is built with besides its config section and space.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    pub device: &'a Device,
    /// The run's population (a task may share state across it: RL's shared replay pool).
    pub population: usize,
}

/// The arguments of `pbtnas eval` (each task reads those it knows).
#[derive(Debug, Clone)]
pub struct EvalArgs {
    /// GAN: generated images.
    pub samples: usize,
    /// RL: evaluation episodes.
    pub episodes: usize,
    /// Seed of the generator noise or of the evaluation episodes.
    pub seed: u64,
    /// GAN: `fid`, `fd-dinov2`, `fd-classifier`, `fd-pixels8`.
    pub metric: String,
    /// GAN: `paper` or `same-samples` (how the Inception Score is computed).
    pub is_protocol: String,
    /// GAN FID: reference statistics instead of the config's.
    pub ref_stats: Option<PathBuf>,
    /// GAN FID: the SHA-256 the reference statistics must have.
    pub ref_stats_sha256: Option<String>,
}

/// The member a final evaluation is of: the run's best-ever.
pub struct EvalMember<'a> {
    pub genome: &'a Genome,
    /// Its model state, on the CPU.
    pub state: MemberState,
    /// The best last fitness of the run's final population (the paper's RL score).
    pub final_best: f64,
    pub run_dir: &'a Path,
    /// Where the evaluation reports how far it is.
    pub progress: StepProgress,
}

/// What a final evaluation found.
#[derive(Debug, Clone)]
pub struct FinalEval {
    /// Written to `RUN_DIR/<file>`.
    pub result: serde_json::Value,
    /// `eval.json`, or a file of its own for a metric beside the paper's.
    pub file: String,
    /// One line for the terminal.
    pub line: String,
}

/// A kind of task: the entry a task crate adds to the binary's list of tasks.
pub trait TaskKind: Sync {
    /// The config's `task.kind`.
    fn name(&self) -> &'static str;

    /// The search space when the config names none.
    fn default_space(&self) -> SearchSpace;

    /// The task of a run, from its config section (`task:`) and space.
    fn build(
        &self,
        section: &serde_json::Value,
        space: SearchSpace,
        ctx: &BuildContext,
    ) -> Result<AnyTask>;

    /// `pbtnas eval`: the member evaluated as the paper reports the task.
    fn final_eval(
        &self,
        _section: &serde_json::Value,
        _space: SearchSpace,
        _device: &Device,
        _member: EvalMember,
        _args: &EvalArgs,
    ) -> Result<FinalEval> {
        bail!(
            "the {} task has no final evaluation: its fitness is in `pbtnas status`",
            self.name()
        )
    }
}

/// The kind named `name` in `kinds`, or an error listing them.
pub fn find<'a>(kinds: &[&'a dyn TaskKind], name: &str) -> Result<&'a dyn TaskKind> {
    match kinds.iter().find(|k| k.name() == name) {
        Some(k) => Ok(*k),
        None => {
            let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            bail!(
                "unknown task kind '{name}' (available: {})",
                names.join(", ")
            )
        }
    }
}
