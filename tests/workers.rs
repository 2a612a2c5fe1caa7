//! Several worker processes on one run store: the same result as one process, whatever kills
//! them on the way (SIGKILL at random points: training, checkpoint writing, planning), on SQLite
//! and on PostgreSQL (the `_postgres` tests need `PBTNAS_TEST_POSTGRES`, a database URL, and the
//! restart test `PBTNAS_TEST_PG_RESTART`, a command restarting that server; `.ci/run` sets both).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::Value;

const STEPS: u64 = 6;
const POPULATION: u64 = 8;

/// The binary, with the store URL in the environment when the run is on PostgreSQL.
fn bin(store: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pbtnas"));
    c.env("RAYON_NUM_THREADS", "1");
    match store {
        Some(url) => c.env("PBTNAS_STORE", url),
        None => c.env_remove("PBTNAS_STORE"),
    };
    c
}

/// The test database's URL.
fn postgres_url() -> String {
    std::env::var("PBTNAS_TEST_POSTGRES").expect(
        "set PBTNAS_TEST_POSTGRES=postgres://user:password@host/db to run the PostgreSQL tests",
    )
}

/// The test's config: the regression quick run, 8 members x 6 steps, one member per process.
/// A run on PostgreSQL gets a name no earlier test run used.
fn config(root: &Path) -> PathBuf {
    let cfg = root.join("cfg.yaml");
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/quick.yaml");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let text = format!(
        "extends: {}\nname: workers-{}-{nanos}\nsteps: {STEPS}\nworkers: 1\ntask: {{iters_per_step: 1500}}\n",
        base.display(),
        std::process::id()
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// A `pbtnas` process whose stderr goes to a fresh file (shown if a process fails).
fn spawn(args: &[&str], store: Option<&str>) -> Child {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = std::env::temp_dir().join(format!("pbtnas-workers-{}-{n}.log", std::process::id()));
    bin(store)
        .args(args)
        .args(["-q", "--lease-seconds", "1"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap()
}

/// Waits for a process that must succeed; shows the stderr of every process of this test
/// binary if it does not.
fn succeeds(child: &mut Child) {
    if !child.wait().unwrap().success() {
        let prefix = format!("pbtnas-workers-{}-", std::process::id());
        for e in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let text = std::fs::read_to_string(e.path()).unwrap();
                eprintln!("{}:\n{text}", e.path().display());
            }
        }
        panic!("a pbtnas process failed");
    }
}

/// Everything that must not depend on how the run was executed: per trial its plan, lineage,
/// seed, outcome and checkpoint hash (not attempts or timings).
fn outcome(dir: &Path, store: Option<&str>) -> BTreeMap<(u64, u64), Value> {
    let out = bin(store)
        .args(["status", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], true);
    v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let key = (
                t["generation"].as_u64().unwrap(),
                t["slot"].as_u64().unwrap(),
            );
            let keep: Value = [
                "genome",
                "plan",
                "origin",
                "train_seed",
                "status",
                "fitness",
                "checkpoint",
            ]
            .iter()
            .map(|k| (k.to_string(), t[*k].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into();
            (key, keep)
        })
        .collect()
}

/// Every checkpoint file is intact: its name is the SHA-256 of its bytes.
fn checkpoints_intact(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir.join("checkpoints")).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(sha) = name.strip_suffix(".safetensors") {
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(pbtnas_nn::checkpoint::sha256_hex(&bytes), sha, "{name}");
            n += 1;
        }
    }
    n
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `pbtnas run` starting the run in `dir`, then two `pbtnas worker` processes joining it.
fn three_processes(cfg: &Path, dir: &Path, store: Option<&str>) -> Vec<Child> {
    let d = dir.to_str().unwrap();
    let mut workers = vec![spawn(
        &["run", cfg.to_str().unwrap(), "--run-dir", d],
        store,
    )];
    wait_for(&dir.join("config.yaml"));
    workers.extend((0..2).map(|_| spawn(&["worker", d], store)));
    workers
}

