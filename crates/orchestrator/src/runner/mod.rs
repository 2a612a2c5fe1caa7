//! The synchronous generational loop: train every pending member-step of the current generation
//! on a pool of workers, then select and plan the next generation in one transaction.
//!
//! Every member-step is committed on its own (checkpoint file first, then its store row), so a
//! killed run resumes with nothing lost and no finished step trained again; a step that was in
//! flight is redone from the same inputs and seed.
//!
//! `work` is the worker loop and a member-step's execution, `plan` the first and the next
//! generations, `repair` the recomputation of a bad checkpoint, `report` the per-step and
//! per-generation output, `identity` the check that a resumed run is the same run, `workers`
//! the worker ids and how many train at once.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use pbtnas_nn::derive_seed;

use crate::best::{best_member, best_trial, BestMember};
use crate::checkpoints::Checkpoints;
use crate::config::RunConfig;
use crate::events::Event;
use crate::progress::{Output, Progress};
use crate::retention::{referenced, to_keep};
use crate::run_dir::RunDir;
use crate::store::{RunInfo, Store, Trial};
use pbtnas_task::Task;

mod identity;
mod plan;
mod repair;
mod report;
mod work;
mod workers;

use identity::check_same_run;
pub use repair::REPAIR_EVENT;
use workers::{default_workers, release_dead_local_workers, worker_id};
pub use workers::{hostname, waits_on_others};

/// Seed purposes (the first element of every derived seed path).
pub(crate) mod purpose {
    pub const INIT_POPULATION: u64 = 1;
    pub const SELECT: u64 = 2;
    pub const TRAIN: u64 = 3;
    pub const INIT_WEIGHTS: u64 = 4;
    pub const FRESH: u64 = 5;
    pub const MUTATE: u64 = 6;
}

/// Called with the run directory after each finished generation (the binary refreshes the
/// TensorBoard files there); an error is reported and the run goes on.
#[derive(Clone)]
pub struct GenerationHook(pub std::sync::Arc<HookFn>);

/// What a [`GenerationHook`] calls.
pub type HookFn = dyn Fn(&Path) -> Result<()> + Send + Sync;

impl std::fmt::Debug for GenerationHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GenerationHook")
    }
}

/// How to run: where, and how talkative.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_dir: PathBuf,
    /// What the terminal gets: text, nothing, or JSON lines.
    pub output: Output,
    /// The device the task trains on; it sets the default number of workers.
    pub device: candle_core::Device,
    pub after_generation: Option<GenerationHook>,
    /// Seconds a worker's claim on a member-step lasts unless renewed (every quarter of it while
    /// training); a killed worker's step goes to another worker after this long.
    pub lease_seconds: f64,
    /// A PostgreSQL store's URL (workers on many machines); `None`: SQLite in the run directory.
    pub store: Option<String>,
    /// Start a new run even when its estimated memory or disk is beyond the machine's.
    pub allow_large: bool,
    /// An experiment's worker: when every unfinished step of the generation is another
    /// process's, return (`run` gives `None`) instead of waiting, to train another run meanwhile.
    pub yield_at_barrier: bool,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub generations: u32,
    /// Best fitness after the first step.
    pub initial_best: f64,
    pub best: Trial,
}

