//! The run store: the single source of truth of a run (config, trials per generation and slot,
//! lineage, decisions) and its only coordination point: workers lease member-steps with an
//! expiry they renew while training, so a dead worker's step goes to another one; any worker
//! that finds a generation finished plans the next one, and the store keeps exactly one plan.
//! SQLite inside the run directory by default; the trait leaves room for a PostgreSQL backend
//! shared by workers on many machines.

pub mod postgres;
mod rules;
pub mod sqlite;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::run_dir::RunDir;
use pbtnas_task::{Metrics, PlanKind, SlotPlan, WeightSource};

/// Seconds since the Unix epoch, as the stores record times and leases.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Identity of a run as stored: a resumed run must match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub config_json: String,
    pub space_id: String,
    pub space_yaml: String,
}

/// State of one member-step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    Pending,
    Running,
    Done,
    Failed,
}

/// A member-step to run: generation, slot, how its starting state is built, and its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTrial {
    pub generation: u32,
    pub slot: usize,
    pub plan: SlotPlan,
    /// For each gene, the initial slot its option and weights descend from.
    pub origin: Vec<usize>,
    pub parent_ckpt: Option<String>,
    pub donor_ckpt: Option<String>,
    pub train_seed: u64,
}

/// A stored member-step with its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub spec: NewTrial,
    pub status: TrialStatus,
    /// Times the step was started (a resumed run restarts an interrupted one).
    pub attempts: u32,
    /// Times the step ended in an error.
    pub failures: u32,
    pub fitness: Option<f64>,
    pub ckpt: Option<String>,
    pub metrics: Metrics,
    pub error: Option<String>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// The worker holding (or that last held) the trial: `host:pid:thread`.
    pub worker: Option<String>,
    /// While running: when the worker's lease expires unless renewed (Unix seconds).
    pub lease_until: Option<f64>,
    /// While running: `training` or `evaluating`.
    pub phase: Option<String>,
}

/// How a member-step ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done {
        fitness: f64,
        ckpt: String,
        metrics: Metrics,
    },
    /// An error; the step is retried until `max_attempts` failures, then marked failed.
    Error(String),
}

/// Storage of a run's state. Every method is one transaction.
pub trait Store: Send + Sync {
    /// Registers a new run and returns `None`, or returns the stored identity of an existing one.
    fn open_run(&self, info: &RunInfo) -> Result<Option<RunInfo>>;
    /// Inserts all trials of a generation and the decision event, atomically; `false` if the
    /// generation exists already (another worker planned it: plans are pure, so it is the same).
    fn insert_generation(
        &self,
        generation: u32,
        trials: &[NewTrial],
        event: &serde_json::Value,
    ) -> Result<bool>;
    /// The newest generation, if any.
    fn latest_generation(&self) -> Result<Option<u32>>;
    /// The trials of a generation, in slot order.
    fn trials(&self, generation: u32) -> Result<Vec<Trial>>;
    /// Every trial of the run, by generation then slot.
    fn all_trials(&self) -> Result<Vec<Trial>>;
    /// Leases a trial of `generation` to `worker` for `ttl` seconds: a pending one, or one whose
    /// worker's lease expired (counted as an attempt; past `max_attempts` starts it is marked
    /// failed instead). Lowest slot first; `None` if nothing is left to lease.
    fn lease_trial(
        &self,
        generation: u32,
        worker: &str,
        ttl: f64,
        max_attempts: u32,
    ) -> Result<Option<Trial>>;
    /// Extends `worker`'s lease; `false` if it no longer holds the trial.
    fn renew_lease(&self, generation: u32, slot: usize, worker: &str, ttl: f64) -> Result<bool>;
    /// Records what the running step held by `worker` is doing (`evaluating`).
    fn set_phase(&self, generation: u32, slot: usize, worker: &str, phase: &str) -> Result<()>;
    /// Makes a trial held by `worker` (known dead) pending again, without counting a failure.
    fn release(&self, generation: u32, slot: usize, worker: &str) -> Result<bool>;
    /// Records how a trial held by `worker` ended: its new status, or `None` if the worker lost
    /// its lease (the step was given to another worker and this result is dropped).
    fn finish_trial(
        &self,
        generation: u32,
        slot: usize,
        worker: &str,
        outcome: &Outcome,
        max_failures: u32,
    ) -> Result<Option<TrialStatus>>;
    /// Appends an event (`kind`, JSON payload) to the run's log.
    fn add_event(&self, generation: u32, kind: &str, payload: &serde_json::Value) -> Result<()>;
    /// The run's events of `kind`, oldest first: `(generation, payload)`.
    fn events(&self, kind: &str) -> Result<Vec<(u32, serde_json::Value)>>;
    /// Marks the run complete.
    fn mark_complete(&self) -> Result<()>;
    /// Whether the run is complete.
    fn is_complete(&self) -> Result<bool>;
}

/// The file in a run directory naming its PostgreSQL store (URL without password, run name).
pub const STORE_FILE: &str = "store.json";

