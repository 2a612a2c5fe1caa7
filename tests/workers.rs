//! Several worker processes on one run store: the same result as one process, whatever kills
//! them or damages their checkpoints on the way (SIGKILL at random points: training, checkpoint writing, planning), on SQLite
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

/// `pbtnas run` starting the run in `dir`, then three `pbtnas worker` processes joining it.
fn four_processes(cfg: &Path, dir: &Path, store: Option<&str>) -> Vec<Child> {
    let d = dir.to_str().unwrap();
    let mut workers = vec![spawn(
        &["run", cfg.to_str().unwrap(), "--run-dir", d],
        store,
    )];
    wait_for(&dir.join("config.yaml"));
    workers.extend((0..3).map(|_| spawn(&["worker", d], store)));
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

/// One process on SQLite, then four on `store`: the same run.
fn four_processes_give_the_one_process_result(store: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let want = reference(tmp.path(), &cfg);
    let dir = tmp.path().join("four");
    for mut w in four_processes(&cfg, &dir, store) {
        succeeds(&mut w);
    }
    assert_eq!(outcome(&dir, store), want);
    let pids = worker_pids(&dir, store);
    assert!(pids.len() >= 2, "the work was shared: {pids:?}");
    checkpoints_intact(&dir);
}

/// The processes that trained the run's member-steps.
fn worker_pids(dir: &Path, store: Option<&str>) -> std::collections::BTreeSet<String> {
    let out = bin(store)
        .args(["status", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["worker"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .nth(1)
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Workers on `store` SIGKILLed eight times at random points and replaced; `disrupt` runs once
/// midway (a database restart): the run ends as the uninterrupted one on SQLite.
fn killed_workers_change_nothing(store: Option<&str>, disrupt: impl FnOnce()) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let want = reference(tmp.path(), &cfg);
    let dir = tmp.path().join("killed");
    let d = dir.to_str().unwrap();
    let mut workers = four_processes(&cfg, &dir, store);
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
        let mut victim = workers.remove(rng.random_range(0..workers.len()));
        victim.kill().unwrap(); // SIGKILL
        victim.wait().unwrap();
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
fn four_worker_processes_give_the_one_process_result() {
    four_processes_give_the_one_process_result(None);
}

#[test]
fn workers_killed_at_random_points_change_nothing() {
    killed_workers_change_nothing(None, || {});
}

#[test]
#[ignore = "needs PBTNAS_TEST_POSTGRES; .ci/run runs it"]
fn four_worker_processes_on_postgres_give_the_sqlite_result() {
    four_processes_give_the_one_process_result(Some(&postgres_url()));
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

/// A run stopped right after planning generation 3, whose inputs of that generation are then
/// damaged (one truncated, one with a flipped byte, one deleted), ends, when resumed, as the
/// undamaged run: each bad checkpoint is detected by its hash, recomputed by redoing its step
/// from that step's own inputs and seed, stored again, and the repair is recorded.
#[test]
fn damaged_checkpoints_are_redone_from_their_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let want = reference(tmp.path(), &cfg);
    let dir = tmp.path().join("damaged");
    let d = dir.to_str().unwrap();
    let mut run = spawn(&["run", cfg.to_str().unwrap(), "--run-dir", d], None);
    let status = || -> Option<Value> {
        let out = bin(None).args(["status", d, "--json"]).output().ok()?;
        serde_json::from_slice(&out.stdout).ok()
    };
    let generation_of = |t: &Value| t["generation"].as_u64().unwrap();
    let start = Instant::now();
    let v = loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "generation 3 never came"
        );
        if let Some(v) = status() {
            if v["trials"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| generation_of(t) == 2)
            {
                break v;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    run.kill().unwrap();
    run.wait().unwrap();
    // The parent checkpoints of generation 3's unfinished steps, as the store has them now.
    let v = status().unwrap_or(v);
    let mut inputs: Vec<String> = Vec::new();
    for t in v["trials"].as_array().unwrap() {
        if generation_of(t) == 2 && t["status"] != "done" {
            let sha = t["parent_checkpoint"].as_str().unwrap().to_string();
            if !inputs.contains(&sha) {
                inputs.push(sha);
            }
        }
    }
    inputs.truncate(3);
    assert!(!inputs.is_empty(), "the run was stopped too late");
    let path = |sha: &str| dir.join("checkpoints").join(format!("{sha}.safetensors"));
    for (i, sha) in inputs.iter().enumerate() {
        let mut bytes = std::fs::read(path(sha)).unwrap();
        match i {
            0 => std::fs::write(path(sha), &bytes[..bytes.len() / 2]).unwrap(),
            1 => {
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x10;
                std::fs::write(path(sha), &bytes).unwrap();
            }
            _ => std::fs::remove_file(path(sha)).unwrap(),
        }
    }
    succeeds(&mut spawn(
        &["run", cfg.to_str().unwrap(), "--run-dir", d],
        None,
    ));
    assert_eq!(outcome(&dir, None), want);
    checkpoints_intact(&dir);
    let repairs: Vec<Value> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "checkpoint_repaired")
        .collect();
    let mut repaired: Vec<&str> = repairs
        .iter()
        .map(|e| e["checkpoint"].as_str().unwrap())
        .collect();
    repaired.sort();
    let mut damaged: Vec<&str> = inputs.iter().map(String::as_str).collect();
    damaged.sort();
    assert_eq!(repaired, damaged, "each damaged input redone once");
    for e in &repairs {
        assert_eq!(e["identical"], true, "{e}");
        assert_eq!(e["generation"], 1, "{e}");
    }
    assert!(
        repairs[0]["problem"].as_str().unwrap().contains("corrupt"),
        "{}",
        repairs[0]
    );
}

/// Workers on "other machines" (each with its own fresh directory, joining by run name through
/// PostgreSQL) and checkpoints in an S3-compatible bucket: the one-process SQLite result, nothing
/// written to any local checkpoint folder, and the best member exported from the bucket. Needs a
/// build with `--features cloud`, `PBTNAS_TEST_POSTGRES` and `PBTNAS_TEST_S3`, the endpoint of an
/// S3 server with a bucket `pbtnas-test` (`.ci/run` starts moto's server).
#[test]
#[cfg(feature = "cloud")]
#[ignore = "needs PBTNAS_TEST_POSTGRES and PBTNAS_TEST_S3; .ci/run runs it"]
fn workers_without_a_shared_directory_use_s3_checkpoints() {
    let endpoint = std::env::var("PBTNAS_TEST_S3")
        .expect("set PBTNAS_TEST_S3 to an S3 endpoint (http://127.0.0.1:5123) to run this test");
    for (k, v) in [
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(k, v);
    }
    let url = postgres_url();
    let store = Some(url.as_str());
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let want = reference(tmp.path(), &cfg);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("name: "))
        .unwrap()
        .to_string();
    std::fs::write(
        &cfg,
        text + &format!("checkpoints: {{location: \"s3://pbtnas-test/{name}\"}}\n"),
    )
    .unwrap();
    let main = tmp.path().join("main");
    let mut workers = vec![spawn(
        &[
            "run",
            cfg.to_str().unwrap(),
            "--run-dir",
            main.to_str().unwrap(),
        ],
        store,
    )];
    wait_for(&main.join("config.yaml"));
    let elsewhere: Vec<PathBuf> = (0..3)
        .map(|i| tmp.path().join(format!("machine{i}")))
        .collect();
    for dir in &elsewhere {
        workers.push(spawn(
            &["worker", dir.to_str().unwrap(), "--run", &name],
            store,
        ));
    }
    for w in &mut workers {
        succeeds(w);
    }
    let got = outcome(&main, store);
    assert_eq!(got, want);
    assert!(worker_pids(&main, store).len() >= 2, "the work was shared");
    for dir in elsewhere.iter().chain([&main]) {
        assert!(!dir.join("checkpoints").exists(), "{}", dir.display());
    }
    assert!(elsewhere.iter().all(|d| d.join("store.json").exists()));
    // The bucket holds the final population's checkpoints under the prefix.
    let listing = Command::new("curl")
        .args(["-sf", &format!("{endpoint}/pbtnas-test?prefix={name}/")])
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    for ((g, _), t) in &got {
        if *g == STEPS - 1 {
            let sha = t["checkpoint"].as_str().unwrap();
            assert!(
                listing.contains(&format!("<Key>{name}/{sha}.safetensors</Key>")),
                "{sha} not in the bucket: {listing}"
            );
        }
    }
    let out = tmp.path().join("best");
    let exported = bin(store)
        .args(["export", elsewhere[0].to_str().unwrap(), "--best", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    assert!(out.join("model.safetensors").exists());
}
