//! The PBT-NAS orchestrator: the run store, checkpoints and the generational runner that drive a
//! [`Task`] with a [`Strategy`] (both from the task API crate, `pbtnas-task`, re-exported here).

pub mod best;
pub mod checkpoints;
pub mod config;
pub mod events;
pub mod experiment;
pub mod footprint;
pub mod progress;
pub mod retention;
pub mod run_dir;
pub mod runner;
pub mod start_state;
pub mod status;
pub mod store;

pub use config::RunConfig;
pub use pbtnas_task::{
    strategy, task, Evaluation, MemberRecord, Metrics, PlanKind, SlotPlan, StepContext, Strategy,
    StrategyConfig, Task, WeightSource,
};
pub use runner::{run, RunOptions, RunSummary};
