//! [`AnyTask`]: a task of any kind behind one type, so that a list of task kinds can build them
//! and the orchestrator drive them without knowing their member types.

use std::any::Any;

use anyhow::{Context, Result};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::MemberState;

use crate::task::{Evaluation, Metrics, StepContext, Task};

/// A member of an [`AnyTask`]: the task's own member, boxed.
pub type AnyMember = Box<dyn Any + Send>;

/// A task whose member type is erased; it forwards every call to the task it holds.
pub struct AnyTask(Box<dyn Erased>);

impl AnyTask {
    pub fn new<T: Task + 'static>(task: T) -> Self
    where
        T::Member: 'static,
    {
        Self(Box::new(task))
    }
}

/// [`Task`] with the member as [`AnyMember`] (object safe).
trait Erased: Sync {
    fn space(&self) -> &SearchSpace;
    fn init(&self, genome: &Genome, seed: u64) -> Result<AnyMember>;
    fn load(&self, genome: &Genome, state: MemberState) -> Result<AnyMember>;
    fn save(&self, member: &AnyMember) -> Result<MemberState>;
    fn train_step(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Metrics>;
    fn evaluate(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Evaluation>;
    fn child_data_from_donor(&self) -> bool;
    fn shadows_in_model_state(&self) -> bool;
    fn grown_state_bytes(&self) -> u64;
    fn probe_step_seconds(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Option<f64>>;
    fn fresh_state(&self, genome: &Genome, seed: u64) -> Result<MemberState>;
}

fn own<T: Task>(member: &AnyMember) -> Result<&T::Member>
where
    T::Member: 'static,
{
    member
        .downcast_ref()
        .context("a member of another task was passed to this one")
}

fn own_mut<T: Task>(member: &mut AnyMember) -> Result<&mut T::Member>
where
    T::Member: 'static,
{
    member
        .downcast_mut()
        .context("a member of another task was passed to this one")
}

impl<T: Task> Erased for T
where
    T::Member: 'static,
{
    fn space(&self) -> &SearchSpace {
        Task::space(self)
    }
    fn init(&self, genome: &Genome, seed: u64) -> Result<AnyMember> {
        Ok(Box::new(Task::init(self, genome, seed)?))
    }
    fn load(&self, genome: &Genome, state: MemberState) -> Result<AnyMember> {
        Ok(Box::new(Task::load(self, genome, state)?))
    }
    fn save(&self, member: &AnyMember) -> Result<MemberState> {
        Task::save(self, own::<T>(member)?)
    }
    fn train_step(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Metrics> {
        Task::train_step(self, own_mut::<T>(member)?, ctx)
    }
    fn evaluate(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Evaluation> {
        Task::evaluate(self, own_mut::<T>(member)?, ctx)
    }
    fn child_data_from_donor(&self) -> bool {
        Task::child_data_from_donor(self)
    }
    fn shadows_in_model_state(&self) -> bool {
        Task::shadows_in_model_state(self)
    }
    fn grown_state_bytes(&self) -> u64 {
        Task::grown_state_bytes(self)
    }
    fn probe_step_seconds(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Option<f64>> {
        Task::probe_step_seconds(self, own_mut::<T>(member)?, ctx)
    }
    fn fresh_state(&self, genome: &Genome, seed: u64) -> Result<MemberState> {
        Task::fresh_state(self, genome, seed)
    }
}

impl Task for AnyTask {
    type Member = AnyMember;

    fn space(&self) -> &SearchSpace {
        self.0.space()
    }
    fn init(&self, genome: &Genome, seed: u64) -> Result<AnyMember> {
        self.0.init(genome, seed)
    }
    fn load(&self, genome: &Genome, state: MemberState) -> Result<AnyMember> {
        self.0.load(genome, state)
    }
    fn save(&self, member: &AnyMember) -> Result<MemberState> {
        self.0.save(member)
    }
    fn train_step(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Metrics> {
        self.0.train_step(member, ctx)
    }
    fn evaluate(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Evaluation> {
        self.0.evaluate(member, ctx)
    }
    fn child_data_from_donor(&self) -> bool {
        self.0.child_data_from_donor()
    }
    fn shadows_in_model_state(&self) -> bool {
        self.0.shadows_in_model_state()
    }
    fn grown_state_bytes(&self) -> u64 {
        self.0.grown_state_bytes()
    }
    fn probe_step_seconds(&self, member: &mut AnyMember, ctx: &StepContext) -> Result<Option<f64>> {
        self.0.probe_step_seconds(member, ctx)
    }
    fn fresh_state(&self, genome: &Genome, seed: u64) -> Result<MemberState> {
        self.0.fresh_state(genome, seed)
    }
}
