//! The PBT-NAS orchestrator: the [`Task`] and [`Strategy`] traits, PBT-NAS and its baselines as
//! pure functions on population records, the run store, checkpoints and the generational runner.

pub mod best;
pub mod checkpoints;
pub mod config;
pub mod experiment;
pub mod footprint;
pub mod progress;
pub mod runner;
pub mod start_state;
pub mod status;
pub mod store;
pub mod strategy;
pub mod task;

pub use config::{RunConfig, StrategyConfig};
pub use runner::{run, RunOptions, RunSummary};
pub use strategy::{MemberRecord, PlanKind, SlotPlan, Strategy, WeightSource};
pub use task::{Evaluation, Metrics, StepContext, Task};