/// Runs (or resumes) a search to the end; `None` when `opts.yield_at_barrier` let it stop before
/// (the run is then at a generation's end that other processes are training).
pub fn run<T: Task>(task: &T, cfg: &RunConfig, opts: &RunOptions) -> Result<Option<RunSummary>> {
    let dir = &opts.run_dir;
    // A new run's size, refused before anything is written when beyond the machine.
    let footprint = match RunDir(dir).config().exists() {
        true => None,
        false => {
            let workers = cfg.workers.unwrap_or(default_workers(cfg, &opts.device));
            let fp = crate::footprint::estimate(task, cfg, workers)?;
            if !opts.allow_large {
                let remote = cfg
                    .checkpoints
                    .location
                    .as_deref()
                    .filter(|l| l.contains("://"));
                let disk = match remote {
                    Some(_) => None,
                    None => crate::footprint::free_disk(
                        &dir.join(cfg.checkpoints.location.as_deref().unwrap_or(".")),
                    ),
                };
                fp.check(crate::footprint::free_memory(), disk)?;
            }
            Some(fp)
        }
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create run directory {}", dir.display()))?;
    let store = crate::store::open(dir, opts.store.as_deref(), &cfg.name)?;
    let store = store.as_ref();
    let ckpts = Checkpoints::open(cfg.checkpoints.location.as_deref(), dir)?;
    let progress = Progress::new(dir, opts.output);
    let space = task.space();
    // The space is identified by its id, not by the path it was read from; the worker counts are
    // a property of the machine, not of the run: the run's identity leaves them out, while the
    // saved config keeps `members_per_gpu` for the workers that join later.
    let saved_cfg = RunConfig {
        space: None,
        workers: None,
        ..cfg.clone()
    };
    let identity = RunConfig {
        members_per_gpu: crate::config::PAPER_MEMBERS_PER_GPU,
        ..saved_cfg.clone()
    };
    let info = RunInfo {
        config_json: serde_json::to_string(&identity)?,
        space_id: space.id.clone(),
        space_yaml: space.to_yaml(),
    };
    // `requeued` and the newest generation: `Some` when resumed.
    let start = |resumed: Option<(usize, u32)>| Event::Start {
        run: cfg.name.clone(),
        dir: dir.clone(),
        population: cfg.population,
        steps: cfg.steps,
        space: space.name.clone(),
        resumed: resumed.is_some(),
        requeued: resumed.map(|(n, _)| n),
        genes: space.len(),
        log10_size: space.log10_size(),
        at_generation: resumed.map_or(0, |(_, g)| g),
    };
    match store.open_run(&info)? {
        None => {
            std::fs::write(RunDir(dir).config(), saved_cfg.to_yaml())?;
            std::fs::write(RunDir(dir).space(), &info.space_yaml)?;
            progress.emit(&start(None));
            if let Some(fp) = footprint {
                progress.emit(&Event::Footprint(fp));
            }
        }
        Some(stored) => {
            check_same_run(&stored, &info, dir)?;
            let requeued = release_dead_local_workers(store)?;
            let newest = store.latest_generation()?.unwrap_or(0);
            progress.emit(&start(Some((requeued, newest))));
        }
    }
    let default_workers = default_workers(cfg, &opts.device);
    let workers = cfg.workers.unwrap_or(default_workers);
    let device = pbtnas_nn::device_name(&opts.device);
    progress.emit(&Event::Device {
        device,
        workers,
        checkpoints: ckpts.location().to_string(),
    });
    let runner = Runner {
        task,
        artifacts: RunDir(dir).artifacts(),
        cfg,
        store,
        ckpts: &ckpts,
        progress: &progress,
        default_workers,
        opts,
        finishing: Mutex::new(()),
    };
    runner.run()
}

struct Runner<'a, T: Task> {
    task: &'a T,
    artifacts: PathBuf,
    cfg: &'a RunConfig,
    store: &'a dyn Store,
    ckpts: &'a Checkpoints,
    progress: &'a Progress,
    default_workers: usize,
    opts: &'a RunOptions,
    /// Held while a worker of this process finishes a generation.
    finishing: Mutex<()>,
}

impl<T: Task> Runner<'_, T> {
    fn seed(&self, path: &[u64]) -> u64 {
        derive_seed(self.cfg.seed, path)
    }

    /// Trains with this process's workers until the run is complete (or, yielding at a barrier,
    /// until only other processes' steps are left); other processes may work on the same store
    /// at the same time.
    pub(super) fn run(&self) -> Result<Option<RunSummary>> {
        if self.store.latest_generation()?.is_none() {
            self.insert_initial_population()?;
        }
        let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(Vec::new());
        let workers = self.cfg.workers.unwrap_or(self.default_workers).max(1);
        // Each worker runs its member's ops on its own thread pool, a share of the cores: a
        // shared pool would serialise the workers' parallel ops, and calling into a pool from
        // outside costs a thread wake-up per op.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (cores / workers).max(1);
        std::thread::scope(|s| {
            for i in 0..workers {
                let errors = &errors;
                s.spawn(move || {
                    let result = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .map_err(anyhow::Error::from)
                        .and_then(|pool| pool.install(|| self.work(&worker_id(i))));
                    if let Err(e) = result {
                        errors.lock().expect("errors").push(e);
                    }
                });
            }
        });
        if let Some(e) = errors.into_inner().expect("errors").into_iter().next() {
            return Err(e);
        }
        if !self.store.is_complete()? {
            return Ok(None);
        }
        let last = self
            .store
            .latest_generation()?
            .expect("generation 0 exists");
        self.summary(last).map(Some)
    }

    /// Deletes the checkpoints the retention policy no longer keeps ([`crate::retention`]).
    pub(super) fn collect_garbage(&self, completed: u32) -> Result<()> {
        let all = self.store.all_trials()?;
        let policy = &self.cfg.checkpoints;
        if let Some(keep) = to_keep(policy, &all, completed, self.cfg.untrained_best_ever()) {
            self.ckpts.retain(&keep, &referenced(&all))?;
        }
        Ok(())
    }

    pub(super) fn summary(&self, last: u32) -> Result<RunSummary> {
        let all = self.store.all_trials()?;
        let initial_best = all
            .iter()
            .filter(|t| t.spec.generation == 0)
            .filter_map(|t| t.fitness)
            .fold(f64::NEG_INFINITY, f64::max);
        let best = best_trial(&all)
            .cloned()
            .context("no member finished a step")?;
        self.progress.emit(&Event::Done {
            best_fitness: best.fitness,
            generation: best.spec.generation + 1,
            slot: best.spec.slot,
            genome: best.spec.plan.genome.to_string(),
            initial_best,
        });
        if let Some(BestMember::Untrained { child, .. }) =
            best_member(&all, self.cfg.untrained_best_ever())
        {
            self.progress.emit(&Event::UntrainedBestEver {
                generation: child.spec.generation + 1,
                slot: child.spec.slot,
            });
        }
        Ok(RunSummary {
            generations: last + 1,
            initial_best,
            best,
        })
    }
}
