//! The synchronous generational loop: train every pending member-step of the current generation
//! on a pool of workers, then select and plan the next generation in one transaction.
//!
//! Every member-step is committed on its own (checkpoint file first, then its store row), so a
//! killed run resumes with nothing lost and no finished step trained again; a step that was in
//! flight is redone from the same inputs and seed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::Device;
use pbtnas_genome::ops;
use pbtnas_nn::checkpoint::{decode, encode};
use pbtnas_nn::derive_seed;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::best::{best_member, best_trial, BestMember};
use crate::checkpoints::{CheckpointError, Checkpoints};
use crate::config::RunConfig;
use crate::progress::{human_duration, Output, Progress};
use crate::retention::{referenced, to_keep};
use crate::run_dir::RunDir;
use crate::store::{describe_plan, NewTrial, Outcome, RunInfo, Store, Trial, TrialStatus};
use pbtnas_task::{
    MemberRecord, PlanKind, SlotPlan, StepContext, StrategyConfig, Task, WeightSource,
};

/// Seed purposes (the first element of every derived seed path).
pub(crate) mod purpose {
    pub const INIT_POPULATION: u64 = 1;
    pub const SELECT: u64 = 2;
    pub const TRAIN: u64 = 3;
    pub const INIT_WEIGHTS: u64 = 4;
    pub const FRESH: u64 = 5;
    pub const MUTATE: u64 = 6;
}

/// The event recorded when a checkpoint was recomputed.
pub const REPAIR_EVENT: &str = "checkpoint_repaired";

/// Repairs nested inside a repair (an input of a redone step itself bad) before giving up.
const MAX_REPAIR_DEPTH: u32 = 3;

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
    match store.open_run(&info)? {
        None => {
            std::fs::write(RunDir(dir).config(), saved_cfg.to_yaml())?;
            std::fs::write(RunDir(dir).space(), &info.space_yaml)?;
            progress.event("start", json!({"run": cfg.name, "dir": dir, "population": cfg.population,
                "steps": cfg.steps, "space": space.name, "resumed": false}), &format!(
                "new run {} in {}: {} members x {} steps, space '{}' ({} genes, 10^{:.1} architectures)",
                cfg.name,
                dir.display(),
                cfg.population,
                cfg.steps,
                space.name,
                space.len(),
                space.log10_size()
            ));
            if let Some(fp) = &footprint {
                progress.event(
                    "footprint",
                    json!({"member_bytes": fp.member_bytes, "memory_bytes": fp.memory_bytes,
                        "disk_bytes": fp.disk_bytes, "checkpoints": fp.checkpoints,
                        "member_steps": fp.member_steps, "step_seconds": fp.step_seconds,
                        "workers": fp.workers}),
                    &fp.describe(),
                );
            }
        }
        Some(stored) => {
            check_same_run(&stored, &info, dir)?;
            let requeued = release_dead_local_workers(store)?;
            progress.event(
                "start",
                json!({"run": cfg.name, "dir": dir, "population": cfg.population,
                "steps": cfg.steps, "space": space.name, "resumed": true, "requeued": requeued}),
                &format!(
                "resuming run {} in {} at generation {} ({requeued} interrupted step(s) to redo)",
                cfg.name,
                dir.display(),
                store.latest_generation()?.map_or(0, |g| g)
            ),
            );
        }
    }
    let default_workers = default_workers(cfg, &opts.device);
    let workers = cfg.workers.unwrap_or(default_workers);
    let device = pbtnas_nn::device_name(&opts.device);
    progress.event(
        "device",
        json!({"device": device, "workers": workers, "checkpoints": ckpts.location()}),
        &format!(
            "device {device}, {workers} member(s) trained at once; checkpoints in {}",
            ckpts.location()
        ),
    );
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