fn reference(root: &Path, cfg: &Path) -> BTreeMap<(u64, u64), Value> {
    let dir = root.join("one");
    succeeds(&mut spawn(
        &[
            "run",
            cfg.to_str().unwrap(),
            "--run-dir",
            dir.to_str().unwrap(),
        ],
        None,
    ));
    let r = outcome(&dir, None);
    assert_eq!(r.len() as u64, STEPS * POPULATION);
    r
}

/// One process on SQLite, then three on `store`: the same run.
fn three_processes_give_the_one_process_result(store: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let want = reference(tmp.path(), &cfg);
    let dir = tmp.path().join("three");
    let d = dir.to_str().unwrap();
    for mut w in three_processes(&cfg, &dir, store) {
        succeeds(&mut w);
    }
    assert_eq!(outcome(&dir, store), want);
    // The work was shared: more than one process trained member-steps.
    let out = bin(store).args(["status", d, "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pids: std::collections::BTreeSet<&str> = v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["worker"].as_str().unwrap().rsplit(':').nth(1).unwrap())
        .collect();
    assert!(pids.len() >= 2, "{pids:?}");
    checkpoints_intact(&dir);
}

/// Workers on `store` SIGKILLed eight times at random points and replaced; `disrupt` runs once
/// midway (a database restart): the run ends as the uninterrupted one on SQLite.
fn killed_workers_change_nothing(store: Option<&str>, disrupt: impl FnOnce()) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let want = reference(tmp.path(), &cfg);
    let dir = tmp.path().join("killed");
    let d = dir.to_str().unwrap();
    let mut workers = three_processes(&cfg, &dir, store);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut kills = 0;
    let mut disrupt = Some(disrupt);
    while kills < 8 {
        std::thread::sleep(Duration::from_millis(rng.random_range(100..900)));
        if kills == 3 {
            if let Some(f) = disrupt.take() {
                f();
            }
        }
        workers.retain_mut(|w| w.try_wait().unwrap().is_none());
        if workers.is_empty() {
            break;
        }
        let victim = rng.random_range(0..workers.len());
        workers[victim].kill().unwrap(); // SIGKILL
        workers[victim].wait().unwrap();
        workers.remove(victim);
        kills += 1;
        workers.push(spawn(&["worker", d], store));
    }
    for w in &mut workers {
        succeeds(w);
    }
    assert!(kills >= 4, "the run ended before enough kills ({kills})");
    let got = outcome(&dir, store);
    assert_eq!(
        got.len() as u64,
        STEPS * POPULATION,
        "no orphaned or duplicated trial"
    );
    assert_eq!(got, want);
    assert!(checkpoints_intact(&dir) >= POPULATION as usize);
}

#[test]
fn three_worker_processes_give_the_one_process_result() {
    three_processes_give_the_one_process_result(None);
}

#[test]
fn workers_killed_at_random_points_change_nothing() {
    killed_workers_change_nothing(None, || {});
}

#[test]
#[ignore = "needs PBTNAS_TEST_POSTGRES; .ci/run runs it"]
fn three_worker_processes_on_postgres_give_the_sqlite_result() {
    three_processes_give_the_one_process_result(Some(&postgres_url()));
}

#[test]
#[ignore = "needs PBTNAS_TEST_POSTGRES and PBTNAS_TEST_PG_RESTART; .ci/run runs it"]
fn postgres_workers_survive_kills_and_a_database_restart() {
    let restart = std::env::var("PBTNAS_TEST_PG_RESTART")
        .expect("set PBTNAS_TEST_PG_RESTART to a command that restarts the test database");
    killed_workers_change_nothing(Some(&postgres_url()), || {
        let ok = Command::new("sh").args(["-c", &restart]).status().unwrap();
        assert!(ok.success(), "{restart} failed");
    });
}
