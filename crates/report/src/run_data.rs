//! A run as read from its directory: trials, search space and config.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::best::{best_member, BestMember};
use pbtnas_orchestrator::run_dir::RunDir;
use pbtnas_orchestrator::status;
use pbtnas_orchestrator::store::Trial;
use pbtnas_orchestrator::RunConfig;

/// Everything a report needs from a run directory.
pub struct RunData {
    pub dir: PathBuf,
    /// Every trial, by generation then slot.
    pub trials: Vec<Trial>,
    pub complete: bool,
    pub space: SearchSpace,
    /// `config.yaml` as saved with the run.
    pub config_yaml: String,
    /// The run's best-ever rule ([`pbtnas_orchestrator::best`]): the SEARL quirk or not.
    pub untrained_best_ever: bool,
}

impl RunData {
    /// Reads a run directory (a running run too: it sees the trials committed so far).
    pub fn load(dir: &Path) -> Result<Self> {
        let (trials, complete) = status::load(dir)?;
        let space = SearchSpace::from_file(RunDir(dir).space())
            .with_context(|| format!("reading the search space of {}", dir.display()))?;
        let config_yaml = std::fs::read_to_string(RunDir(dir).config()).unwrap_or_default();
        let untrained_best_ever =
            RunConfig::from_yaml(&config_yaml).is_ok_and(|c| c.untrained_best_ever());
        Ok(Self {
            dir: dir.to_path_buf(),
            trials,
            complete,
            space,
            config_yaml,
            untrained_best_ever,
        })
    }

    /// The best-ever member, by the run's rule.
    pub fn best(&self) -> Option<BestMember<'_>> {
        best_member(&self.trials, self.untrained_best_ever)
    }

    /// The run's name: its directory's.
    pub fn name(&self) -> String {
        self.dir.file_name().map_or_else(
            || self.dir.display().to_string(),
            |n| n.to_string_lossy().into(),
        )
    }

    /// Number of generations that have trials.
    pub fn generations(&self) -> u32 {
        self.trials
            .iter()
            .map(|t| t.spec.generation + 1)
            .max()
            .unwrap_or(0)
    }

    /// Population size.
    pub fn population(&self) -> usize {
        self.trials
            .iter()
            .map(|t| t.spec.slot + 1)
            .max()
            .unwrap_or(0)
    }

    /// The trial at (generation, slot).
    pub fn trial(&self, generation: u32, slot: usize) -> Option<&Trial> {
        self.trials
            .iter()
            .find(|t| t.spec.generation == generation && t.spec.slot == slot)
    }
}

/// `g003_s02`: a trial's stable id (1-based generation, as printed everywhere).
pub fn trial_id(t: &Trial) -> String {
    format!("g{:03}_s{:02}", t.spec.generation + 1, t.spec.slot)
}
