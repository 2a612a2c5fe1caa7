//! `pbtnas experiment`: a tiny grid (regression task, 2 entries × 2 seeds) through the binary,
//! killed and resumed, its report checked against numbers computed here from the runs' own
//! status; and mistakes in experiment files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{done_count, kill_when, ok, pbtnas, repo, status_json, strip};

const ENTRIES: [&str; 2] = ["pbtnas", "random"];
const SEEDS: [u64; 2] = [7, 8];

const SMALL: &str = "population: 8\nsteps: 4\nworkers: 2\ntask: {iters_per_step: 150}\n";

/// The experiment file: PBT-NAS against random search, two seeds, and its two configs.
fn experiment(dir: &Path) -> PathBuf {
    for (name, base) in [("a", "pbtnas"), ("b", "random")] {
        let text = format!(
            "extends: {}\n{SMALL}",
            repo()
                .join(format!("configs/regression/{base}.yaml"))
                .display()
        );
        std::fs::write(dir.join(format!("{name}.yaml")), text).unwrap();
    }
    let file = dir.join("exp.yaml");
    std::fs::write(
        &file,
        "name: tiny\nseeds: [7, 8]\nscore: final-best\nentries:\n  - {name: pbtnas, config: a.yaml}\n  - {name: random, config: b.yaml, set: ['task.iters_per_step=100']}\n",
    )
    .unwrap();
    file
}

/// What a run decided and computed.
fn outcome(run_dir: &Path) -> Vec<Value> {
    strip(&status_json(run_dir))
}

/// The best fitness of the last generation, from the run's status.
fn final_best(run_dir: &Path) -> f64 {
    let trials = outcome(run_dir);
    let last = trials
        .iter()
        .map(|t| t["generation"].as_u64().unwrap())
        .max()
        .unwrap();
    trials
        .iter()
        .filter(|t| t["generation"].as_u64() == Some(last))
        .filter_map(|t| t["fitness"].as_f64())
        .fold(f64::NEG_INFINITY, f64::max)
}

fn done_steps(exp_dir: &Path) -> i64 {
    runs(exp_dir).iter().map(|d| done_count(d)).sum()
}

/// The grid's run directories.
fn runs(exp_dir: &Path) -> Vec<PathBuf> {
    ENTRIES
        .iter()
        .flat_map(|e| SEEDS.map(|s| exp_dir.join(e).join(format!("seed{s}"))))
        .collect()
}

/// `pbtnas experiment run FILE --exp-dir DIR -q`, to the end.
fn run_experiment(file: &Path, dir: &Path) {
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    ok(pbtnas(&["experiment", "run", file, "--exp-dir", dir, "-q"])
        .output()
        .unwrap());
}

