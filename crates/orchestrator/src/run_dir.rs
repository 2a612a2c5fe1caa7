//! The layout of a run directory: where its store, saved config and space, checkpoints and
//! artifacts are. Everything that opens a run (runner, store, status, report, commands) finds
//! them here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::RunConfig;

/// A run directory.
#[derive(Debug, Clone, Copy)]
pub struct RunDir<'a>(pub &'a Path);

impl RunDir<'_> {
    /// The SQLite store (or, for a PostgreSQL run, the local file naming it).
    pub const STORE: &'static str = "pbtnas.sqlite";
    /// The checkpoints' default folder.
    pub const CHECKPOINTS: &'static str = "checkpoints";
    /// The run's config as saved (its identity and the settings later workers take).
    pub const CONFIG: &'static str = "config.yaml";
    /// The search space as saved.
    pub const SPACE: &'static str = "space.yaml";
    /// Sample grids, videos, probe outputs.
    pub const ARTIFACTS: &'static str = "artifacts";

    pub fn store(&self) -> PathBuf {
        self.0.join(Self::STORE)
    }

    pub fn config(&self) -> PathBuf {
        self.0.join(Self::CONFIG)
    }

    pub fn space(&self) -> PathBuf {
        self.0.join(Self::SPACE)
    }

    pub fn artifacts(&self) -> PathBuf {
        self.0.join(Self::ARTIFACTS)
    }

    /// The run's saved config with `overrides` (`--set`), over its saved space: what every
    /// command that continues or reads a run starts from.
    pub fn saved_config(&self, overrides: &[String]) -> Result<RunConfig> {
        let mut cfg = RunConfig::from_file_with(&self.config(), overrides)
            .with_context(|| format!("{} is not a run directory", self.0.display()))?;
        cfg.space = Some(self.space());
        Ok(cfg)
    }
}