fn check_same_run(stored: &RunInfo, info: &RunInfo, dir: &Path) -> Result<()> {
    if stored.space_id != info.space_id {
        bail!(
            "run directory {} holds a run over another search space ({} vs {} now); use another run directory",
            dir.display(),
            stored.space_id,
            info.space_id
        );
    }
    if stored.config_json != info.config_json {
        let a: serde_json::Value = serde_json::from_str(&stored.config_json)?;
        let b: serde_json::Value = serde_json::from_str(&info.config_json)?;
        let mut diffs = Vec::new();
        diff_json("", &a, &b, &mut diffs);
        bail!(
            "run directory {} holds a run with another config ({}); continue it unchanged with `pbtnas run --resume {}`, or start a new run with another --run-dir",
            dir.display(),
            diffs.join("; "),
            dir.display()
        );
    }
    Ok(())
}

fn diff_json(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = serde_json::Value::Null;
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_json(
                    &p,
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: stored {a}, now {b}")),
        _ => {}
    }
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
    fn run(&self) -> Result<Option<RunSummary>> {
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

    /// One worker's loop: lease a member-step of the newest generation and train it; when the
    /// generation is finished, plan the next one (or complete the run); when the others are
    /// still training the last steps of a generation, wait (or, yielding at a barrier, return
    /// once none of them is this process's).
    fn work(&self, me: &str) -> Result<()> {
        let ttl = self.opts.lease_seconds;
        loop {
            if self.store.is_complete()? {
                return Ok(());
            }
            let g = self
                .store
                .latest_generation()?
                .expect("generation 0 exists");
            if let Some(trial) = self.store.lease_trial(g, me, ttl, self.cfg.max_attempts)? {
                let slot = trial.spec.slot;
                if let Some(status) = self.run_trial(&trial, me)? {
                    if status != TrialStatus::Pending {
                        self.report_trial(g, slot, status);
                    }
                }
                continue;
            }
            let trials = self.store.trials(g)?;
            if trials
                .iter()
                .all(|t| matches!(t.status, TrialStatus::Done | TrialStatus::Failed))
            {
                self.finish_generation(g, &trials)?;
            } else if self.opts.yield_at_barrier
                && !trials.iter().any(|t| {
                    t.status == TrialStatus::Running
                        && t.worker.as_deref().is_some_and(is_this_process)
                })
            {
                return Ok(());
            } else {
                // The others are training the generation's last steps.
                std::thread::sleep(std::time::Duration::from_millis(WAIT_POLL_MS));
            }
        }
    }

    /// Generation `g` is finished: reports it, then plans the next generation or completes the
    /// run. Several workers can get here; one per process reports, and the store keeps one plan.
    fn finish_generation(&self, g: u32, trials: &[Trial]) -> Result<()> {
        let _one = self.finishing.lock().expect("finishing lock");
        if self.store.latest_generation()? != Some(g) || self.store.is_complete()? {
            return Ok(());
        }
        self.report_generation(g, trials)?;
        if let Some(hook) = &self.opts.after_generation {
            if let Err(e) = (hook.0)(&self.opts.run_dir) {
                let message = format!("after generation {}: {e:#}", g + 1);
                self.progress.event(
                    "warning",
                    json!({"message": message}),
                    &format!("warning: {message}"),
                );
            }
        }
        if g + 1 >= self.cfg.steps {
            self.store.mark_complete()?;
        } else {
            self.plan_next_generation(g, trials)?;
        }
        self.collect_garbage(g)
    }

    fn insert_initial_population(&self) -> Result<()> {
        let space = self.task.space();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed(&[purpose::INIT_POPULATION]));
        let genomes = match &self.cfg.strategy {
            StrategyConfig::Replay(replay) => vec![replay.genome(space, 0)?],
            _ => ops::stratified_population(space, self.cfg.population, &mut rng),
        };
        let trials: Vec<NewTrial> = genomes
            .into_iter()
            .enumerate()
            .map(|(slot, genome)| NewTrial {
                generation: 0,
                slot,
                plan: SlotPlan {
                    slot,
                    genome,
                    kind: PlanKind::Init,
                    parent: None,
                    donor: None,
                    replaced: Vec::new(),
                    transfer: None,
                    weight_mutation: false,
                },
                origin: vec![slot; space.len()],
                parent_ckpt: None,
                donor_ckpt: None,
                train_seed: self.seed(&[purpose::TRAIN, 0, slot as u64]),
            })
            .collect();
        self.store
            .insert_generation(0, &trials, &serde_json::json!({"kind": "init"}))
            .map(drop)
    }

    /// Runs one leased trial, renewing the lease while it trains, and records its outcome:
    /// the new status, or `None` if the lease was lost meanwhile. Errors of the task (and
    /// panics) are recorded in the store; only store/IO failures are returned.
    fn run_trial(&self, trial: &Trial, me: &str) -> Result<Option<TrialStatus>> {
        let (g, slot) = (trial.spec.generation, trial.spec.slot);
        let started = Instant::now();
        let ttl = self.opts.lease_seconds;
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let result = std::thread::scope(|s| {
            s.spawn(move || {
                let every = std::time::Duration::from_secs_f64(ttl / 4.0);
                // Wakes at once when the step ends (the sender is dropped).
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    finished.recv_timeout(every)
                {
                    // A failed renewal is retried; the lease has three more quarters to go.
                    let _ = self.store.renew_lease(g, slot, me, ttl);
                }
            });
            let result = catch_unwind(AssertUnwindSafe(|| self.execute(trial, me)))
                .unwrap_or_else(|p| Err(anyhow!("panicked: {}", panic_message(&p))));
            drop(done);
            result
        });
        let outcome = match result {
            Ok((fitness, ckpt, mut metrics)) => {
                metrics.insert("time/step_s".into(), started.elapsed().as_secs_f64());
                Outcome::Done {
                    fitness,
                    ckpt,
                    metrics,
                }
            }
            Err(e) => {
                let error = format!("{e:#}");
                self.progress.event(
                    "error",
                    json!({"generation": g + 1, "slot": slot, "error": error}),
                    &format!("gen {} slot {slot}: error: {error}", g + 1),
                );
                Outcome::Error(format!("{e:#}"))
            }
        };
        self.store
            .finish_trial(g, slot, me, &outcome, self.cfg.max_attempts)
    }

    /// Runs a leased step and stores its checkpoint: fitness, checkpoint hash, metrics.
    fn execute(&self, trial: &Trial, me: &str) -> Result<(f64, String, pbtnas_task::Metrics)> {
        let (fitness, bytes, metrics) = self.produce(&trial.spec, Some(me), 0)?;
        let sha = self.ckpts.put(&bytes)?;
        Ok((fitness, sha, metrics))
    }

    /// Builds a member's starting state from its plan and inputs, trains and evaluates it:
    /// fitness, encoded checkpoint, metrics. `me` is the worker holding the step's lease (none
    /// when a step is redone to repair its checkpoint); `depth` counts nested repairs.
    fn produce(
        &self,
        spec: &NewTrial,
        me: Option<&str>,
        depth: u32,
    ) -> Result<(f64, Vec<u8>, pbtnas_task::Metrics)> {
        let plan = &spec.plan;
        let task = self.task;
        let state =
            crate::start_state::start_state(task, spec, &|sha| self.load_input(sha, depth))?;
        let mut member = task.load(&plan.genome, state)?;
        let bar = self.progress.step_bar(format!(
            "gen {} slot {:>2}{}",
            spec.generation + 1,
            spec.slot,
            if me.is_none() { " (redo)" } else { "" }
        ));
        let ctx = StepContext {
            generation: spec.generation,
            slot: spec.slot,
            seed: spec.train_seed,
            artifacts: self.artifacts.clone(),
            progress: bar.progress(),
        };
        let trained = task.train_step(&mut member, &ctx);
        ctx.progress.evaluating();
        if let Some(me) = me {
            // Shown by `pbtnas status`; a failed write only loses that detail.
            let _ = self
                .store
                .set_phase(spec.generation, spec.slot, me, "evaluating");
        }
        let evaluated = trained.and_then(|m| Ok((m, task.evaluate(&mut member, &ctx)?)));
        self.progress.step_end(&bar);
        let (mut metrics, eval) = evaluated?;
        if eval.fitness.is_nan() {
            bail!("fitness is NaN");
        }
        metrics.extend(eval.metrics);
        let header = serde_json::json!({
            "genome": plan.genome.to_string(),
            "generation": spec.generation,
            "slot": spec.slot,
            "fitness": eval.fitness,
        });
        let bytes = encode(&task.save(&member)?, &header)?;
        Ok((eval.fitness, bytes, metrics))
    }

    /// Reads an input checkpoint. One found missing or corrupt is recomputed by redoing the
    /// step that made it from that step's own inputs and seed (kept while its output is
    /// needed: `checkpoints.keep_inputs`); steps are deterministic, so the same bytes come back
    /// and are stored again. The repair is an event in the store and in the progress output.
    fn load_input(&self, sha: &str, depth: u32) -> Result<pbtnas_nn::MemberState> {
        let err = match self.ckpts.get(sha) {
            Ok(bytes) => return Ok(decode(&bytes, &Device::Cpu)?.0),
            Err(e) => e,
        };
        let Some(problem) = err.downcast_ref::<CheckpointError>() else {
            return Err(err);
        };
        let problem = problem.to_string();
        let all = self.store.all_trials()?;
        let Some(producer) = all.iter().rev().find(|t| t.ckpt.as_deref() == Some(sha)) else {
            return Err(err.context("no step of this run made it, so it cannot be recomputed"));
        };
        if depth >= MAX_REPAIR_DEPTH {
            return Err(err.context("too many nested repairs"));
        }
        let (g, slot) = (producer.spec.generation, producer.spec.slot);
        let what = format!("gen {} slot {slot}", g + 1);
        self.progress.event(
            "warning",
            json!({"message": format!("{problem}: redoing {what} from its inputs")}),
            &format!("warning: {problem}: redoing {what} from its inputs"),
        );
        let (_, bytes, _) = self
            .produce(&producer.spec, None, depth + 1)
            .with_context(|| format!("{problem}; redoing {what} failed"))?;
        let redone = pbtnas_nn::checkpoint::sha256_hex(&bytes);
        let identical = redone == sha;
        if identical {
            self.ckpts.remove(sha)?;
        }
        self.ckpts.put(&bytes)?;
        let payload = json!({"checkpoint": sha, "problem": problem, "generation": g,
            "slot": slot, "identical": identical, "redone": redone});
        self.store.add_event(g, REPAIR_EVENT, &payload)?;
        self.progress.event(
            REPAIR_EVENT,
            payload,
            &format!(
                "  redid {what}: checkpoint {}",
                if identical {
                    "restored (identical bytes)"
                } else {
                    "NOT identical (the step is not deterministic here); using the redone state"
                }
            ),
        );
        Ok(decode(&bytes, &Device::Cpu)?.0)
    }

    fn plan_next_generation(&self, g: u32, trials: &[Trial]) -> Result<()> {
        let space = self.task.space();
        let records: Vec<MemberRecord> = trials
            .iter()
            .map(|t| MemberRecord {
                slot: t.spec.slot,
                generation: t.spec.generation,
                genome: t.spec.plan.genome.clone(),
                fitness: if t.status == TrialStatus::Done {
                    t.fitness
                } else {
                    None
                },
            })
            .collect();
        let next = g + 1;
        // Random search's whole-member shrink-perturb runs before every step but the first, as
        // the original's fitness function applies it, whatever the exploit schedule.
        let every_step = matches!(
            &self.cfg.strategy,
            StrategyConfig::RandomSearch(r) if r.shrink_perturb_always.is_some()
        );
        let exploit = every_step || self.cfg.exploit.exploit_before(next);
        let plans = if exploit {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed(&[purpose::SELECT, g as u64]));
            self.cfg
                .strategy
                .strategy()
                .next_generation(&records, space, &mut rng)?
        } else {
            records.iter().map(SlotPlan::survivor).collect()
        };
        if plans.len() != records.len() || plans.iter().enumerate().any(|(i, p)| p.slot != i) {
            bail!(
                "strategy returned {} plans not in slot order for {} members",
                plans.len(),
                records.len()
            );
        }
        let ckpt_of = |s: usize| {
            trials[s]
                .ckpt
                .clone()
                .or_else(|| trials[s].spec.parent_ckpt.clone())
        };
        let new: Vec<NewTrial> = plans
            .into_iter()
            .map(|plan| {
                let slot = plan.slot;
                let mut origin = plan.parent.map_or_else(
                    || vec![slot; space.len()],
                    |p| trials[p].spec.origin.clone(),
                );
                if let Some(WeightSource::Slot(d)) = plan.donor {
                    for &gene in &plan.replaced {
                        origin[gene] = trials[d].spec.origin[gene];
                    }
                }
                NewTrial {
                    generation: next,
                    slot,
                    origin,
                    parent_ckpt: plan.parent.and_then(ckpt_of),
                    donor_ckpt: match plan.donor {
                        Some(WeightSource::Slot(d)) => ckpt_of(d),
                        _ => None,
                    },
                    train_seed: self.seed(&[purpose::TRAIN, next as u64, slot as u64]),
                    plan,
                }
            })
            .collect();
        let changes: Vec<String> = new
            .iter()
            .filter(|t| t.plan.kind != PlanKind::Survivor)
            .map(describe_plan)
            .collect();
        if !changes.is_empty() {
            self.progress.event(
                "plan",
                json!({"generation": next + 1, "changes": changes}),
                &format!("  next generation: {}", changes.join(", ")),
            );
        }
        let event =
            serde_json::json!({"kind": if exploit { "exploit" } else { "continue" }, "after": g});
        // `false`: another worker planned it first; plans are pure, so it is this one.
        self.store.insert_generation(next, &new, &event).map(drop)
    }

    fn report_trial(&self, g: u32, slot: usize, status: TrialStatus) {
        let trials = self.store.trials(g).unwrap_or_default();
        let left = trials
            .iter()
            .filter(|t| matches!(t.status, TrialStatus::Pending | TrialStatus::Running))
            .count();
        let later = (self.cfg.steps - g - 1) as usize * self.cfg.population;
        let eta = self.progress.step_done(left + later);
        let trial = trials.into_iter().nth(slot);
        let what = match (status, trial.as_ref().and_then(|t| t.fitness)) {
            (TrialStatus::Done, Some(f)) => format!("fitness {f:.5}"),
            _ => "FAILED (ranked last)".to_string(),
        };
        let fitness = trial.as_ref().and_then(|t| t.fitness);
        self.progress.event(
            "step",
            json!({"generation": g + 1, "slot": slot, "status": status, "fitness": fitness,
                "left_in_generation": left, "eta_s": eta}),
            &format!(
                "  [gen {}/{}] slot {slot:>2} {what}  ({left} left in generation, ETA {})",
                g + 1,
                self.cfg.steps,
                human_duration(eta)
            ),
        );
    }

    fn report_generation(&self, g: u32, trials: &[Trial]) -> Result<()> {
        let f: Vec<f64> = trials.iter().filter_map(|t| t.fitness).collect();
        let best = f.iter().copied().reduce(f64::max).unwrap_or(f64::NAN);
        let median = crate::status::median(&f).unwrap_or(f64::NAN);
        let all = self.store.all_trials()?;
        let ever = best_trial(&all).map_or(String::from("-"), |t| {
            format!(
                "{:.5} (gen {} slot {})",
                t.fitness.unwrap_or(f64::NAN),
                t.spec.generation + 1,
                t.spec.slot
            )
        });
        let failed = trials
            .iter()
            .filter(|t| t.status == TrialStatus::Failed)
            .count();
        let best_ever = best_trial(&all).and_then(|t| t.fitness);
        self.progress.event(
            "generation",
            json!({"generation": g + 1, "steps": self.cfg.steps,
            "best": best, "median": median, "best_ever": best_ever, "failed": failed}),
            &format!(
                "gen {}/{} | best {best:.5} | median {median:.5} | best ever {ever}{} | elapsed {}",
                g + 1,
                self.cfg.steps,
                if failed > 0 {
                    format!(" | {failed} failed")
                } else {
                    String::new()
                },
                self.progress.elapsed()
            ),
        );
        Ok(())
    }

    /// Deletes the checkpoints the retention policy no longer keeps ([`crate::retention`]).
    fn collect_garbage(&self, completed: u32) -> Result<()> {
        let all = self.store.all_trials()?;
        let policy = &self.cfg.checkpoints;
        if let Some(keep) = to_keep(policy, &all, completed, self.cfg.untrained_best_ever()) {
            self.ckpts.retain(&keep, &referenced(&all))?;
        }
        Ok(())
    }

    fn summary(&self, last: u32) -> Result<RunSummary> {
        let all = self.store.all_trials()?;
        let initial_best = all
            .iter()
            .filter(|t| t.spec.generation == 0)
            .filter_map(|t| t.fitness)
            .fold(f64::NEG_INFINITY, f64::max);
        let best = best_trial(&all)
            .cloned()
            .context("no member finished a step")?;
        self.progress.event("done", json!({"best_fitness": best.fitness, "generation": best.spec.generation + 1,
            "slot": best.spec.slot, "genome": best.spec.plan.genome.to_string(), "initial_best": initial_best}), &format!(
            "done: best fitness {:.5} (gen {} slot {}, genome {}); best after the first step {:.5}",
            best.fitness.unwrap_or(f64::NAN),
            best.spec.generation + 1,
            best.spec.slot,
            best.spec.plan.genome,
            initial_best
        ));
        if let Some(BestMember::Untrained { child, .. }) =
            best_member(&all, self.cfg.untrained_best_ever())
        {
            let (g, slot) = (child.spec.generation + 1, child.spec.slot);
            self.progress.event("untrained_best_ever", json!({"generation": g, "slot": slot}), &format!(
                "untrained_best_ever: the best-ever model is the start state of gen {g} slot {slot} (an untrained SEARL child), as in the original; `pbtnas eval` evaluates it"
            ));
        }
        Ok(RunSummary {
            generations: last + 1,
            initial_best,
            best,
        })
    }
}

