//! The regression task's entry in the binary's list of tasks (`task.kind: regression`).

use anyhow::Result;
use pbtnas_genome::SearchSpace;
use pbtnas_task::{AnyTask, BuildContext, TaskKind};

use crate::RegressionTask;

/// `kind: regression`; no final evaluation (its fitness, minus the test MSE, is the result).
pub struct Regression;

impl TaskKind for Regression {
    fn name(&self) -> &'static str {
        "regression"
    }

    fn default_space(&self) -> SearchSpace {
        RegressionTask::default_space()
    }

    fn build(
        &self,
        section: &serde_json::Value,
        space: SearchSpace,
        ctx: &BuildContext,
    ) -> Result<AnyTask> {
        Ok(AnyTask::new(RegressionTask::new(
            section, space, ctx.device,
        )?))
    }
}
