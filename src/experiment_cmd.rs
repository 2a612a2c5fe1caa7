//! `pbtnas experiment run|status|report` and `pbtnas worker EXP_DIR`: a grid of runs (entries ×
//! seeds) from an experiment file, trained one after another in a fair order (seed by seed) by
//! any number of processes, resumable at any moment, with the paper's table at the end.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use pbtnas_orchestrator::best::best_trial;
use pbtnas_orchestrator::experiment::{Experiment, PlannedRun};
use pbtnas_orchestrator::progress::human_duration;
use pbtnas_orchestrator::runner::waits_on_others;
use pbtnas_orchestrator::store::TrialStatus;
use pbtnas_orchestrator::{status, RunConfig};

/// The experiment directory: `--exp-dir`, or `runs/experiments/<name>`.
pub fn exp_dir(exp: &Experiment, given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| Path::new("runs/experiments").join(&exp.name))
}

/// Trains every run of the experiment that is not complete; a run that fails is reported and
/// the others go on. `launch` trains (or resumes) one run and says whether it completed (it may
/// yield at a barrier).
pub fn run(
    file: &Path,
    dir: Option<PathBuf>,
    launch: impl Fn(&RunConfig, &Path) -> Result<bool>,
) -> Result<()> {
    let exp = Experiment::from_file(file)?;
    let dir = exp_dir(&exp, dir);
    exp.save_or_check(&dir)?;
    serve(&exp, &dir, launch)
}

/// `pbtnas worker EXP_DIR`: one more process on a started experiment. It takes the runs in the
/// same order as `experiment run` and joins the first one not complete (the run's store leases
/// its member-steps between the processes); where a run's generation waits on other processes'
/// last steps, it goes on to the next run. Any number of them share the grid.
pub fn worker(dir: &Path, launch: impl Fn(&RunConfig, &Path) -> Result<bool>) -> Result<()> {
    let exp = Experiment::load_saved(dir)?;
    serve(&exp, dir, launch)
}