/// How often an idle worker looks whether the generation it waits for is finished.
const WAIT_POLL_MS: u64 = 25;

/// This host's name, as worker ids carry it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The id of this process's worker thread `i`: `host:pid:i`.
fn worker_id(i: usize) -> String {
    format!("{}:{}:{i}", hostname(), std::process::id())
}

/// Whether a worker id names a worker thread of this process.
fn is_this_process(worker: &str) -> bool {
    worker
        .rsplit_once(':')
        .is_some_and(|(process, _)| process == format!("{}:{}", hostname(), std::process::id()))
}

/// Whether a worker id names a process of this host that no longer exists.
pub(crate) fn is_dead_here(worker: &str) -> bool {
    let mut parts = worker.rsplitn(3, ':');
    let (_, pid, host) = (parts.next(), parts.next(), parts.next());
    host == Some(hostname().as_str())
        && pid
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Makes the steps that dead processes of this host were training pending again at once
/// (others' leases simply expire); returns how many.
fn release_dead_local_workers(store: &dyn Store) -> Result<usize> {
    let mut released = 0;
    for t in store.all_trials()? {
        if let (TrialStatus::Running, Some(w)) = (t.status, &t.worker) {
            if is_dead_here(w) && store.release(t.spec.generation, t.spec.slot, w)? {
                released += 1;
            }
        }
    }
    Ok(released)
}

/// Members trained at once when the config does not say: one per core on the CPU (each member's
/// ops then run single-threaded), `members_per_gpu` on a GPU; never more than the population.
fn default_workers(cfg: &RunConfig, device: &candle_core::Device) -> usize {
    let n = if device.is_cpu() {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        cfg.members_per_gpu
    };
    n.min(cfg.population).max(1)
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
