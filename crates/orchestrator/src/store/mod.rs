//! The run store: the single source of truth of a run (config, trials per generation and slot,
//! lineage, decisions) and its only coordination point: workers lease member-steps with an
//! expiry they renew while training, so a dead worker's step goes to another one; any worker
//! that finds a generation finished plans the next one, and the store keeps exactly one plan.
//! SQLite inside the run directory by default; the trait leaves room for a PostgreSQL backend
//! shared by workers on many machines.

pub mod sqlite;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::strategy::SlotPlan;
use crate::task::Metrics;

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
    /// Marks the run complete.
    fn mark_complete(&self) -> Result<()>;
    /// Whether the run is complete.
    fn is_complete(&self) -> Result<bool>;
}