fn serve(
    exp: &Experiment,
    dir: &Path,
    launch: impl Fn(&RunConfig, &Path) -> Result<bool>,
) -> Result<()> {
    let runs = exp.runs(dir);
    let mut failed = Vec::new();
    // Passes over the runs not complete, in order. A run whose generation's last steps are other
    // processes' is passed over (or yields when it gets there), so a worker helps the next run
    // instead of idling at another's barrier, and comes back on the next pass.
    let mut open: Vec<usize> = (0..runs.len()).collect();
    while !open.is_empty() {
        let mut waiting = Vec::new();
        let mut trained = false;
        for k in open {
            let r = &runs[k];
            let what = format!("[{}/{}] {} seed {}", k + 1, runs.len(), r.entry, r.seed);
            match train(r, exp, &launch) {
                Ok(Train::Complete) => println!("== {what}: complete"),
                Ok(Train::AlreadyComplete) => println!("== {what}: already complete"),
                Ok(Train::Waiting { launched }) => {
                    trained |= launched;
                    waiting.push(k);
                }
                Err(e) => {
                    eprintln!("== {what}: failed: {e:#}");
                    failed.push(format!("{} seed {}", r.entry, r.seed));
                }
            }
        }
        if !waiting.is_empty() && !trained {
            std::thread::sleep(WAIT_POLL);
        }
        open = waiting;
    }
    let report = pbtnas_report::experiment::build(exp, dir)?;
    let md = pbtnas_report::experiment::write(&report, &dir.join("report"))?;
    println!(
        "\n{md}\nreport: {}",
        dir.join("report/report.html").display()
    );
    if !failed.is_empty() {
        bail!(
            "{} of {} runs failed ({}); run the same command again to retry them",
            failed.len(),
            runs.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// How often a worker whose every open run waits on other processes looks again.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Where [`train`] left a run.
enum Train {
    Complete,
    AlreadyComplete,
    /// Its generation's last steps are other processes'; `launched`: this process trained some
    /// of it first.
    Waiting {
        launched: bool,
    },
}

/// Trains one run unless it is complete or waits on other processes, then its final evaluation
/// if asked.
fn train(
    r: &PlannedRun,
    exp: &Experiment,
    launch: &impl Fn(&RunConfig, &Path) -> Result<bool>,
) -> Result<Train> {
    let before = match r.dir.exists() {
        true => status::load(&r.dir)
            .ok()
            .map(|(trials, complete)| (complete, waits_on_others(&trials))),
        false => None,
    };
    match before {
        Some((true, _)) => {}
        Some((false, true)) => return Ok(Train::Waiting { launched: false }),
        _ => {
            let cfg = RunConfig::from_file_with(&r.config, &r.overrides)?;
            println!("== {} seed {} in {}", r.entry, r.seed, r.dir.display());
            if !launch(&cfg, &r.dir)? {
                return Ok(Train::Waiting { launched: true });
            }
        }
    }
    if let Some(eval) = &exp.final_eval {
        // The file `pbtnas eval` writes: eval.json for FID (and RL), eval_<metric>.json else.
        let metric = eval.args.windows(2).find(|w| w[0] == "--metric");
        let file = match metric.map(|w| w[1].as_str()) {
            None | Some("fid") => "eval.json".to_string(),
            Some(m) => format!("eval_{}.json", m.replace('-', "_")),
        };
        if !r.dir.join(file).exists() {
            let exe = std::env::current_exe()?;
            let ok = std::process::Command::new(exe)
                .arg("eval")
                .arg(&r.dir)
                .args(&eval.args)
                .status()?
                .success();
            if !ok {
                bail!("pbtnas eval {} failed", r.dir.display());
            }
        }
    }
    Ok(match before {
        Some((true, _)) => Train::AlreadyComplete,
        _ => Train::Complete,
    })
}

/// A line per run (entry, seed, generation, best so far, state, ETA) and the total ETA.
pub fn print_status(dir: &Path) -> Result<()> {
    let exp = Experiment::load_saved(dir)?;
    println!(
        "{:<20} {:>6} {:>9} {:>12}  {:<11} eta",
        "entry", "seed", "gen", "best", "state"
    );
    let (mut busy, mut steps_done, mut left) = (0.0, 0usize, 0usize);
    for r in exp.runs(dir) {
        let cfg = RunConfig::from_file_with(&r.config, &r.overrides)
            .with_context(|| format!("entry {}", r.entry))?;
        let planned = cfg.steps as usize * cfg.population;
        let (gen, best, state, eta) =
            if r.dir
                .join(pbtnas_orchestrator::run_dir::RunDir::STORE)
                .exists()
            {
                let (trials, complete) = status::load(&r.dir)?;
                let done: Vec<_> = trials
                    .iter()
                    .filter(|t| t.status == TrialStatus::Done)
                    .collect();
                for t in &done {
                    if let (Some(s), Some(f)) = (t.started_at, t.finished_at) {
                        busy += f - s;
                        steps_done += 1;
                    }
                }
                let finished = trials
                    .iter()
                    .filter(|t| matches!(t.status, TrialStatus::Done | TrialStatus::Failed))
                    .count();
                left += planned.saturating_sub(finished);
                let gens = trials
                    .iter()
                    .map(|t| t.spec.generation + 1)
                    .max()
                    .unwrap_or(0);
                let best = best_trial(&trials).and_then(|t| t.fitness);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                let state = if complete {
                    "done"
                } else if trials.iter().any(|t| {
                    t.status == TrialStatus::Running && t.lease_until.is_some_and(|l| l > now)
                }) {
                    "running"
                } else {
                    "stopped"
                };
                let eta = if complete {
                    String::new()
                } else {
                    status::eta(&trials, cfg.steps, cfg.population).unwrap_or_default()
                };
                (gens, best, state, eta)
            } else {
                left += planned;
                (0, None, "not started", String::new())
            };
        println!(
            "{:<20} {:>6} {:>9} {:>12}  {:<11} {eta}",
            r.entry,
            r.seed,
            format!("{gen}/{}", cfg.steps),
            best.map_or("-".into(), |b| format!("{b:.5}")),
            state
        );
    }
    if left == 0 {
        println!("complete: `pbtnas experiment report {}`", dir.display());
    } else if steps_done > 0 {
        let mean = busy / steps_done as f64;
        println!(
            "{left} member-steps left: about {} of busy member-step time at {} each",
            human_duration(left as f64 * mean),
            human_duration(mean)
        );
    } else {
        println!("{left} member-steps left");
    }
    Ok(())
}

/// Writes the report of an experiment directory (complete or not) and prints its table. `score`
/// ranks by another number than the experiment's (fitness scores: higher is better).
pub fn report(dir: &Path, out: Option<PathBuf>, score: Option<String>) -> Result<()> {
    let mut exp = Experiment::load_saved(dir)?;
    if let Some(s) = score {
        if !s.starts_with("eval:") {
            exp.lower_is_better = false;
        }
        exp.score = s;
    }
    let r = pbtnas_report::experiment::build(&exp, dir)?;
    let out = out.unwrap_or_else(|| dir.join("report"));
    let md = pbtnas_report::experiment::write(&r, &out)?;
    print!("{md}");
    println!(
        "wrote {}, {} and {}",
        out.join("report.md").display(),
        out.join("runs.csv").display(),
        out.join("report.html").display()
    );
    Ok(())
}
