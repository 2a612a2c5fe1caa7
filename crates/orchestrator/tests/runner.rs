//! The runner in process, on the toy task of the task API crate: a run is reproducible, and a
//! process yielding at a barrier leaves a generation whose last step another process holds, then
//! finishes the run with the same results once that step is back.

use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::Device;
use pbtnas_orchestrator::progress::Output;
use pbtnas_orchestrator::store::{Trial, TrialStatus};
use pbtnas_orchestrator::{status, RunConfig, RunOptions};
use pbtnas_task::kind::BuildContext;
use pbtnas_task::toy::Toy;
use pbtnas_task::TaskKind;

fn config(step_ms: u64) -> RunConfig {
    RunConfig::from_yaml(&format!(
        "name: toy\nseed: 5\npopulation: 8\nsteps: 3\nworkers: 1\nstrategy: {{kind: pbt-nas}}\ntask: {{kind: toy, step_ms: {step_ms}}}\n"
    ))
    .unwrap()
}

fn options(dir: &Path, yield_at_barrier: bool) -> RunOptions {
    RunOptions {
        run_dir: dir.to_path_buf(),
        output: Output::Quiet,
        device: Device::Cpu,
        after_generation: None,
        lease_seconds: 600.0,
        store: None,
        allow_large: false,
        yield_at_barrier,
    }
}

fn run(cfg: &RunConfig, opts: &RunOptions) -> Option<pbtnas_orchestrator::RunSummary> {
    let ctx = BuildContext {
        device: &Device::Cpu,
        population: cfg.population,
    };
    let task = Toy.build(&cfg.task, Toy.default_space(), &ctx).unwrap();
    pbtnas_orchestrator::run(&task, cfg, opts).unwrap()
}

/// What the run decided and computed, trial by trial.
fn outcome(dir: &Path) -> Vec<(u32, usize, String, Option<f64>)> {
    let (trials, complete) = status::load(dir).unwrap();
    assert!(complete);
    trials
        .iter()
        .map(|t: &Trial| {
            (
                t.spec.generation,
                t.spec.slot,
                t.spec.plan.genome.to_string(),
                t.fitness,
            )
        })
        .collect()
}

#[test]
fn a_toy_run_completes_and_repeats_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let summary = run(&config(0), &options(&a, false)).unwrap();
    run(&config(0), &options(&b, false)).unwrap();
    assert_eq!(summary.generations, 3);
    assert_eq!(outcome(&a), outcome(&b));
    assert_eq!(outcome(&a).len(), 24);
    // Each step adds one to every weight (initially below 1): the best-ever member has been
    // trained three times along its line, so its mean weight is in [3, 4), plus at most 0.04
    // for its genome and 0.001 for its seed.
    let best = summary.best.fitness.unwrap();
    assert!((3.0..4.05).contains(&best), "{best}");
}

#[test]
fn yielding_at_a_barrier_leaves_the_run_and_resumes_it_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, shared) = (tmp.path().join("plain"), tmp.path().join("shared"));
    run(&config(0), &options(&plain, false)).unwrap();

    // This process's one worker trains slot 0 of generation 0 (slowly); meanwhile another
    // "process" leases slot 1 and keeps it.
    let other = "elsewhere:1:0";
    let cfg = config(300);
    let first = std::thread::scope(|s| {
        let worker = s.spawn(|| run(&cfg, &options(&shared, true)));
        let start = Instant::now();
        let held = loop {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "slot 0 never ran"
            );
            let running = status::load(&shared).ok().is_some_and(|(trials, _)| {
                trials
                    .iter()
                    .any(|t| t.spec.slot == 0 && t.status == TrialStatus::Running)
            });
            if running {
                let store = pbtnas_orchestrator::store::open_existing(&shared).unwrap();
                break store.lease_trial(0, other, 600.0, 3).unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(held.map(|t| t.spec.slot), Some(1));
        worker.join().unwrap()
    });
    // It trained every slot but 1, then left the generation to the other process.
    assert!(first.is_none(), "the run should have yielded");
    let (trials, complete) = status::load(&shared).unwrap();
    assert!(!complete);
    let done: Vec<usize> = trials
        .iter()
        .filter(|t| t.status == TrialStatus::Done)
        .map(|t| t.spec.slot)
        .collect();
    assert_eq!(done, [0, 2, 3, 4, 5, 6, 7]);

    // The other process is gone; its step goes back, and the run finishes as if never shared.
    let store = pbtnas_orchestrator::store::open_existing(&shared).unwrap();
    assert!(store.release(0, 1, other).unwrap());
    let summary = run(&cfg, &options(&shared, true)).unwrap();
    assert_eq!(summary.generations, 3);
    assert_eq!(outcome(&shared), outcome(&plain));
}
