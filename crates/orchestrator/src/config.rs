//! The run configuration (YAML), saved with every run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use pbtnas_task::StrategyConfig;
use serde::{Deserialize, Serialize};

/// Everything that defines a run. The `task` section belongs to the task crate named by its
/// `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run name; the default run directory is `runs/<name>`.
    pub name: String,
    /// Base seed of every random decision and initialisation.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Number of members N.
    pub population: usize,
    /// PBT steps each member trains (generations).
    pub steps: u32,
    pub strategy: StrategyConfig,
    /// When to exploit; default: after every step but the last.
    #[serde(default)]
    pub exploit: ExploitSchedule,
    /// Members trained at once; default: the number of cores on the CPU, `members_per_gpu` on a
    /// GPU.
    #[serde(default)]
    pub workers: Option<usize>,
    /// Members sharing one GPU (the paper: 2).
    #[serde(default = "two")]
    pub members_per_gpu: usize,
    /// Tries of a member-step before it is marked failed (worst fitness).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default)]
    pub checkpoints: CheckpointPolicy,
    /// Search-space file (relative to this config file); default: the task's built-in space.
    #[serde(default)]
    pub space: Option<PathBuf>,
    /// The task's own section; `kind` picks the task.
    pub task: serde_json::Value,
}

fn default_seed() -> u64 {
    31173
}
/// Members per GPU in the paper's experiments.
pub const PAPER_MEMBERS_PER_GPU: usize = 2;
fn two() -> usize {
    PAPER_MEMBERS_PER_GPU
}
fn default_attempts() -> u32 {
    2
}

/// The largest population a config may ask for.
pub const MAX_POPULATION: usize = 10_000;

/// Refuses NaN and infinite numbers anywhere in a config (YAML's `.nan`, `.inf`), naming the key.
fn check_finite(v: &serde_norway::Value, key: &str) -> Result<()> {
    use serde_norway::Value;
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if !f.is_finite() => {
                bail!("{key} is {f}: every number in a config must be finite")
            }
            _ => Ok(()),
        },
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| check_finite(x, &format!("{key}[{i}]"))),
        Value::Mapping(m) => m.iter().try_for_each(|(k, x)| {
            let k = match k {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            };
            let path = if key.is_empty() {
                k
            } else {
                format!("{key}.{k}")
            };
            check_finite(x, &path)
        }),
        Value::Tagged(t) => check_finite(&t.value, key),
        _ => Ok(()),
    }
}

/// Exploit before step `s` (0-based) when `s % every == 0`, or when `s >= always_from`.
/// The paper's RL schedule (exploit every 200k frames before 1.5M, then every 100k, with steps of
/// 100k frames) is `every: 2, always_from: 15`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExploitSchedule {
    pub every: u32,
    pub always_from: Option<u32>,
}

impl Default for ExploitSchedule {
    fn default() -> Self {
        Self {
            every: 1,
            always_from: None,
        }
    }
}

impl ExploitSchedule {
    /// Whether to exploit between step `next - 1` and step `next`.
    pub fn exploit_before(&self, next: u32) -> bool {
        next.is_multiple_of(self.every.max(1)) || self.always_from.is_some_and(|a| next >= a)
    }
}

/// Where checkpoints are kept, and which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointPolicy {
    /// A folder (relative to the run directory; default `checkpoints`), a shared filesystem,
    /// or an object store URL: `s3://bucket/prefix`, `gs://…`, `az://…` (feature `cloud`;
    /// credentials and endpoint from `AWS_*` / `GOOGLE_*` / `AZURE_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Completed generations whose checkpoints are kept (at least 1: the current population),
    /// besides the inputs of the next generation and the best-ever member.
    pub keep_generations: u32,
    /// Keep the best-ever member's checkpoint.
    pub keep_best: bool,
    /// Keep every checkpoint (overrides the above).
    pub keep_all: bool,
    /// Keep the inputs of the current population's steps too, so that a checkpoint found
    /// corrupt or missing is recomputed by redoing its step (about twice the storage).
    pub keep_inputs: bool,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            location: None,
            keep_generations: 1,
            keep_best: true,
            keep_all: false,
            keep_inputs: true,
        }
    }
}

impl RunConfig {
    /// Whether the best-ever member follows the original's SEARL quirk ([`crate::best`]).
    pub fn untrained_best_ever(&self) -> bool {
        matches!(&self.strategy, StrategyConfig::Searl(s) if s.untrained_best_ever)
    }

