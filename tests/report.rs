//! Seeing a run: `report`, TensorBoard files, lineage, `compare`, `export --best`, `status
//! --watch`, on a quick regression search; the page rendered in headless Chromium.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pbtnas_report::tfevents::records;
use serde_json::Value;

fn pbtnas(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_pbtnas"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pbtnas {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A config file extending the regression quick config with `extra` YAML lines.
fn quick_config(root: &Path, name: &str, extra: &str) -> PathBuf {
    let cfg = root.join(format!("{name}.yaml"));
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/quick.yaml");
    std::fs::write(&cfg, format!("extends: {}\n{extra}", base.display())).unwrap();
    cfg
}

/// A finished 6-step PBT-NAS run of the regression task with the given seed.
fn quick_run(root: &Path, seed: u64) -> PathBuf {
    let extra = format!("steps: 6\nseed: {seed}\ntask: {{iters_per_step: 20}}\n");
    let cfg = quick_config(root, &format!("cfg{seed}"), &extra);
    let dir = root.join(format!("run{seed}"));
    pbtnas(&[
        "run",
        cfg.to_str().unwrap(),
        "--run-dir",
        dir.to_str().unwrap(),
        "-q",
    ]);
    dir
}

/// `(from, to, donor)` edges as `gGGG_sSS` ids.
type Edges = BTreeSet<(String, String, bool)>;

/// The lineage decisions as the store holds them (`status --json`).
fn store_edges(dir: &Path) -> Edges {
    let out = pbtnas(&["status", dir.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut edges = Edges::new();
    for t in v["trials"].as_array().unwrap() {
        let g = t["generation"].as_u64().unwrap();
        if g == 0 {
            continue;
        }
        let to = format!("g{:03}_s{:02}", g + 1, t["slot"].as_u64().unwrap());
        let from = |s: &Value| format!("g{:03}_s{:02}", g, s.as_u64().unwrap());
        let plan = &t["plan"];
        if !plan["parent"].is_null() {
            edges.insert((from(&plan["parent"]), to.clone(), false));
        }
        if let Some(d) = plan["donor"].get("slot") {
            edges.insert((from(d), to.clone(), true));
        }
    }
    edges
}

/// The edges drawn in the report's `lineage.dot`.
fn dot_edges(dot: &str) -> Edges {
    dot.lines()
        .filter_map(|l| {
            let (a, rest) = l.trim().split_once(" -> ")?;
            let (b, attrs) = rest.split_once(' ')?;
            Some((a.to_string(), b.to_string(), attrs.contains("dashed")))
        })
        .collect()
}

#[test]
fn report_exports_and_lineage_match_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = quick_run(tmp.path(), 3);
    let out = pbtnas(&["report", dir.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("index.html"));
    let report = dir.join("report");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for id in pbtnas_report::html::SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    // Every image the page shows exists.
    let srcs: Vec<&str> = html
        .split("<img src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(
        srcs.len(),
        5,
        "five figures (the regression task leaves no images)"
    );
    for src in srcs {
        let svg = std::fs::read_to_string(report.join(src)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{src}");
    }

    // The lineage drawn is the lineage decided: every parent and donor edge, nothing else.
    let store = store_edges(&dir);
    let dot = std::fs::read_to_string(report.join("lineage.dot")).unwrap();
    assert_eq!(dot_edges(&dot), store);
    assert_eq!(
        store.iter().filter(|e| !e.2).count(),
        8 * 5,
        "a parent edge per later trial"
    );
    assert_eq!(
        store.iter().filter(|e| e.2).count(),
        2 * 5,
        "two children per generation"
    );
    // The page lists every donor edge with the genes it gave.
    let details = html.split("<details>").nth(1).unwrap();
    let details = details.split("</details>").next().unwrap();
    assert_eq!(details.matches("<tr><td>").count(), 2 * 5, "{details}");

    // The library view agrees with the store: block history sums to 1, starts uniform.
    let run = pbtnas_report::RunData::load(&dir).unwrap();
    let blocks = pbtnas_report::history::block_history(&run);
    assert_eq!(blocks.len(), 6);
    assert_eq!(blocks[0], vec![0.125; 8]);
    for g in &blocks {
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    let series = pbtnas_report::history::fitness_series(&run);
    let all_best = run
        .trials
        .iter()
        .filter_map(|t| t.fitness)
        .fold(f64::MIN, f64::max);
    assert_eq!(series.best_so_far[5], Some(all_best));
    assert!(series.best_so_far.windows(2).all(|w| w[1] >= w[0]));

    // Flat exports: one CSV row per trial, one JSON line per trial and metric.
    let csv = std::fs::read_to_string(report.join("population.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 48);
    let jsonl = std::fs::read_to_string(report.join("metrics.jsonl")).unwrap();
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: usize = run.trials.iter().map(|t| 1 + t.metrics.len()).sum();
    assert_eq!(lines.len(), expected);
    assert!(lines
        .iter()
        .any(|l| l["key"] == "fitness" && l["trial"] == "g006_s07"));

    // TensorBoard files were written by the run itself, generation by generation.
    let tb = dir.join("tensorboard");
    let pop = std::fs::read(tb.join("population/events.out.tfevents.0.pbtnas")).unwrap();
    assert_eq!(
        records(&pop).unwrap().len(),
        1 + 3 * 6,
        "version + best/median/best-so-far per generation"
    );
    for slot in 0..8 {
        let f = std::fs::read(tb.join(format!(
            "members/slot_{slot:02}/events.out.tfevents.0.pbtnas"
        )))
        .unwrap();
        let per_step = 1 + 1 + run.trials[slot].metrics.len();
        assert_eq!(records(&f).unwrap().len(), 1 + 6 * per_step);
    }
    let lineages: Vec<String> = std::fs::read_dir(tb.join("lineage"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(lineages.len(), 8);
    assert!(
        lineages.iter().all(|n| n.starts_with("g006_")),
        "{lineages:?}"
    );

    // The best member exported for use outside the search.
    let out = dir.join("best");
    pbtnas(&[
        "export",
        dir.to_str().unwrap(),
        "--best",
        "--out",
        out.to_str().unwrap(),
    ]);
    let arch = std::fs::read_to_string(out.join("architecture.yaml")).unwrap();
    let best = pbtnas_orchestrator::best::best_trial(&run.trials).unwrap();
    assert!(arch.contains(&best.spec.plan.genome.to_string()), "{arch}");
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert!(
        st.names().iter().any(|n| n.starts_with("net.")),
        "{:?}",
        st.names()
    );
    assert!(!st.names().iter().any(|n| n.starts_with("opt.")));

    // `status --watch` on a finished run prints once and returns.
    let out = pbtnas(&["status", dir.to_str().unwrap(), "--watch", "1"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("run complete"));
}

#[test]
fn replay_retrains_the_best_line_as_one_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = quick_run(tmp.path(), 5);
    let run = pbtnas_report::RunData::load(&dir).unwrap();
    let best = pbtnas_orchestrator::best::best_trial(&run.trials).unwrap();
    let line: Vec<String> = pbtnas_report::history::ancestry(&run, best)
        .iter()
        .map(|t| t.spec.plan.genome.to_string())
        .collect();
    let id = pbtnas_report::run_data::trial_id(best);
    for (flag, suffix) in [(None, ""), (Some("--final-only"), "-final")] {
        let mut args = vec!["replay", dir.to_str().unwrap(), "-q"];
        args.extend(flag);
        let out = pbtnas(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("searched line ({id})")), "{text}");
        let replay =
            pbtnas_report::RunData::load(&dir.join(format!("replay-{id}{suffix}"))).unwrap();
        assert!(replay.complete);
        assert_eq!((replay.generations(), replay.population()), (6, 1));
        let genomes: Vec<String> = replay
            .trials
            .iter()
            .map(|t| t.spec.plan.genome.to_string())
            .collect();
        if flag.is_none() {
            assert_eq!(genomes, line, "the replay follows the line's genomes");
        } else {
            assert!(
                genomes.iter().all(|g| *g == line[5]),
                "the final architecture throughout"
            );
        }
    }
    let err = Command::new(env!("CARGO_BIN_EXE_pbtnas"))
        .args(["replay", dir.to_str().unwrap(), "--trial", "g009_s00"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&err.stderr).contains("has no trial g009_s00"));
}

#[test]
fn compare_tabulates_two_configs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = quick_run(tmp.path(), 1);
    let b = quick_run(tmp.path(), 2);
    let out_dir = tmp.path().join("cmp");
    let out = pbtnas(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    // Same config name: one group of two runs.
    assert!(text.contains("   2  "), "{text}");
    assert!(out_dir.join("compare.svg").exists());
}

#[test]
fn json_lines_mode_prints_one_event_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = quick_config(tmp.path(), "cfg", "steps: 2\ntask: {iters_per_step: 10}\n");
    let dir = tmp.path().join("run");
    let out = pbtnas(&[
        "run",
        cfg.to_str().unwrap(),
        "--run-dir",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |k: &str| events.iter().filter(|e| e["event"] == k).count();
    assert_eq!(
        (
            count("start"),
            count("step"),
            count("generation"),
            count("plan"),
            count("done")
        ),
        (1, 16, 2, 1, 1),
        "{stdout}"
    );
    assert!(
        String::from_utf8(out.stderr).unwrap().is_empty(),
        "nothing but JSON"
    );
    let done = events.last().unwrap();
    assert_eq!(done["event"], "done");
    assert!(done["best_fitness"].as_f64().unwrap() < 0.0);
    // The run directory keeps the same events and the text log.
    let saved = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert_eq!(saved.lines().count(), events.len());
    assert!(std::fs::read_to_string(dir.join("log.txt"))
        .unwrap()
        .contains("gen 2/2 | best"));
}

/// Opens the report in headless Chromium (Debian `chromium`): every section is there and every
/// image loads. `.ci/run` installs Chromium and runs this.
#[test]
#[ignore = "needs chromium; .ci/run runs it"]
fn report_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = quick_run(tmp.path(), 4);
    pbtnas(&["report", dir.to_str().unwrap()]);
    let index = dir.join("report/index.html").canonicalize().unwrap();
    let chromium = |extra: &[&str]| {
        let out = Command::new(std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into()))
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=5000",
            ])
            .args(extra)
            .arg(format!("file://{}", index.display()))
            .output()
            .expect("chromium not found: apt-get install chromium (or set CHROMIUM)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let dom = String::from_utf8(chromium(&["--dump-dom"]).stdout).unwrap();
    assert!(
        dom.contains("data-images=\"5\""),
        "the page's script ran and counted 5 images"
    );
    assert!(dom.contains("data-broken=\"0\""), "no broken image");
    for id in pbtnas_report::html::SECTIONS {
        assert!(dom.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    let shot = tmp.path().join("shot.png");
    chromium(&[
        "--window-size=1100,3000",
        &format!("--screenshot={}", shot.display()),
    ]);
    let img = image::open(&shot).unwrap().to_rgb8();
    let colourful = img
        .pixels()
        .filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60)
        .count();
    assert!(
        colourful > 10_000,
        "the plots are drawn ({colourful} coloured pixels)"
    );
}