/// `pbtnas experiment run FILE --exp-dir DIR -q` in the background.
fn spawn_experiment(file: &Path, dir: &Path) -> std::process::Child {
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    pbtnas(&["experiment", "run", file, "--exp-dir", dir, "-q"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Both experiments decided and computed the same, run by run.
fn assert_same_runs(a: &Path, b: &Path) {
    for (x, y) in runs(a).iter().zip(runs(b)) {
        assert_eq!(outcome(x), outcome(&y), "{}", x.display());
    }
}

/// The exact one-sided p of the Wilcoxon signed-rank test (alternative: x > y), by enumerating
/// all sign assignments; no ties or zeros here.
fn exact_wilcoxon_greater(x: &[f64], y: &[f64]) -> f64 {
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by(|&i, &j| d[i].abs().total_cmp(&d[j].abs()));
    let mut rank = vec![0.0; d.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as f64 + 1.0;
    }
    let observed: f64 = (0..d.len()).filter(|&i| d[i] > 0.0).map(|i| rank[i]).sum();
    let n = d.len();
    let at_least = (0..1u32 << n)
        .filter(|mask| {
            let r: f64 = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| rank[i])
                .sum();
            r >= observed
        })
        .count();
    at_least as f64 / (1u64 << n) as f64
}

#[test]
fn a_killed_experiment_resumes_to_the_same_runs_and_its_report_is_right() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path());
    let straight = tmp.path().join("straight");
    run_experiment(&file, &straight);

    // Killed in the middle of the second run (the first seed of the second entry).
    let killed = tmp.path().join("killed");
    let mut child = spawn_experiment(&file, &killed);
    kill_when(&mut child, Duration::from_secs(300), || {
        done_steps(&killed) >= 8 * 4 + 10
    });
    let partial = ok(pbtnas(&["experiment", "report", killed.to_str().unwrap()])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&partial.stdout);
    assert!(text.contains("random seed 7: unfinished"), "{text}");
    assert!(text.contains("random seed 8: not started"), "{text}");
    let status = ok(pbtnas(&["experiment", "status", killed.to_str().unwrap()])
        .output()
        .unwrap());
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("not started") && status.contains("member-steps left"),
        "{status}"
    );

    run_experiment(&file, &killed);
    assert_same_runs(&killed, &straight);
    // The entry's override and the seed reached the run's config.
    let saved = std::fs::read_to_string(killed.join("random/seed8/config.yaml")).unwrap();
    assert!(
        saved.contains("seed: 8") && saved.contains("iters_per_step: 100"),
        "{saved}"
    );

    // The report against numbers computed here.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(killed.join("report/report.json")).unwrap())
            .unwrap();
    let scores = |entry: &str| -> Vec<f64> {
        SEEDS
            .iter()
            .map(|s| final_best(&killed.join(entry).join(format!("seed{s}"))))
            .collect()
    };
    let (a, b) = (scores("pbtnas"), scores("random"));
    let rows = report["rows"].as_array().unwrap();
    for (row, v) in rows.iter().zip([&a, &b]) {
        let mean = (v[0] + v[1]) / 2.0;
        let std = (v[0] - v[1]).abs() / 2.0; // ddof 0 of two values
        assert_eq!(row["runs"], 2);
        assert!((row["mean"].as_f64().unwrap() - mean).abs() <= 1e-12 * mean.abs().max(1e-12));
        assert!((row["std"].as_f64().unwrap() - std).abs() <= 1e-12 * mean.abs().max(1e-12));
    }
    assert_eq!(rows[0]["entry"], "pbtnas");
    assert!(rows[0]["p"].is_null());
    let p = rows[1]["p"].as_f64().unwrap();
    assert_eq!(p, exact_wilcoxon_greater(&a, &b), "p of pbtnas > random");
    let md = std::fs::read_to_string(killed.join("report/report.md")).unwrap();
    assert!(md.contains("cannot go below 0.25 (2^-2)"), "{md}");
    assert!(!md.contains("missing"), "{md}");
    // Another score on the same runs: the best fitness of any step.
    let other = tmp.path().join("by-best");
    ok(pbtnas(&[
        "experiment",
        "report",
        killed.to_str().unwrap(),
        "--score",
        "best",
        "--out",
        other.to_str().unwrap(),
    ])
    .output()
    .unwrap());
    let by_best: Value =
        serde_json::from_str(&std::fs::read_to_string(other.join("report.json")).unwrap()).unwrap();
    let best_ever = |d: PathBuf| -> f64 {
        strip(&status_json(&d))
            .iter()
            .filter_map(|t| t["fitness"].as_f64())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let ours: Vec<f64> = SEEDS
        .iter()
        .map(|s| best_ever(killed.join("pbtnas").join(format!("seed{s}"))))
        .collect();
    let mean = (ours[0] + ours[1]) / 2.0;
    assert_eq!(by_best["score"], "best");
    assert!((by_best["rows"][0]["mean"].as_f64().unwrap() - mean).abs() <= 1e-12 * mean.abs());
    let csv = std::fs::read_to_string(killed.join("report/runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(std::fs::read_to_string(killed.join("report/report.html"))
        .unwrap()
        .contains("<svg"));
}

#[test]
fn experiment_mistakes_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let err = |text: &str| -> String {
        let f = tmp.path().join("bad.yaml");
        std::fs::write(&f, text).unwrap();
        let out = pbtnas(&[
            "experiment",
            "run",
            f.to_str().unwrap(),
            "--exp-dir",
            tmp.path().join("x").to_str().unwrap(),
        ])
        .output()
        .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let cfg = repo().join("configs/regression/pbtnas.yaml");
    let entry = format!("entries: [{{name: a, config: {}}}]\n", cfg.display());
    assert!(err(&format!("name: ../up\n{entry}")).contains("names a folder"));
    assert!(
        err(&format!("name: e\nbaseline: z\n{entry}")).contains("baseline \"z\" is not an entry")
    );
    assert!(err(&format!("name: e\nscore: fid\n{entry}")).contains("use best, final-best"));
    assert!(err(&format!("name: e\nseeds: [1, 1]\n{entry}")).contains("1 is listed twice"));
    assert!(err("name: e\nentries: []\n").contains("at least one entry"));
    assert!(err(&format!("name: e\nentires: []\n{entry}")).contains("unknown field `entires`"));
    // Nothing was created for a refused file.
    assert!(!tmp.path().join("x").exists());
    // A directory of another experiment is refused.
    let file = experiment(tmp.path());
    let other = tmp.path().join("other.yaml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("seeds: [7, 8]", "seeds: [9]"),
    )
    .unwrap();
    let dir = tmp.path().join("e");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("experiment.yaml"),
        "name: tiny\nseeds: [1]\nentries: [{name: a, config: /nowhere.yaml}]\n",
    )
    .unwrap();
    let out = pbtnas(&[
        "experiment",
        "run",
        other.to_str().unwrap(),
        "--exp-dir",
        dir.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds another experiment"));
    let out = pbtnas(&["experiment", "status", tmp.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an experiment directory"));
}

#[test]
fn two_processes_on_one_experiment_give_the_results_of_one() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path());
    let one = tmp.path().join("one");
    run_experiment(&file, &one);
    let two = tmp.path().join("two");
    let mut first = spawn_experiment(&file, &two);
    let start = Instant::now();
    while !two.join("experiment.yaml").exists() {
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = pbtnas(&["worker", two.to_str().unwrap(), "--workers", "1", "-q"])
        .output()
        .unwrap();
    ok(second);
    assert!(first.wait().unwrap().success());
    assert_same_runs(&two, &one);
    // The worker process trained some of the member-steps.
    let pids: std::collections::BTreeSet<String> = runs(&two)
        .iter()
        .flat_map(|d| status_json(d)["trials"].as_array().unwrap().clone())
        .filter_map(|t| {
            t["worker"]
                .as_str()
                .map(|w| w.split(':').nth(1).unwrap().to_string())
        })
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
}

#[test]
fn a_failing_run_is_reported_and_the_others_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    experiment(tmp.path());
    let file = tmp.path().join("mixed.yaml");
    std::fs::write(
        &file,
        "name: mixed\nseeds: [7]\nscore: final-best\nentries:\n  - {name: broken, config: a.yaml, set: ['strategy.parent_frac=0.1']}\n  - {name: fine, config: a.yaml}\n",
    )
    .unwrap();
    let dir = tmp.path().join("mixed");
    let out = pbtnas(&[
        "experiment",
        "run",
        file.to_str().unwrap(),
        "--exp-dir",
        dir.to_str().unwrap(),
        "-q",
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken seed 7: failed") && err.contains("1 of 2 runs failed"),
        "{err}"
    );
    assert!(status_json(&dir.join("fine/seed7"))["complete"]
        .as_bool()
        .unwrap());
    let md = std::fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(
        md.contains("| fine | 1/1 |") && md.contains("broken seed 7: not started"),
        "{md}"
    );
}

#[test]
fn every_shipped_experiment_loads_with_its_configs() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("configs/experiments")).unwrap() {
        let path = entry.unwrap().path();
        let exp = pbtnas_orchestrator::experiment::Experiment::from_file(&path)
            .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        let paper = exp.name.starts_with("table")
            || exp.name.starts_with("population")
            || exp.name == "stl-gan";
        if paper {
            assert_eq!(
                exp.seeds,
                pbtnas_orchestrator::experiment::PAPER_SEEDS,
                "{}",
                path.display()
            );
        } else {
            assert!(
                exp.seeds.len() >= 5,
                "{}: a CPU experiment has 5 seeds or more",
                path.display()
            );
        }
        for run in exp.runs(Path::new("x")) {
            let cfg = pbtnas_orchestrator::RunConfig::from_file_with(&run.config, &run.overrides)
                .unwrap_or_else(|e| panic!("{} entry {}: {e:#}", path.display(), run.entry));
            assert_eq!(cfg.seed, run.seed);
        }
        seen += 1;
    }
    assert_eq!(seen, 16, "experiment files");
}

#[test]
fn a_worker_trains_the_next_run_while_another_process_holds_the_last_steps() {
    let tmp = tempfile::tempdir().unwrap();
    experiment(tmp.path());
    // "slow": one member whose first step would take hours; "fast": a small search.
    let file = tmp.path().join("barrier.yaml");
    std::fs::write(
        &file,
        "name: barrier\nseeds: [7]\nscore: final-best\nentries:\n  - {name: slow, config: a.yaml, set: [population=1, workers=1, 'strategy={kind: random-search}', task.iters_per_step=100000000]}\n  - {name: fast, config: a.yaml, set: [workers=1]}\n",
    )
    .unwrap();
    let dir = tmp.path().join("exp");
    let (slow, fast) = (dir.join("slow/seed7"), dir.join("fast/seed7"));
    // Which processes ran the run's steps (`running` and `done` ones), read from its store.
    let workers = |run: &Path, status: &str| -> Vec<String> {
        let Ok(conn) = rusqlite::Connection::open_with_flags(
            run.join("pbtnas.sqlite"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        ) else {
            return Vec::new();
        };
        let Ok(mut q) = conn.prepare("SELECT worker FROM trials WHERE status = ?1") else {
            return Vec::new();
        };
        q.query_map([status], |r| r.get::<_, String>(0))
            .map(|rows| rows.filter_map(|w| w.ok()).collect())
            .unwrap_or_default()
    };
    let pid = |worker: &str| worker.split(':').nth(1).unwrap().to_string();
    let mut first = spawn_experiment(&file, &dir);
    let start = Instant::now();
    while workers(&slow, "running").is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "slow never started"
        );
        assert!(first.try_wait().unwrap().is_none());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut second = pbtnas(&["worker", dir.to_str().unwrap(), "-q"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The second process finds slow's only step held by the first, and trains fast meanwhile.
    let fast_steps = 8 * 4;
    while workers(&fast, "done").len() < fast_steps {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "fast was not trained"
        );
        assert!(second.try_wait().unwrap().is_none());
        std::thread::sleep(Duration::from_millis(50));
    }
    let done = workers(&fast, "done");
    assert!(
        done.iter().all(|w| pid(w) == second.id().to_string()),
        "{done:?}"
    );
    let held = workers(&slow, "running");
    assert_eq!(held.len(), 1);
    assert_eq!(pid(&held[0]), first.id().to_string());
    for mut child in [first, second] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
