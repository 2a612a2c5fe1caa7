//! The task API of PBT-NAS: the [`Task`] trait a task crate implements, its [`TaskKind`] (the
//! entry in the binary's list of tasks), the context of a member-step, and the search strategies
//! (PBT-NAS, its ablations and baselines) as pure seeded planners over population records. Task
//! crates depend on this crate only; the orchestrator (runner, stores, checkpoints) drives them.

pub mod erased;
pub mod kind;
pub mod progress;
pub mod strategy;
pub mod task;
pub mod toy;

pub use erased::{AnyMember, AnyTask};
pub use kind::{BuildContext, EvalArgs, EvalMember, FinalEval, TaskKind};
pub use progress::{StepProgress, StepReporter};
pub use strategy::{MemberRecord, PlanKind, SlotPlan, Strategy, StrategyConfig, WeightSource};
pub use task::{Evaluation, Metrics, StepContext, Task};
