//! The list of tasks: every command that builds a task (`run`, `worker`, `eval`, `replay`,
//! `experiment`) finds it here by the config's `task.kind`. Adding a task = its crate and one
//! line in [`TASKS`].

use anyhow::Result;
use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::{RunConfig, RunOptions, RunSummary};
use pbtnas_task::{AnyTask, BuildContext, TaskKind};

/// Every task kind this binary knows.
pub const TASKS: &[&dyn TaskKind] = &[
    &pbtnas_task_regression::kind::Regression,
    &pbtnas_gan::kind::Gan,
    &pbtnas_rl::kind::Rl,
];

/// The kind of a run's task, from its config.
pub fn kind_of(cfg: &RunConfig) -> Result<&'static dyn TaskKind> {
    pbtnas_task::kind::find(TASKS, cfg.task_kind()?)
}

/// The task of a run (the config's space, or the kind's default), on `device`.
pub fn build(
    kind: &dyn TaskKind,
    cfg: &RunConfig,
    device: &candle_core::Device,
) -> Result<AnyTask> {
    let space = match &cfg.space {
        Some(path) => SearchSpace::from_file(path)?,
        None => kind.default_space(),
    };
    let ctx = BuildContext {
        device,
        population: cfg.population,
    };
    kind.build(&cfg.task, space, &ctx)
}

/// Runs (or resumes) the search of `cfg` over its task of `kinds`.
pub fn run(
    kinds: &[&dyn TaskKind],
    cfg: &RunConfig,
    opts: &RunOptions,
) -> Result<Option<RunSummary>> {
    let kind = pbtnas_task::kind::find(kinds, cfg.task_kind()?)?;
    let task = build(kind, cfg, &opts.device)?;
    pbtnas_orchestrator::run(&task, cfg, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pbtnas_orchestrator::progress::Output;
    use pbtnas_task::toy::Toy;

    /// A task kind from outside the list (the task API's toy) runs by the path of the real ones.
    #[test]
    fn a_listed_kind_runs_and_an_unlisted_one_is_named_with_the_list() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = RunConfig::from_yaml(
            "name: toy\npopulation: 8\nsteps: 3\nworkers: 2\nstrategy: {kind: pbt-nas}\ntask: {kind: toy}\n",
        )
        .unwrap();
        let opts = RunOptions {
            run_dir: tmp.path().join("run"),
            output: Output::Quiet,
            device: candle_core::Device::Cpu,
            after_generation: None,
            lease_seconds: 60.0,
            store: None,
            allow_large: false,
            yield_at_barrier: false,
        };
        let summary = run(&[&Toy], &cfg, &opts).unwrap().unwrap();
        assert_eq!(summary.generations, 3);
        let err = run(TASKS, &cfg, &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown task kind 'toy' (available: regression, gan, rl)"
        );
    }
}
