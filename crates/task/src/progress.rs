//! How a member-step reports how far it is, whatever draws it (a terminal bar, nothing).

use std::sync::Arc;

/// What shows a member-step's progress; the orchestrator's terminal bar implements it.
pub trait StepReporter: Send + Sync + std::fmt::Debug {
    /// `done` of `total` units (iterations, frames) trained.
    fn set(&self, done: u64, total: u64);
    /// Training is over; the member is being evaluated.
    fn evaluating(&self);
}

/// A member-step's progress handle: reports to a [`StepReporter`], or nowhere (the default).
#[derive(Debug, Clone, Default)]
pub struct StepProgress(Option<Arc<dyn StepReporter>>);

impl StepProgress {
    /// A handle reporting to `reporter`.
    pub fn new(reporter: Arc<dyn StepReporter>) -> Self {
        Self(Some(reporter))
    }

    /// `done` of `total` units (iterations, frames) trained.
    pub fn set(&self, done: u64, total: u64) {
        if let Some(r) = &self.0 {
            r.set(done, total);
        }
    }

    /// Training is over; the member is being evaluated.
    pub fn evaluating(&self) {
        if let Some(r) = &self.0 {
            r.evaluating();
        }
    }
}
