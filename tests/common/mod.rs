//! Helpers shared by the binary's end-to-end tests.
#![allow(dead_code)] // each test file uses some of them

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary with `args`, one thread per member.
pub fn pbtnas(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pbtnas"));
    c.args(args).env("RAYON_NUM_THREADS", "1");
    c
}

/// The output of a command that must have succeeded.
pub fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "pbtnas failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `pbtnas status RUN --json`.
pub fn status_json(run_dir: &Path) -> Value {
    let out = ok(pbtnas(&["status", run_dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Member-steps done in a run, read from its store while it runs (0 before it exists).
pub fn done_count(dir: &Path) -> i64 {
    let db = dir.join("pbtnas.sqlite");
    if !db.exists() {
        return 0;
    }
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row(
        "SELECT COUNT(*) FROM trials WHERE status = 'done'",
        [],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

/// Waits until `ready` (the child still running, at most `limit`), then SIGKILLs the child.
pub fn kill_when(child: &mut Child, limit: Duration, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "the run did not progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// A status's trials without what may differ between equal runs: how many tries, which process.
pub fn strip(status: &Value) -> Vec<Value> {
    status["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.as_object_mut().unwrap().remove("attempts");
            t.as_object_mut().unwrap().remove("worker");
            t
        })
        .collect()
}