    /// Reads a config file. A relative `space` path is resolved against the file's folder, and
    /// `extends: base.yaml` (relative to the file) starts from that config, deep-merging this
    /// file's keys over it (a section with another `kind` replaces the base's), so an ablation
    /// config states only what differs.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_file_with(path, &[])
    }

    /// [`RunConfig::from_file`] with `key.path=value` overrides applied on top (values are YAML).
    pub fn from_file_with(path: &Path, overrides: &[String]) -> Result<Self> {
        let mut value = Self::resolve(path, 0)?;
        for o in overrides {
            let (key, raw) = o
                .split_once('=')
                .with_context(|| format!("override '{o}' is not of the form key.path=value"))?;
            let mut overlay: serde_norway::Value = serde_norway::from_str(raw)
                .with_context(|| format!("override '{o}': the value is not YAML"))?;
            for part in key.rsplit('.') {
                let mut m = serde_norway::Mapping::new();
                m.insert(part.into(), overlay);
                overlay = serde_norway::Value::Mapping(m);
            }
            merge(&mut value, overlay);
        }
        check_finite(&value, "")
            .and_then(|()| Ok(serde_norway::from_value::<Self>(value)?))
            .and_then(|cfg| cfg.validate().map(|()| cfg))
            .with_context(|| format!("in config {}", path.display()))
    }

    fn resolve(path: &Path, depth: usize) -> Result<serde_norway::Value> {
        use serde_norway::Value;
        if depth > 8 {
            bail!(
                "config {}: 'extends' nests too deep (a cycle?)",
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut value: Value = serde_norway::from_str(&text)
            .with_context(|| format!("in config {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let Value::Mapping(map) = &mut value else {
            bail!("config {} is not a YAML mapping", path.display());
        };
        if let Some(Value::String(space)) = map.get("space") {
            let resolved = dir.join(space).to_string_lossy().into_owned();
            map.insert("space".into(), Value::String(resolved));
        }
        match map.remove("extends") {
            None => Ok(value),
            Some(Value::String(base)) => {
                let mut merged = Self::resolve(&dir.join(base), depth + 1)?;
                merge(&mut merged, value);
                Ok(merged)
            }
            Some(other) => bail!(
                "config {}: 'extends' must be a file name, got {other:?}",
                path.display()
            ),
        }
    }

    /// Parses and validates a config.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let value: serde_norway::Value = serde_norway::from_str(text)?;
        check_finite(&value, "")?;
        let cfg: Self = serde_norway::from_value(value)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The config as YAML, as it is saved in a run directory.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).expect("a config always serializes")
    }

    /// The `kind` of the task section.
    pub fn task_kind(&self) -> Result<&str> {
        self.task["kind"]
            .as_str()
            .context("the task section needs a 'kind' (e.g. 'kind: regression')")
    }

    fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            bail!("steps must be at least 1");
        }
        if self.population > MAX_POPULATION {
            bail!(
                "population {} is beyond {MAX_POPULATION} members (the paper's largest is 36); is it a typo?",
                self.population
            );
        }
        let name_ok = !self.name.is_empty()
            && !self.name.starts_with('.')
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            bail!(
                "name {:?} must be letters, digits, '-', '_' or '.' and not start with '.' (it names the run's folder)",
                self.name
            );
        }
        if let Some(loc) = &self.checkpoints.location {
            let rel = Path::new(loc);
            if !loc.contains("://")
                && rel.is_relative()
                && rel
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
            {
                bail!("checkpoints.location {loc:?} leaves the run directory: give an absolute path for a folder elsewhere");
            }
        }
        if self.workers == Some(0) || self.max_attempts == 0 {
            bail!("workers and max_attempts must be at least 1");
        }
        self.strategy
            .validate(self.population, self.steps, self.exploit.every)?;
        self.task_kind()?;
        Ok(())
    }
}

/// Deep-merges `overlay` into `base`: mappings key by key, anything else replaced. A mapping
/// whose `kind` differs from the base's (another strategy, another task) replaces it whole.
fn merge(base: &mut serde_norway::Value, overlay: serde_norway::Value) {
    use serde_norway::Value;
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o))
            if o.get("kind").is_none_or(|k| b.get("kind") == Some(k)) =>
        {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}
