//! An experiment: a grid of runs (entries × seeds), the unit of every table in the paper.
//!
//! The file names the entries (a config each, with optional `--set`-style overrides), the seeds,
//! the score compared and its direction, the baseline of the significance tests and an optional
//! final evaluation. Each run is an ordinary run directory, `EXP_DIR/<entry>/seed<seed>`, so
//! `status`, `report`, `eval` and `replay` work on it unchanged.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The experiment file as saved in the experiment directory (config paths made absolute).
pub const FILE: &str = "experiment.yaml";

/// The paper's seeds.
pub const PAPER_SEEDS: [u64; 3] = [31173, 31174, 31175];

/// One row of the table: a config and its overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    /// Config file, relative to the experiment file.
    pub config: PathBuf,
    /// Overrides, as `pbtnas run --set` takes them.
    #[serde(default)]
    pub set: Vec<String>,
}

/// `pbtnas eval` after each run, with these arguments (e.g. `[--samples, "50000"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalEval {
    #[serde(default)]
    pub args: Vec<String>,
}

/// An experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    #[serde(default = "paper_seeds")]
    pub seeds: Vec<u64>,
    /// `best`, `final-best`, `final-median` or `eval:<key>` (as `pbtnas compare --score`).
    #[serde(default = "best")]
    pub score: String,
    #[serde(default)]
    pub lower_is_better: bool,
    /// The entry every other one is tested against; default the first.
    #[serde(default)]
    pub baseline: Option<String>,
    #[serde(default)]
    pub final_eval: Option<FinalEval>,
    pub entries: Vec<Entry>,
}

fn paper_seeds() -> Vec<u64> {
    PAPER_SEEDS.to_vec()
}

fn best() -> String {
    "best".into()
}

/// One run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub entry: String,
    pub seed: u64,
    pub config: PathBuf,
    /// The entry's overrides, then `seed=…` and the run's name, `<experiment>-<entry>-s<seed>`.
    pub overrides: Vec<String>,
    pub dir: PathBuf,
}

impl Experiment {
    /// Reads and checks an experiment file; config paths become relative to the working directory.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read experiment {}", path.display()))?;
        let mut e: Experiment = serde_norway::from_str(&text)
            .with_context(|| format!("in experiment {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for entry in &mut e.entries {
            if entry.config.is_relative() {
                entry.config = dir.join(&entry.config);
            }
        }
        e.validate()
            .with_context(|| format!("in experiment {}", path.display()))?;
        Ok(e)
    }

    fn validate(&self) -> Result<()> {
        let safe = |what: &str, s: &str| -> Result<()> {
            let ok = !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                bail!("{what} {s:?} must be letters, digits, '-', '_' or '.' (it names a folder)");
            }
            Ok(())
        };
        safe("name", &self.name)?;
        if self.entries.is_empty() {
            bail!("entries: an experiment needs at least one entry");
        }
        if self.seeds.is_empty() {
            bail!("seeds: an experiment needs at least one seed");
        }
        for (i, a) in self.seeds.iter().enumerate() {
            if self.seeds[..i].contains(a) {
                bail!("seeds: {a} is listed twice");
            }
        }
        for (i, e) in self.entries.iter().enumerate() {
            safe("entry name", &e.name)?;
            if self.entries[..i].iter().any(|o| o.name == e.name) {
                bail!("entries: the name {:?} is used twice", e.name);
            }
            for o in &e.set {
                if !o.contains('=') {
                    bail!(
                        "entry {:?}: override {o:?} is not of the form key.path=value",
                        e.name
                    );
                }
            }
        }
        if let Some(b) = &self.baseline {
            if !self.entries.iter().any(|e| &e.name == b) {
                bail!("baseline {b:?} is not an entry");
            }
        }
        let score_ok = matches!(self.score.as_str(), "best" | "final-best" | "final-median")
            || self
                .score
                .strip_prefix("eval:")
                .is_some_and(|k| !k.is_empty());
        if !score_ok {
            bail!(
                "score {:?}: use best, final-best, final-median or eval:<key>",
                self.score
            );
        }
        Ok(())
    }

    /// The baseline entry's name.
    pub fn baseline(&self) -> &str {
        self.baseline
            .as_deref()
            .unwrap_or(self.entries[0].name.as_str())
    }

    /// Every run, seed by seed (each seed's runs of every entry before the next seed), so that an
    /// interrupted or partly finished experiment has results for every entry.
    pub fn runs(&self, exp_dir: &Path) -> Vec<PlannedRun> {
        let mut out = Vec::new();
        for &seed in &self.seeds {
            for e in &self.entries {
                // A run name of its own: a PostgreSQL store holds every run of the experiment.
                let mut overrides = e.set.clone();
                overrides.push(format!("seed={seed}"));
                overrides.push(format!("name={}-{}-s{seed}", self.name, e.name));
                out.push(PlannedRun {
                    entry: e.name.clone(),
                    seed,
                    config: e.config.clone(),
                    overrides,
                    dir: run_dir(exp_dir, &e.name, seed),
                });
            }
        }
        out
    }

    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).expect("an experiment serialises")
    }

    /// Saves the experiment into its directory (config paths absolute), or checks that the one
    /// saved there is the same experiment.
    pub fn save_or_check(&self, exp_dir: &Path) -> Result<()> {
        let mut abs = self.clone();
        for e in &mut abs.entries {
            e.config = std::path::absolute(&e.config)?;
        }
        let path = exp_dir.join(FILE);
        if path.exists() {
            let saved = Self::load_saved(exp_dir)?;
            if saved != abs {
                bail!(
                    "{} holds another experiment ({}); use another --exp-dir",
                    exp_dir.display(),
                    path.display()
                );
            }
            return Ok(());
        }
        std::fs::create_dir_all(exp_dir)
            .with_context(|| format!("cannot create {}", exp_dir.display()))?;
        std::fs::write(&path, abs.to_yaml())?;
        Ok(())
    }

    /// The experiment saved in an experiment directory.
    pub fn load_saved(exp_dir: &Path) -> Result<Self> {
        let path = exp_dir.join(FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not an experiment directory (no {FILE}; start one with `pbtnas experiment run FILE`)",
                exp_dir.display()
            )
        })?;
        let e: Experiment =
            serde_norway::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        e.validate()?;
        Ok(e)
    }
}

/// The run directory of an entry's seed.
pub fn run_dir(exp_dir: &Path, entry: &str, seed: u64) -> PathBuf {
    exp_dir.join(entry).join(format!("seed{seed}"))
}
