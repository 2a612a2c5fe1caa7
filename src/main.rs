//! `pbtnas`: the command line. Thin: parse arguments, load the config, pick the task, call the
//! orchestrator.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use pbtnas_orchestrator::progress::Output;
use pbtnas_orchestrator::run_dir::RunDir;
use pbtnas_orchestrator::runner::GenerationHook;
use pbtnas_orchestrator::{status, RunConfig, RunOptions, RunSummary};

mod best_model;
mod eval_cmd;
mod experiment_cmd;
mod metrics_cmd;
mod replay_cmd;
mod tasks;

/// The quick default: PBT-NAS over the GanHard space on the embedded shapes, 7-8 min on 2 cores.
const QUICK_CONFIG: &str = include_str!("../configs/gan/quick.yaml");

#[derive(Parser)]
#[command(
    name = "pbtnas",
    version,
    about = "Neural architecture search by population based training with architecture mixing and shrink-perturb"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a search, or continue it if its run directory already holds it.
    Run {
        /// Config file (YAML); without one, the embedded quick default (configs/gan/quick.yaml).
        config: Option<PathBuf>,
        /// Run directory; default: runs/<name>.
        #[arg(long)]
        run_dir: Option<PathBuf>,
        /// Continue the run in this directory with its saved config.
        #[arg(long, conflicts_with_all = ["config", "run_dir"])]
        resume: Option<PathBuf>,
        /// Override a config value: `--set seed=31174 --set task.iters_per_step=200`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        #[command(flatten)]
        launch: LaunchArgs,
    },
    /// Join a run as one more worker process: lease member-steps from the run's store and train
    /// them until the run completes. Start as many as the machine holds (`pbtnas run` is one);
    /// any of them can be killed at any time. Given an experiment directory, serve its runs in
    /// the order `pbtnas experiment run` takes them, until the experiment is complete.
    Worker {
        run_dir: PathBuf,
        /// Members this process trains at once (default: as `pbtnas run` would).
        #[arg(long)]
        workers: Option<usize>,
        /// On a machine without the run's directory: join the run of this name in the
        /// PostgreSQL store (`--store`), making RUN_DIR a local working directory of it.
        #[arg(long)]
        run: Option<String>,
        #[command(flatten)]
        launch: LaunchArgs,
    },
    /// Environments: list them, or run one with a random policy.
    Env {
        #[command(subcommand)]
        command: EnvCommand,
    },
    /// Datasets: list, fetch (needs internet), import from a local path, show a grid of images.
    Data {
        #[command(subcommand)]
        command: DataCommand,
        /// Where datasets live (`<dir>/<name>`); default `$PBTNAS_DATA_DIR` or `data`.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// The best-ever member of a run as the paper reports it: GAN FID-50k (and IS), RL return over episodes with a GIF.
    Eval {
        run_dir: PathBuf,
        /// GAN: generated images.
        #[arg(long, default_value_t = 50_000)]
        samples: usize,
        /// RL: evaluation episodes.
        #[arg(long, default_value_t = 10)]
        episodes: usize,
        /// Seed of the generator noise or of the evaluation episodes.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// `auto`, `cpu`, `cuda:N`.
        #[arg(long, default_value = "auto")]
        device: String,
        /// GAN: `fid` (with KID and IS, as the paper), `fd-dinov2` (DINOv2 ViT-L/14 features;
        /// `pbtnas metrics import-weights` and `ref-stats --extractor dinov2` first), or a CPU
        /// proxy: `fd-classifier` (`pbtnas metrics train-classifier` first), `fd-pixels8`.
        #[arg(long, default_value = "fid")]
        metric: String,
        /// GAN: the Inception Score as the paper reported it (`paper`: torchmetrics over 49,920
        /// further uint8 samples, std ddof 1) or on the FID samples (`same-samples`, std ddof 0).
        #[arg(long = "is", default_value = "paper", value_parser = ["paper", "same-samples"])]
        is_protocol: String,
        /// GAN FID: reference statistics to compare with (e.g. published TTUR / clean-fid `.npz`)
        /// instead of the run's `ref_stats` or `<data dir>/stats/<dataset>-inception.npz`.
        #[arg(long)]
        ref_stats: Option<PathBuf>,
        /// GAN FID: the SHA-256 (hex) the reference statistics must have, e.g. the one published
        /// with a downloaded file; a different file is refused.
        #[arg(long)]
        ref_stats_sha256: Option<String>,
    },
    /// GAN metrics: convert Inception weights, compute reference statistics.
    Metrics {
        #[command(subcommand)]
        command: metrics_cmd::MetricsCommand,
        /// Where datasets, weights and statistics live; default `$PBTNAS_DATA_DIR` or `data`.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Show the population table of a run's newest generation.
    Status {
        run_dir: PathBuf,
        /// Every trial of the run (plans, lineage, fitness) as JSON.
        #[arg(long)]
        json: bool,
        /// Refresh every this many seconds until the run completes (Ctrl-C to leave).
        #[arg(long, value_name = "SECONDS")]
        watch: Option<f64>,
    },
    /// Static HTML report of a run (plots, lineage, best architecture, samples), the flat
    /// exports (metrics.jsonl, population.csv, lineage.dot) and the TensorBoard files.
    Report {
        run_dir: PathBuf,
        /// Report folder; default RUN_DIR/report.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Experiments: a grid of runs (entries × seeds) from an experiment file, trained and
    /// reported as the paper's tables (configs/experiments/).
    Experiment {
        #[command(subcommand)]
        command: ExperimentCommand,
    },
    /// Several runs side by side: mean ± std (ddof 0) per config, one-sided Wilcoxon
    /// signed-rank test of the first config against each other one (runs paired by seed).
    Compare {
        #[arg(required = true)]
        run_dirs: Vec<PathBuf>,
        /// `best` (best-ever fitness), `final-best`, `final-median`, or `eval:<key>` from eval.json.
        #[arg(long, default_value = "best")]
        score: pbtnas_report::compare::Score,
        /// The score is better when lower (e.g. `eval:fid`).
        #[arg(long)]
        lower_is_better: bool,
        /// Also write compare.svg and compare.txt here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Retrains the best member's lineage as one model from scratch: generation by generation
    /// the genome its line had (changed genes' layers reinitialised), or with `--final-only` its
    /// final architecture throughout; in RUN/replay-<trial>, a run like any other.
    Replay {
        run_dir: PathBuf,
        /// The member to replay (`g006_s03`); default: the best-ever one.
        #[arg(long)]
        trial: Option<String>,
        /// Train the member's final architecture for the whole budget instead of its schedule.
        #[arg(long)]
        final_only: bool,
        /// Run directory of the replay; default RUN/replay-<trial>[-final].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        launch: LaunchArgs,
    },
    /// The best-ever member for use outside the search: architecture.yaml, space.yaml and
    /// model.safetensors.
    Export {
        run_dir: PathBuf,
        /// Export the best-ever member (the only choice for now).
        #[arg(long, required = true)]
        best: bool,
        /// Output folder; default RUN_DIR/export.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// How a process that trains members runs: its output, its device, its leases.
#[derive(clap::Args, Clone)]
struct LaunchArgs {
    /// No progress output on the terminal (log.txt and events.jsonl in the run directory
    /// still get it).
    #[arg(long, short, conflicts_with = "json")]
    quiet: bool,
    /// Progress as JSON lines on stdout (one object per event), for scripts and clusters.
    #[arg(long)]
    json: bool,
    /// `auto` (a CUDA GPU if built with `--features cuda` and one is present), `cpu`, `cuda:N`.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Seconds a worker's claim on a member-step lasts unless renewed (every quarter of it):
    /// a killed worker's step is taken over by another worker after this long.
    #[arg(long, default_value_t = 60.0)]
    lease_seconds: f64,
    /// Keep the run's state in PostgreSQL (`postgres://user:password@host/db`, add
    /// `?sslmode=require` for TLS) so workers on many machines share it; default: SQLite in the
    /// run directory. Better from the environment or a file than on the command line.
    #[arg(long, env = "PBTNAS_STORE", hide_env_values = true)]
    store: Option<String>,
    /// A file holding the store URL (first line).
    #[arg(long, conflicts_with = "store")]
    store_file: Option<PathBuf>,
    /// Start a new run even when its estimated memory or disk (printed at the start) is beyond
    /// what this machine has free.
    #[arg(long)]
    allow_large: bool,
}

impl LaunchArgs {
    /// The PostgreSQL store URL, if one is given.
    fn store_url(&self) -> Result<Option<String>> {
        match &self.store_file {
            Some(f) => {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading the store file {}", f.display()))?;
                Ok(text.lines().next().map(|l| l.trim().to_string()))
            }
            None => Ok(self.store.clone()),
        }
    }
}

#[derive(Subcommand)]
enum ExperimentCommand {
    /// Train every run of the experiment that is not complete (seed by seed, so that partial
    /// results cover every entry), then write its report. Resumable: run it again after a stop.
    Run {
        file: PathBuf,
        /// Experiment directory; default runs/experiments/<name>.
        #[arg(long)]
        exp_dir: Option<PathBuf>,
        #[command(flatten)]
        launch: LaunchArgs,
    },
    /// A line per run: entry, seed, generation, best so far, state, ETA.
    Status { exp_dir: PathBuf },
    /// The table (mean ± std, Wilcoxon against the baseline), curves and what is missing, as
    /// report.md, runs.csv and report.html.
    Report {
        exp_dir: PathBuf,
        /// Where to write; default EXP_DIR/report.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Rank by this instead of the experiment's score: `best`, `final-best`, `final-median`
        /// (fitness, higher is better) or `eval:<key>` (the experiment's direction).
        #[arg(long)]
        score: Option<String>,
    },
}

#[derive(Subcommand)]
enum EnvCommand {
    /// The embedded tasks (and the `dmc/` MuJoCo ones with `--features mujoco`).
    List,
    /// Runs episodes of a task from pixels (DrQ-v2 wrappers) with a uniform random policy,
    /// prints returns and speed, and saves the first episode as a GIF.
    Run {
        task: String,
        #[arg(long, default_value_t = 1)]
        episodes: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// GIF of the first episode (agent frames).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = 84)]
        size: usize,
        #[arg(long, default_value_t = 2)]
        action_repeat: usize,
        /// `raycast` (default) or `mujoco` (MuJoCo's own renderer; `--features mujoco-gl`).
        #[arg(long, default_value = "raycast")]
        renderer: String,
        /// Camera id (default: DrQ-v2's camera for the task).
        #[arg(long)]
        camera: Option<usize>,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// The dataset names.
    List,
    /// Downloads a dataset from its official source and verifies its checksums.
    Fetch { name: String },
    /// Copies a dataset from a local archive or folder of the official files, verified.
    Import { name: String, path: PathBuf },
    /// Writes a PNG grid of the first 64 training images.
    Show {
        name: String,
        #[arg(long)]
        out: PathBuf,
        /// Image size for `sprites` and `folder:` datasets.
        #[arg(long, default_value_t = 32)]
        size: usize,
    },
}

fn main() {
    // Freed memory stays in the heap for reuse (2x on large updates, crates/nn/src/alloc.rs);
    // `PBTNAS_KEEP_FREED_MEMORY=0` leaves glibc's defaults.
    if std::env::var("PBTNAS_KEEP_FREED_MEMORY").as_deref() != Ok("0") {
        pbtnas_nn::alloc::keep_freed_memory();
    }
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    // A diagnostic setting (side-by-side timings, a way around a failing GPU kernel): checked
    // before any work and said once.
    let candle_ops = pbtnas_nn::ops::candle_ops_from_env()?;
    if !candle_ops.is_empty() {
        let names: Vec<_> = candle_ops.iter().map(|g| g.name()).collect();
        eprintln!(
            "PBTNAS_CANDLE_OPS: {} on candle's own ops",
            names.join(", ")
        );
    }
    match cli.command {
        Command::Run {
            config,
            run_dir,
            resume,
            overrides,
            launch: how,
        } => {
            let (cfg, run_dir) = match (config, resume) {
                (_, Some(dir)) => (RunDir(&dir).saved_config(&overrides)?, dir),
                (config, None) => {
                    let cfg = match config {
                        Some(path) => RunConfig::from_file_with(&path, &overrides)?,
                        None if overrides.is_empty() => {
                            RunConfig::from_yaml(QUICK_CONFIG).context("embedded quick config")?
                        }
                        None => bail!("--set needs a config file (e.g. configs/gan/quick.yaml)"),
                    };
                    let dir = run_dir.unwrap_or_else(|| Path::new("runs").join(&cfg.name));
                    (cfg, dir)
                }
            };
            launch(&cfg, &run_dir, &how, false).map(drop)
        }
        Command::Worker {
            run_dir,
            workers,
            run,
            launch: how,
        } => {
            if run_dir.join(pbtnas_orchestrator::experiment::FILE).exists() {
                return experiment_cmd::worker(&run_dir, |cfg, dir| {
                    let mut cfg = cfg.clone();
                    cfg.workers = workers.or(cfg.workers);
                    launch(&cfg, dir, &how, true).map(|s| s.is_some())
                });
            }
            if let Some(name) = &run {
                if !RunDir(&run_dir).config().exists() {
                    let url = how.store_url()?.context(
                        "--run joins a run in a PostgreSQL store: give its URL (--store, --store-file or PBTNAS_STORE)",
                    )?;
                    pbtnas_orchestrator::store::join_run(&run_dir, &url, name)?;
                }
            }
            let mut cfg = RunDir(&run_dir).saved_config(&[])?;
            cfg.workers = workers;
            launch(&cfg, &run_dir, &how, false).map(drop)
        }
        Command::Replay {
            run_dir,
            trial,
            final_only,
            out,
            launch: how,
        } => replay_cmd::run(&run_dir, trial.as_deref(), final_only, out, |cfg, dir| {
            launch(cfg, dir, &how, false)
                .map(|s| s.expect("a run that does not yield at barriers completes"))
        }),
        Command::Env { command } => env_command(command),
        Command::Data { command, data_dir } => data_command(command, &data_root(data_dir)),
        Command::Eval {
            run_dir,
            samples,
            episodes,
            seed,
            device,
            metric,
            is_protocol,
            ref_stats,
            ref_stats_sha256,
        } => eval_cmd::run(
            &run_dir,
            &pbtnas_task::EvalArgs {
                samples,
                episodes,
                seed,
                metric,
                is_protocol,
                ref_stats,
                ref_stats_sha256,
            },
            &device,
        ),
        Command::Metrics { command, data_dir } => metrics_cmd::run(command, &data_root(data_dir)),
        Command::Status {
            run_dir,
            json,
            watch,
        } => loop {
            let (trials, complete) = status::load(&run_dir)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&status::to_json(&trials, complete))?
                );
            } else {
                if watch.is_some() {
                    // Clear the screen and go home, then redraw.
                    println!("\x1b[2J\x1b[H{}", run_dir.display());
                }
                let steps = status::planned_steps(&run_dir);
                let untrained = RunDir(&run_dir)
                    .saved_config(&[])
                    .is_ok_and(|c| c.untrained_best_ever());
                print!("{}", status::table(&trials, complete, steps, untrained));
            }
            match watch {
                Some(secs) if !complete => {
                    std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.2)))
                }
                _ => return Ok(()),
            }
        },
        Command::Report { run_dir, out } => {
            let run = pbtnas_report::RunData::load(&run_dir)?;
            let out = out.unwrap_or_else(|| run_dir.join("report"));
            let index = pbtnas_report::html::write(&run, &out)?;
            pbtnas_report::tensorboard::write(&run, &run_dir.join("tensorboard"))?;
            println!(
                "report: {}\nTensorBoard: tensorboard --logdir {}",
                index.display(),
                run_dir.join("tensorboard").display()
            );
            Ok(())
        }
        Command::Experiment { command } => match command {
            ExperimentCommand::Run {
                file,
                exp_dir,
                launch: how,
            } => experiment_cmd::run(&file, exp_dir, |cfg, dir| {
                launch(cfg, dir, &how, true).map(|s| s.is_some())
            }),
            ExperimentCommand::Status { exp_dir } => experiment_cmd::print_status(&exp_dir),
            ExperimentCommand::Report {
                exp_dir,
                out,
                score,
            } => experiment_cmd::report(&exp_dir, out, score),
        },
        Command::Compare {
            run_dirs,
            score,
            lower_is_better,
            out,
        } => {
            let runs = run_dirs
                .iter()
                .map(|d| pbtnas_report::RunData::load(d))
                .collect::<Result<Vec<_>>>()?;
            let c = pbtnas_report::compare::compare(&runs, &score, !lower_is_better)?;
            let table = pbtnas_report::compare::table(&c);
            print!("{table}");
            if let Some(out) = out {
                std::fs::create_dir_all(&out)?;
                std::fs::write(out.join("compare.txt"), &table)?;
                std::fs::write(out.join("compare.svg"), pbtnas_report::compare::svg(&c)?)?;
                println!("wrote {}", out.join("compare.svg").display());
            }
            Ok(())
        }
        Command::Export { run_dir, best, out } => {
            debug_assert!(best);
            let run = pbtnas_report::RunData::load(&run_dir)?;
            let member = run
                .best()
                .with_context(|| format!("{} has no finished member yet", run.name()))?;
            let cfg = RunDir(&run_dir).saved_config(&[])?;
            let state = best_model::state(&run_dir, &cfg, member, &candle_core::Device::Cpu)?;
            let out = out.unwrap_or_else(|| run_dir.join("export"));
            for f in pbtnas_report::best::export_best(&run, member, state, &out)? {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
    }
}

/// Runs (or resumes) a search in `run_dir` with live TensorBoard files, and prints its summary
/// (unless the progress is JSON lines, whose `done` event says it). `yield_at_barrier`: an
/// experiment's process, which leaves a run whose generation waits on other processes (`None`).
fn launch(
    cfg: &RunConfig,
    run_dir: &Path,
    how: &LaunchArgs,
    yield_at_barrier: bool,
) -> Result<Option<RunSummary>> {
    let output = match (how.quiet, how.json) {
        (true, _) => Output::Quiet,
        (_, true) => Output::JsonLines,
        _ => Output::Text,
    };
    let opts = RunOptions {
        lease_seconds: how.lease_seconds,
        store: how.store_url()?,
        run_dir: run_dir.to_path_buf(),
        output,
        device: pbtnas_nn::parse_device(&how.device)?,
        after_generation: Some(tensorboard_hook()),
        allow_large: how.allow_large,
        yield_at_barrier,
    };
    share_cores(cfg, &opts);
    let Some(summary) = tasks::run(tasks::TASKS, cfg, &opts)? else {
        return Ok(None);
    };
    if output != Output::JsonLines {
        println!(
            "best fitness {:.6} (generation {}, slot {}), best after the first step {:.6}\ngenome {}\nrun directory: {}  (see `pbtnas status {}`)",
            summary.best.fitness.unwrap_or(f64::NAN),
            summary.best.spec.generation + 1,
            summary.best.spec.slot,
            summary.initial_best,
            summary.best.spec.plan.genome,
            run_dir.display(),
            run_dir.display()
        );
        // What to open next: the best member's samples (GAN), the report.
        let (g, slot) = (summary.best.spec.generation + 1, summary.best.spec.slot);
        let grid = run_dir.join(format!(
            "{}/samples/gen{g:03}_slot{slot:02}.png",
            RunDir::ARTIFACTS
        ));
        if grid.exists() {
            println!("best member's samples: {}", grid.display());
        }
        println!(
            "report: `pbtnas report {}` (HTML with plots and lineage)",
            run_dir.display()
        );
    }
    Ok(Some(summary))
}

/// Refreshes `RUN_DIR/tensorboard` after each generation, so a live TensorBoard follows the run.
fn tensorboard_hook() -> GenerationHook {
    GenerationHook(std::sync::Arc::new(|dir: &Path| {
        let run = pbtnas_report::RunData::load(dir)?;
        pbtnas_report::tensorboard::write(&run, &dir.join("tensorboard"))
    }))
}

/// On the CPU, members already train in parallel: each member's ops get `cores / workers` threads
/// (unless `RAYON_NUM_THREADS` says otherwise), so threads do not spin against each other.
fn share_cores(cfg: &RunConfig, opts: &RunOptions) {
    if !opts.device.is_cpu() || std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cfg.workers.unwrap_or(cores).min(cfg.population).max(1);
    let per_member = (cores / workers).max(1);
    // Before any thread pool exists: candle and gemm read it when they start theirs.
    std::env::set_var("RAYON_NUM_THREADS", per_member.to_string());
}

fn env_command(command: EnvCommand) -> Result<()> {
    use pbtnas_env::{render::Image, Env, TASKS};
    use rand::{Rng, SeedableRng};
    match command {
        EnvCommand::List => {
            for t in TASKS {
                println!("{t}");
            }
            #[cfg(feature = "mujoco")]
            for t in pbtnas_env::mujoco::MUJOCO_TASKS {
                println!("{t}");
            }
            Ok(())
        }
        EnvCommand::Run {
            task,
            episodes,
            seed,
            out,
            size,
            action_repeat,
            renderer,
            camera,
        } => {
            let mut inner = match renderer.as_str() {
                "raycast" => pbtnas_env::DmcEnv::new(&task)?,
                "mujoco" => pbtnas_env::DmcEnv::with_mujoco_renderer(&task)?,
                other => bail!("unknown renderer '{other}' (raycast, mujoco)"),
            };
            if let Some(id) = camera {
                inner.task_mut().set_camera(id)?;
            }
            let mut env = pbtnas_env::wrappers::wrap(inner, action_repeat, size, 3);
            println!("{task}: frames by {}", env.renderer());
            let n = env.action_space().size();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut frames = Vec::new();
            for e in 0..episodes {
                let start = std::time::Instant::now();
                let (mut obs, _) = env.reset(Some(seed + e))?;
                let (mut ret, mut steps) = (0.0, 0u64);
                loop {
                    if e == 0 && out.is_some() {
                        // the newest frame of the stack, CHW -> HWC
                        let plane = size * size;
                        let newest = &obs[obs.len() - 3 * plane..];
                        let data = (0..plane)
                            .flat_map(|p| (0..3).map(move |c| newest[c * plane + p]))
                            .collect();
                        frames.push(Image {
                            width: size,
                            height: size,
                            data,
                        });
                    }
                    let a: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let s = env.step(&a)?;
                    ret += s.reward;
                    steps += 1;
                    obs = s.obs;
                    if s.terminated || s.truncated {
                        break;
                    }
                }
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "episode {}: return {ret:.1} over {steps} agent steps ({:.0} frames/s)",
                    e + 1,
                    (steps as usize * action_repeat) as f64 / secs
                );
            }
            if let Some(path) = out {
                pbtnas_env::video::write_gif(&frames, &path, 40)?;
                println!("wrote {} ({} frames)", path.display(), frames.len());
            }
            Ok(())
        }
    }
}

/// `--data-dir`, else `$PBTNAS_DATA_DIR`, else `data`.
fn data_root(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("PBTNAS_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"))
}

fn data_command(command: DataCommand, dir: &Path) -> Result<()> {
    use pbtnas_data::fetch;
    match command {
        DataCommand::List => {
            for d in pbtnas_data::DATASETS {
                let here = dir.join(d).exists() || matches!(d, "sprites" | "shapes");
                println!(
                    "{d:<14} {}",
                    if here {
                        "available"
                    } else {
                        "not in the data dir"
                    }
                );
            }
            println!("folder:<path>  any folder of PNG/JPEG images");
        }
        DataCommand::Fetch { name } => {
            println!("{name} ready in {}", fetch::fetch(&name, dir)?.display())
        }
        DataCommand::Import { name, path } => println!(
            "{name} imported into {}",
            fetch::import(&name, &path, dir)?.display()
        ),
        DataCommand::Show { name, out, size } => {
            let set = pbtnas_data::load(&name, dir, size)?;
            let (w, h, data) = set.grid(8, 8);
            image::RgbImage::from_raw(w as u32, h as u32, data)
                .context("grid size")?
                .save(&out)?;
            println!(
                "{name}: {} images of {}x{}x{}; grid written to {}",
                set.len(),
                set.c,
                set.h,
                set.w,
                out.display()
            );
        }
    }
    Ok(())
}