/// The environment variable holding a PostgreSQL store's URL (password included).
pub const STORE_ENV: &str = "PBTNAS_STORE";

/// Opens (creating) the store of the run in `run_dir` named `run`: the SQLite file there, or
/// the PostgreSQL database at `url`, which the run directory then names in `store.json`.
pub fn open(run_dir: &std::path::Path, url: Option<&str>, run: &str) -> Result<Box<dyn Store>> {
    match url {
        None if run_dir.join(STORE_FILE).exists() => open_existing(run_dir),
        None => Ok(Box::new(SqliteStore::open(&RunDir(run_dir).store())?)),
        Some(url) => {
            let store = PostgresStore::connect(url, run)?;
            let marker =
                serde_json::json!({"kind": "postgres", "url": postgres::redacted(url), "run": run});
            std::fs::write(
                run_dir.join(STORE_FILE),
                serde_json::to_string_pretty(&marker)?,
            )?;
            Ok(Box::new(store))
        }
    }
}

/// Opens the store of an existing run directory: its SQLite file, or the PostgreSQL database its
/// `store.json` names (the URL with the password from `$PBTNAS_STORE`).
pub fn open_existing(run_dir: &std::path::Path) -> Result<Box<dyn Store>> {
    let marker = run_dir.join(STORE_FILE);
    if !marker.exists() {
        return Ok(Box::new(SqliteStore::open_existing(
            &RunDir(run_dir).store(),
        )?));
    }
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&marker)?)?;
    let (Some(shown), Some(run)) = (m["url"].as_str(), m["run"].as_str()) else {
        bail!("{} is not a store file", marker.display());
    };
    let Ok(url) = std::env::var(STORE_ENV) else {
        bail!("the run in {} keeps its state in PostgreSQL at {shown}: set {STORE_ENV} to that URL (with the password)", run_dir.display());
    };
    if postgres::redacted(&url) != shown {
        bail!(
            "{STORE_ENV} points at {}, but the run in {} is at {shown}",
            postgres::redacted(&url),
            run_dir.display()
        );
    }
    Ok(Box::new(PostgresStore::connect(&url, run)?))
}

/// Makes `run_dir` a working directory of the run named `run` in the PostgreSQL store at `url`:
/// its config and space as stored, for a worker on a machine that does not share the run's
/// directory. Its checkpoints must then be somewhere every machine reaches: an object store URL
/// or an absolute (shared) path; a folder inside the run directory is refused.
pub fn join_run(run_dir: &std::path::Path, url: &str, run: &str) -> Result<()> {
    let store = PostgresStore::connect(url, run)?;
    let Some(info) = store.run_info()? else {
        bail!(
            "the database at {} has no run named '{run}' (start it with `pbtnas run`)",
            postgres::redacted(url)
        );
    };
    let cfg: crate::config::RunConfig = serde_json::from_str(&info.config_json)?;
    let location = cfg
        .checkpoints
        .location
        .as_deref()
        .unwrap_or(RunDir::CHECKPOINTS);
    if !location.contains("://") && std::path::Path::new(location).is_relative() {
        bail!(
            "run '{run}' keeps its checkpoints in its own directory ({location}), which this \
             machine does not have: run it with `checkpoints.location` set to an object store \
             (s3://…, gs://…) or a shared absolute path, or give this worker the run's directory"
        );
    }
    std::fs::create_dir_all(run_dir)?;
    std::fs::write(RunDir(run_dir).config(), cfg.to_yaml())?;
    std::fs::write(RunDir(run_dir).space(), &info.space_yaml)?;
    open(run_dir, Some(url), run).map(drop)
}

/// A one-word-ish description of how a slot's member was made: `5<-2x4[1,3]`, `7<-1 wmut`.
pub fn describe_plan(t: &NewTrial) -> String {
    let p = &t.plan;
    let parent = p.parent.map_or("-".to_string(), |s| s.to_string());
    match p.kind {
        PlanKind::Child => {
            let donor = match p.donor {
                Some(WeightSource::Slot(d)) => d.to_string(),
                _ => "?".into(),
            };
            let genes: Vec<String> = p.replaced.iter().map(|g| g.to_string()).collect();
            format!("{}<-{parent}x{donor}[{}]", p.slot, genes.join(","))
        }
        PlanKind::Copy => format!("{}<-{parent} copy", p.slot),
        PlanKind::WeightMutation => format!("{}<-{parent} wmut", p.slot),
        PlanKind::ArchMutation => format!(
            "{}<-{parent} amut[{}]",
            p.slot,
            p.replaced.first().map_or(0, |g| *g)
        ),
        PlanKind::Perturbed => format!("{} sp", p.slot),
        PlanKind::Changed => {
            let genes: Vec<String> = p.replaced.iter().map(|g| g.to_string()).collect();
            format!("{}<-{parent} change[{}]", p.slot, genes.join(","))
        }
        PlanKind::Init | PlanKind::Survivor => format!("{}", p.slot),
    }
}
