//! The device check (`scripts/bench/gpu-check.sh run`) is one script run on a GPU machine whose time is
//! scarce; here it runs its CPU mode (`CHECK_DEVICE=cpu`, toy sizes) over a bundle of the debug
//! binaries, so that every stage's command line (timers, PyTorch scripts, the paper config with
//! its overrides, status) is known to work before a GPU sees it. It runs the examples as they were
//! last built: `cargo test --workspace` builds them, `cargo test --test gpu_check` alone does not.

use std::path::{Path, PathBuf};
use std::process::Command;

fn json_lines(text: &str, framework: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["framework"] == framework)
        .collect()
}

/// A Python with PyTorch, if this machine has one (`scripts/setup/torch.sh`).
fn python_with_torch(repo: &Path) -> Option<PathBuf> {
    let py = repo.join(".venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import torch"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

#[test]
fn the_device_check_runs_every_stage_on_the_cpu() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bundle = tempfile::tempdir().unwrap();
    let pbtnas = PathBuf::from(env!("CARGO_BIN_EXE_pbtnas"));
    // The timers are examples: `cargo test` builds them next to the binaries' `deps`.
    let examples = pbtnas.parent().unwrap().join("examples");
    std::fs::copy(&pbtnas, bundle.path().join("pbtnas")).unwrap();
    for name in ["gan_step", "drq_update"] {
        let exe = examples.join(name);
        assert!(
            exe.exists(),
            "{} is missing: build the examples first (`cargo build --examples`; `cargo test --workspace` builds them too)",
            exe.display()
        );
        std::fs::copy(&exe, bundle.path().join(name)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let torch = python_with_torch(&repo);
    let run = Command::new("bash")
        .arg(repo.join("scripts/bench/gpu-check.sh"))
        .arg("run")
        .env("CHECK_DEVICE", "cpu")
        .env("BUNDLE", bundle.path())
        .env("OUT", out.path())
        .env("PYTHON", torch.as_deref().unwrap_or(Path::new("python3")))
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}");
    // Stages in order, the last one reached.
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("== [")).collect();
    assert_eq!(stages.len(), 10, "{text}");
    // Nothing failed but, where this machine has no PyTorch, its side.
    let failed = stages[9].split("done; failed: ").nth(1);
    let want = match torch {
        Some(_) => "none".to_string(),
        None => ["gan", "drq", "gan", "drq", "gan"]
            .map(|s| format!("python3 {s}_torch.py"))
            .join(", "),
    };
    assert_eq!(failed, Some(want.as_str()), "{text}");
    // Candle's timers: CIFAR-like, profiled, on candle's own ops (all groups, convolutions), two
    // members at once, STL-like; DrQ-v2 updates, plain, profiled and on candle's own ops.
    let candle = json_lines(&text, "candle");
    let with = |key: &str| -> Vec<&serde_json::Value> {
        candle.iter().filter(|v| v[key].is_number()).collect()
    };
    let (gan, drq) = (with("ms_per_iter"), with("ms_per_update"));
    assert_eq!((gan.len(), drq.len()), (7, 3), "{text}");
    assert!(gan.iter().all(|v| v["device"] == "cpu"));
    let all = serde_json::json!(["conv", "norm", "upsample", "update"]);
    let ops: Vec<_> = gan.iter().chain(&drq).map(|v| &v["candle_ops"]).collect();
    let none = &serde_json::json!([]);
    let conv = &serde_json::json!(["conv"]);
    assert_eq!(
        ops,
        [none, none, &all, conv, none, none, none, none, none, &all],
        "{text}"
    );
    // The profiled runs give their phases, which add up to at most the whole.
    for (line, total) in [(gan[1], "ms_per_iter"), (drq[1], "ms_per_update")] {
        let phases: Vec<f64> = line
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("profile/"))
            .map(|(_, v)| v.as_f64().unwrap())
            .collect();
        assert!(phases.len() >= 7, "{line}");
        let whole = line[total].as_f64().unwrap();
        assert!(phases.iter().sum::<f64>() <= whole + 0.01, "{line}");
    }
    assert!(gan[0].get("profile/d_adam_ms").is_none());
    // The PBT step of the paper config ran both steps and `status` read the run.
    assert!(
        text.contains("generation 2 (8/8 done), run complete"),
        "{text}"
    );
    // With PyTorch here, its side ran too, on the same networks.
    if torch.is_some() {
        let torch = json_lines(&text, "pytorch");
        assert_eq!(torch.len(), 5, "{text}");
        assert_eq!(torch[0]["params_g"], gan[0]["params_g"]);
        assert_eq!(torch[0]["params_d"], gan[0]["params_d"]);
        assert_eq!(torch[1]["params"], drq[0]["params"]);
        assert!(torch[2]["profile/d_adam_ms"].is_number(), "{text}");
        assert!(torch[3]["profile/critic_adam_ms"].is_number(), "{text}");
    }
    // Everything was also written to the results file.
    let file = std::fs::read_to_string(out.path().join("gpu-check.txt")).unwrap();
    assert!(file.contains("device cpu"), "{file}");
}
