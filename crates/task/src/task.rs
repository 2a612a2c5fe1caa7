//! The `Task` trait: what a task crate implements so the orchestrator can search over it.

use std::collections::BTreeMap;

use anyhow::Result;
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::MemberState;

/// Named scalar results of a step (losses, timings, evaluation scores).
pub type Metrics = BTreeMap<String, f64>;

/// Where and with which seed a member-step runs.
#[derive(Debug, Clone)]
pub struct StepContext {
    /// 0-based PBT step (generation) being trained.
    pub generation: u32,
    /// Population slot of the member.
    pub slot: usize,
    /// Seed for everything random in this step (batches, noise, environment).
    pub seed: u64,
    /// Folder for the step's artifacts (sample grids, videos): `<run dir>/artifacts`.
    pub artifacts: std::path::PathBuf,
    /// Where the step reports how far it is (a progress bar on a terminal, or nothing).
    pub progress: crate::progress::StepProgress,
}

/// A member's fitness (higher is better) and the metrics behind it.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub fitness: f64,
    pub metrics: Metrics,
}

/// A task the orchestrator can search: it builds members from genomes, trains them for one PBT
/// step, evaluates them, and converts them to and from a [`MemberState`].
///
/// Contract for weight inheritance to work:
/// - every tensor that belongs to a gene's position lives under that position's name
///   (`net.l2.weight` for position `net.l2`), whatever option the gene holds, and the same option
///   always creates the same names and shapes;
/// - tensors that must be copied as-is on inheritance (EMA generator, target critic) go in
///   [`MemberState::shadows`] under the names of the weights they follow;
/// - optimizer state goes in [`MemberState::optimizers`], keyed by weight name;
/// - data that is neither weights nor optimizer state (a replay buffer) goes in
///   [`MemberState::data`];
/// - [`Task::init`] is deterministic in (genome, seed).
///
/// Adding a task = a crate with a type implementing this trait, its config section, and a space
/// file; see `crates/task-regression` for a complete small example.
pub trait Task: Sync {
    /// A member being trained: models, optimizers, and anything else that lives for one step.
    type Member: Send;

    /// The search space members are drawn from.
    fn space(&self) -> &SearchSpace;

    /// A freshly initialised member.
    fn init(&self, genome: &Genome, seed: u64) -> Result<Self::Member>;

    /// A member rebuilt from a saved or inherited state. Optimizer state for parameters that are
    /// missing or reshaped starts fresh.
    fn load(&self, genome: &Genome, state: MemberState) -> Result<Self::Member>;

    /// The member's state, to checkpoint and to inherit from.
    fn save(&self, member: &Self::Member) -> Result<MemberState>;

    /// Trains the member for one PBT step.
    fn train_step(&self, member: &mut Self::Member, ctx: &StepContext) -> Result<Metrics>;

    /// Evaluates the member at the end of a step.
    fn evaluate(&self, member: &mut Self::Member, ctx: &StepContext) -> Result<Evaluation>;

    /// Whether a child made from two parents takes the donor's [`MemberState::data`] (PBT-NAS's
    /// RL code copies the worse parent's work dir, replay included) instead of the parent's.
    fn child_data_from_donor(&self) -> bool {
        false
    }

    /// Whether [`MemberState::shadows`] belong to the member's model state as the original code
    /// saves it (`model_state_dict`): true for the RL target critic, false for the GAN's EMA
    /// generator (saved apart). SEARL's weight mutation then draws among the shadows too, and
    /// random search's whole-member shrink-perturb perturbs them.
    fn shadows_in_model_state(&self) -> bool {
        false
    }

    /// Bytes a member's saved state grows to beyond a fresh member's (a replay buffer at its
    /// capacity), for the run's size estimate.
    fn grown_state_bytes(&self) -> u64 {
        0
    }

    /// Seconds one member-step of `member` (training and evaluation) takes on this machine,
    /// measured on a few iterations, for the estimate printed before a new run; `None` when the
    /// task cannot tell before a whole step (the ETA then follows the first step). `member` is
    /// a throwaway.
    fn probe_step_seconds(
        &self,
        _member: &mut Self::Member,
        _ctx: &StepContext,
    ) -> Result<Option<f64>> {
        Ok(None)
    }

    /// The state of a freshly initialised member: the "fresh" side of shrink-perturb.
    fn fresh_state(&self, genome: &Genome, seed: u64) -> Result<MemberState> {
        self.save(&self.init(genome, seed)?)
    }
}
