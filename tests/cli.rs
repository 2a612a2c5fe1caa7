//! End-to-end tests of the `pbtnas` binary on the regression task: learning, kill and resume,
//! every strategy, status output and errors.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{done_count, kill_when, ok, pbtnas, repo, status_json, strip};

/// A config extending a repository config with overrides.
fn config(dir: &Path, base: &str, overrides: &str) -> PathBuf {
    let path = dir.join(format!("{}.yaml", base.replace('/', "_")));
    let text = format!(
        "extends: {}\n{overrides}",
        repo().join("configs").join(base).display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn run(cfg: &Path, run_dir: &Path) -> Output {
    ok(pbtnas(&[
        "run",
        cfg.to_str().unwrap(),
        "--run-dir",
        run_dir.to_str().unwrap(),
    ])
    .output()
    .unwrap())
}

fn trials(v: &Value) -> &Vec<Value> {
    v["trials"].as_array().unwrap()
}

fn best_of(v: &Value, generation: Option<u64>) -> f64 {
    trials(v)
        .iter()
        .filter(|t| generation.is_none_or(|g| t["generation"].as_u64() == Some(g)))
        .filter_map(|t| t["fitness"].as_f64())
        .fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn quick_search_learns_and_reports_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "quick.yaml", "steps: 8\n");
    let dir = tmp.path().join("run");
    let out = run(&cfg, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("gen 8/8 | best"), "{stderr}");
    assert!(stderr.contains("ETA"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("best fitness"));
    let v = status_json(&dir);
    assert_eq!(v["complete"], true);
    assert_eq!(trials(&v).len(), 8 * 8);
    let initial = best_of(&v, Some(0));
    let last = best_of(&v, Some(7));
    // Fitness is -MSE: the best member at the end has less than a third of the error of the
    // best member after the first step.
    assert!(
        last > initial / 3.0,
        "initial best {initial}, final best {last}"
    );
    // The run directory holds what docs/running.md ("The run directory") says.
    for f in [
        "config.yaml",
        "space.yaml",
        "pbtnas.sqlite",
        "log.txt",
        "checkpoints",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    // Old checkpoints are cleaned up: the final population plus the best-ever one remain.
    let ckpts = std::fs::read_dir(dir.join("checkpoints")).unwrap().count();
    assert!((8..=9).contains(&ckpts), "{ckpts} checkpoints");
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains("gen 8/8 | best"));
}

#[test]
fn killed_run_resumes_to_the_same_population_and_lineage() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "quick.yaml",
        "steps: 5\nworkers: 2\ntask: {iters_per_step: 400}\n",
    );
    let straight = tmp.path().join("straight");
    run(&cfg, &straight);
    let expected = status_json(&straight);

    let killed = tmp.path().join("killed");
    let mut child = pbtnas(&[
        "run",
        cfg.to_str().unwrap(),
        "--run-dir",
        killed.to_str().unwrap(),
        "-q",
    ])
    .spawn()
    .unwrap();
    // Kill in the middle of the third generation.
    kill_when(&mut child, Duration::from_secs(120), || {
        done_count(&killed) >= 8 * 2 + 3
    });
    let before = status_json(&killed);
    let done_before: Vec<(u64, u64)> = trials(&before)
        .iter()
        .filter(|t| t["status"] == "done")
        .map(|t| {
            (
                t["generation"].as_u64().unwrap(),
                t["slot"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(done_before.len() >= 19 && done_before.len() < 40);

    let out = ok(pbtnas(&["run", "--resume", killed.to_str().unwrap()])
        .output()
        .unwrap());
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming run"));
    let resumed = status_json(&killed);
    // No finished step was trained again.
    for t in trials(&resumed) {
        let key = (
            t["generation"].as_u64().unwrap(),
            t["slot"].as_u64().unwrap(),
        );
        if done_before.contains(&key) {
            assert_eq!(t["attempts"], 1, "{key:?} was trained twice");
        }
    }
    // Same decisions, lineage, fitness and checkpoint hashes as the uninterrupted run.
    assert_eq!(strip(&resumed), strip(&expected));
    assert_eq!(resumed["complete"], true);

    // Running the same command on the finished directory changes nothing.
    run(&cfg, &killed);
    assert_eq!(strip(&status_json(&killed)), strip(&expected));
}

#[test]
fn every_strategy_and_ablation_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let small = "population: 8\nsteps: 3\ntask: {iters_per_step: 20}\n";
    for (name, kinds) in [
        ("pbtnas", vec!["child"]),
        ("ablation-nomix", vec!["child"]),
        ("ablation-copy", vec!["child"]),
        ("ablation-reinit", vec!["child"]),
        ("searl", vec!["copy", "weight-mutation", "arch-mutation"]),
        ("random", vec![]),
        ("random-shpe", vec!["perturbed"]),
    ] {
        let cfg = config(tmp.path(), &format!("regression/{name}.yaml"), small);
        let dir = tmp.path().join(name);
        run(&cfg, &dir);
        let v = status_json(&dir);
        let made: Vec<&str> = trials(&v)
            .iter()
            .filter(|t| t["generation"].as_u64() > Some(0))
            .map(|t| t["plan"]["kind"].as_str().unwrap())
            .filter(|k| *k != "survivor")
            .collect();
        if kinds.is_empty() {
            assert!(made.is_empty(), "{name}: {made:?}");
        } else {
            assert!(made.iter().all(|k| kinds.contains(k)), "{name}: {made:?}");
            assert!(!made.is_empty(), "{name}");
        }
        for t in trials(&v).iter().filter(|t| t["plan"]["kind"] == "child") {
            let (p, d) = (&t["plan"]["parent"], &t["plan"]["donor"]["slot"]);
            if name == "ablation-nomix" {
                assert_eq!(p, d);
            } else {
                assert_ne!(p, d);
            }
            // Genes from the donor carry the donor's origin in the lineage.
            assert_eq!(t["origin"].as_array().unwrap().len(), 9);
        }
    }
}

#[test]
fn status_prints_the_population_table() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "quick.yaml",
        "steps: 2\ntask: {iters_per_step: 10}\n",
    );
    let dir = tmp.path().join("run");
    run(&cfg, &dir);
    let out = ok(pbtnas(&["status", dir.to_str().unwrap()]).output().unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "generation 2 (8/8 done), run complete");
    assert!(
        lines[1].contains("slot")
            && lines[1].contains("genome")
            && lines[1].contains("fitness")
            && lines[1].contains("parent")
            && lines[1].contains("donor")
    );
    assert_eq!(lines.len(), 2 + 8 + 1, "{text}");
    assert!(
        lines[2..10].iter().filter(|l| l.contains("child")).count() == 2,
        "{text}"
    );
    assert!(lines[10].starts_with("best ever: fitness"));
}

#[test]
fn mistakes_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let err = |out: Output| {
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let dir = tmp.path().join("run");
    let cfg = config(
        tmp.path(),
        "quick.yaml",
        "steps: 1\ntask: {iters_per_step: 5}\n",
    );
    run(&cfg, &dir);
    let other = tmp.path().join("other.yaml");
    std::fs::write(&other, format!("extends: {}\nseed: 5\n", cfg.display())).unwrap();
    let e = err(pbtnas(&[
        "run",
        other.to_str().unwrap(),
        "--run-dir",
        dir.to_str().unwrap(),
    ])
    .output()
    .unwrap());
    assert!(
        e.contains("holds a run with another config (seed: stored 31173, now 5)"),
        "{e}"
    );

    std::fs::write(
        &other,
        format!("extends: {}\nspace: nowhere.yaml\n", cfg.display()),
    )
    .unwrap();
    let e = err(pbtnas(&["run", other.to_str().unwrap()]).output().unwrap());
    assert!(e.contains("nowhere.yaml: cannot read"), "{e}");

    let e = err(pbtnas(&["run", cfg.to_str().unwrap(), "--device", "tpu"])
        .output()
        .unwrap());
    assert!(
        e.contains("unknown device 'tpu' (auto, cpu, cuda, cuda:N)"),
        "{e}"
    );
    if !cfg!(feature = "cuda") {
        let e = err(
            pbtnas(&["run", cfg.to_str().unwrap(), "--device", "cuda:0"])
                .output()
                .unwrap(),
        );
        assert!(e.contains("built without CUDA"), "{e}");
    }

    std::fs::write(
        &other,
        format!("extends: {}\ntask: {{kind: diffusion}}\n", cfg.display()),
    )
    .unwrap();
    let e = err(pbtnas(&["run", other.to_str().unwrap()]).output().unwrap());
    assert!(
        e.contains("unknown task kind 'diffusion' (available: regression, gan, rl)"),
        "{e}"
    );

    std::fs::write(
        &other,
        format!("extends: {}\ntask: {{widht: 3}}\n", cfg.display()),
    )
    .unwrap();
    let e = err(pbtnas(&["run", other.to_str().unwrap()]).output().unwrap());
    assert!(e.contains("unknown field `widht`"), "{e}");

    let e = err(pbtnas(&["status", tmp.path().to_str().unwrap()])
        .output()
        .unwrap());
    assert!(e.contains("no run store at"), "{e}");
}

#[test]
fn env_run_plays_a_task_and_writes_a_gif() {
    let tmp = tempfile::tempdir().unwrap();
    let gif = tmp.path().join("frames.gif");
    let out = ok(pbtnas(&[
        "env",
        "run",
        "reacher_easy",
        "--episodes",
        "2",
        "--size",
        "32",
        "--out",
        gif.to_str().unwrap(),
    ])
    .output()
    .unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reacher_easy: frames by raycast"), "{text}");
    assert_eq!(text.matches("over 500 agent steps").count(), 2, "{text}");
    assert!(text.contains("wrote") && std::fs::metadata(&gif).unwrap().len() > 1000);
    let list = ok(pbtnas(&["env", "list"]).output().unwrap());
    assert!(String::from_utf8_lossy(&list.stdout).contains("cartpole_swingup"));
    let bad = pbtnas(&["env", "run", "walker_run"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown task 'walker_run'"));
}

#[test]
fn data_show_writes_a_grid_and_missing_data_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("grid.png");
    let out = ok(pbtnas(&[
        "data",
        "show",
        "sprites",
        "--out",
        png.to_str().unwrap(),
        "--data-dir",
        tmp.path().to_str().unwrap(),
    ])
    .output()
    .unwrap());
    assert!(String::from_utf8_lossy(&out.stdout).contains("sprites: 10000 images of 3x32x32"));
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (256, 256));
    let bad = pbtnas(&[
        "data",
        "show",
        "cifar10",
        "--out",
        png.to_str().unwrap(),
        "--data-dir",
        tmp.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("pbtnas data fetch cifar10"));
}

/// Every shipped config loads (extends, space paths) and its task section is valid; the paper's
/// GAN configs have the paper's population, steps and budgets.
/// The population of a paper config: `_popN` in its name, else `default`.
fn population_of(name: &str, default: usize) -> usize {
    name.split_once("_pop")
        .and_then(|(_, rest)| rest.trim_end_matches(".yaml").parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_shipped_config_loads() {
    let mut seen = 0;
    for dir in [
        "configs",
        "configs/regression",
        "configs/regression-deep",
        "configs/gan",
        "configs/rl",
    ] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let cfg = pbtnas_orchestrator::RunConfig::from_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            if let Some(space) = &cfg.space {
                pbtnas_genome::SearchSpace::from_file(space).unwrap();
            }
            if cfg.task_kind().unwrap() == "gan" {
                let gan: pbtnas_gan::GanConfig = serde_json::from_value(cfg.task.clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let name = path.file_name().unwrap().to_str().unwrap();
                if name.starts_with("c10_") || name.starts_with("stl_") {
                    // The population-size study: 12 and 36 members, one per GPU at 36.
                    let members = population_of(name, 24);
                    assert_eq!((cfg.population, cfg.steps), (members, 30), "{name}");
                    assert_eq!(gan.epochs_per_step, Some(10.0), "{name}");
                    assert_eq!(gan.fitness, pbtnas_gan::FitnessMetric::Fid, "{name}");
                    assert_eq!(gan.eval_samples, 5000, "{name}");
                    let stl = name.starts_with("stl_");
                    assert_eq!(gan.batch_size, if stl { 128 } else { 40 }, "{name}");
                    let per_gpu = if stl || members == 36 { 1 } else { 2 };
                    assert_eq!(cfg.members_per_gpu, per_gpu, "{name}");
                }
            }
            if cfg.task_kind().unwrap() == "rl" {
                let rl: pbtnas_rl::RlConfig = serde_json::from_value(cfg.task.clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let name = path.file_name().unwrap().to_str().unwrap();
                let (env, rest) = name.split_once("_run_").unwrap_or(("", ""));
                if !rest.is_empty() {
                    // The paper's settings (docs/algorithm.md, "Paper settings"; docs/rl.md,
                    // "Paper experiments").
                    let (members, steps, frames) = if env == "humanoid" {
                        (12, 15, 1_000_000)
                    } else {
                        (12, 30, 100_000)
                    };
                    assert_eq!(
                        (cfg.population, cfg.steps, rl.frames_per_step),
                        (population_of(name, members), steps, frames),
                        "{name}"
                    );
                    assert_eq!(rl.renderer, pbtnas_rl::config::Renderer::Mujoco, "{name}");
                    assert_eq!(rl.env, format!("dmc/{env}_run"), "{name}");
                    assert_eq!(
                        (
                            rl.action_repeat,
                            rl.frame_stack,
                            rl.image_size,
                            rl.hidden_dim
                        ),
                        (2, 3, 84, 1024),
                        "{name}"
                    );
                    let (batch, nstep, replay, lr) = match env {
                        "walker" => (512, 1, 1_000_000, 1e-4),
                        "humanoid" => (256, 3, 1_000_000, 8e-5),
                        _ => (256, 3, 100_000, 1e-4),
                    };
                    assert_eq!(
                        (rl.batch_size, rl.nstep, rl.replay_size, rl.lr),
                        (batch, nstep, replay, lr),
                        "{name}"
                    );
                    let shared = env != "quadruped";
                    assert_eq!(
                        rl.replay == pbtnas_rl::config::ReplayMode::Shared,
                        shared,
                        "{name}"
                    );
                    let every = if env == "humanoid" {
                        (1, None)
                    } else {
                        (2, Some(15))
                    };
                    assert_eq!(
                        (cfg.exploit.every, cfg.exploit.always_from),
                        every,
                        "{name}"
                    );
                    assert_eq!((rl.eval_episodes, rl.original), (10, None), "{name}");
                }
            }
            seen += 1;
        }
    }
    assert!(seen >= 36, "{seen} configs");
}

/// `pbtnas metrics ref-stats` then `pbtnas eval` on a tiny GAN run: the best-ever member's FID
/// lands in eval.json (random Inception weights stand in for the real ones here; those are
/// checked against the reference in crates/metrics).
#[test]
fn eval_reports_the_best_members_fid() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let weights = pbtnas_metrics::weights_path(&data);
    std::fs::create_dir_all(weights.parent().unwrap()).unwrap();
    let tensors = pbtnas_metrics::Inception::random_tensors(4).unwrap();
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    let d = data.to_str().unwrap();
    let out = pbtnas(&["eval", tmp.path().to_str().unwrap()])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("not a run directory"),
        "{e}"
    );
    sprites_ref_stats(d, "inception");
    assert!(pbtnas_metrics::ref_stats_path(&data, "sprites").exists());
    let cfg = config(
        tmp.path(),
        "gan/quick.yaml",
        &format!(
            "steps: 2\ntask:\n  dataset: sprites\n  geometry: {{gf: 4, df: 4, bottom: 2}}\n  batch_size: 4\n  iters_per_step: 2\n  eval_samples: 16\n  data_dir: {d}\n"
        ),
    );
    let dir = tmp.path().join("run");
    let out = run(&cfg, &dir);
    // The end of the run says what to open next: the best member's samples, the report.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let grid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("best member's samples: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(Path::new(grid).exists() && stdout.contains("report: `pbtnas report"));
    // Its start gave the time of a member-step, probed before anything was trained.
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(
        log.contains("s each by a probe of a few iterations: about "),
        "{log}"
    );
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let probed = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["event"] == "footprint")
        .and_then(|e| e["step_seconds"].as_f64());
    assert!(probed.is_some_and(|s| s > 0.0), "{events}");
    let (text, result) = gan_eval(&dir, "fid", "eval.json");
    assert!(
        text.contains("FID-6 ") && text.contains(", IS ") && text.contains(", KID "),
        "{text}"
    );
    let best = best_of(&status_json(&dir), None);
    assert_eq!(result["fitness"].as_f64().unwrap(), best);
    assert!(result["fid"].as_f64().unwrap() > 0.0);
    // 6 samples make 6 splits of one image, whose score is exactly 1.
    let is = result["inception_score"]["mean"].as_f64().unwrap();
    assert!((is - 1.0).abs() < 1e-9, "{is}");
    // ref-stats kept the 6 real images' features, the same statistics as its npz; KID over
    // subsets of all 6 real and all 6 generated images is the same every subset: std 0.
    let features =
        candle_core::Tensor::read_npy(pbtnas_metrics::ref_features_path(&data, "sprites")).unwrap();
    assert_eq!(features.dims(), [6, 2048]);
    let stats =
        pbtnas_metrics::FeatureStats::load_npz(&pbtnas_metrics::ref_stats_path(&data, "sprites"))
            .unwrap();
    let kept = pbtnas_metrics::FeatureStats::of(
        &features.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        2048,
    )
    .unwrap();
    let diff = stats
        .mu
        .iter()
        .zip(&kept.mu)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-9, "{diff}");
    assert!(result["kid"]["mean"].as_f64().unwrap().is_finite());
    assert!(
        result["kid"]["std"].as_f64().unwrap().abs() < 1e-12,
        "{}",
        result["kid"]
    );
    // Precision/recall/density/coverage against the kept features (6 > k = 5 on each side).
    for key in ["precision", "recall", "coverage"] {
        let v = result["prdc"][key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} {v}");
    }
    assert!(text.contains(", precision "), "{text}");
    // Other reference statistics (`--ref-stats`, e.g. published ones): the mean moved by 1 in
    // every feature gives another FID; without features beside them, no KID.
    let mut moved = stats.clone();
    moved.mu.iter_mut().for_each(|m| *m += 1.0);
    let other = tmp.path().join("published.npz");
    moved.save_npz(&other).unwrap();
    let fid = result["fid"].as_f64().unwrap();
    let (text, moved_result) = gan_eval_with(
        &dir,
        "fid",
        "eval.json",
        &["--ref-stats", other.to_str().unwrap()],
    );
    let moved_fid = moved_result["fid"].as_f64().unwrap();
    assert!(
        moved_fid > 0.0 && (moved_fid - fid).abs() > 1e-6,
        "{fid} {moved_fid}"
    );
    assert!(
        text.contains("no KID") && moved_result["kid"].is_null(),
        "{text}"
    );
    // The file's SHA-256 is recorded; pinned, the right one is accepted and another refused.
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(std::fs::read(&other).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(moved_result["ref_stats_sha256"], sha.as_str());
    let o = other.to_str().unwrap();
    let (_, pinned) = gan_eval_with(
        &dir,
        "fid",
        "eval.json",
        &["--ref-stats", o, "--ref-stats-sha256", &sha],
    );
    assert_eq!(pinned["fid"], moved_result["fid"]);
    let wrong = format!(
        "{}{}",
        &sha[..63],
        if sha.ends_with('0') { '1' } else { '0' }
    );
    let out = gan_eval_command(&dir, "fid")
        .args(["--ref-stats", o, "--ref-stats-sha256", &wrong])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(&sha) && err.contains("ref_stats_sha256"),
        "{err}"
    );
    // FD-DINOv2 through the same commands: a small synthetic ViT/14 at 224 px (16×16 patches,
    // its own position grid), statistics of the real images, eval with --metric fd-dinov2.
    let dino = pbtnas_metrics::dinov2_weights_path(&data);
    let tensors = pbtnas_metrics::dinov2::synthetic_tensors(64, 1, 16).unwrap();
    candle_core::safetensors::save(&tensors, &dino).unwrap();
    sprites_ref_stats(d, "dinov2");
    let stats = pbtnas_metrics::FeatureStats::load_npz(&pbtnas_metrics::dinov2_ref_stats_path(
        &data, "sprites",
    ))
    .unwrap();
    assert_eq!(stats.dim(), 64);
    let (text, result) = gan_eval(&dir, "fd-dinov2", "eval_fd_dinov2.json");
    assert!(
        text.contains("FD-DINOv2-6 ") && !text.contains("FID"),
        "{text}"
    );
    assert!(result["fd_dinov2"].as_f64().unwrap() > 0.0, "{result}");
}

/// `pbtnas metrics ref-stats` of 6 sprites at 16 px with `extractor`, into data dir `d`.
fn sprites_ref_stats(d: &str, extractor: &str) {
    ok(pbtnas(&[
        "metrics",
        "ref-stats",
        "sprites",
        "--extractor",
        extractor,
        "--size",
        "16",
        "--limit",
        "6",
        "--data-dir",
        d,
    ])
    .output()
    .unwrap());
}

/// `pbtnas eval` of a GAN run with 6 samples and `metric`: its output line and the JSON file.
fn gan_eval(dir: &Path, metric: &str, file: &str) -> (String, Value) {
    gan_eval_with(dir, metric, file, &[])
}

/// The `pbtnas eval` command of a GAN run with 6 samples and `metric`.
fn gan_eval_command(dir: &Path, metric: &str) -> std::process::Command {
    pbtnas(&[
        "eval",
        dir.to_str().unwrap(),
        "--samples",
        "6",
        "--device",
        "cpu",
        "--metric",
        metric,
        // The paper's IS draws 49,920 more images: too many for a test.
        "--is",
        "same-samples",
    ])
}

fn gan_eval_with(dir: &Path, metric: &str, file: &str, extra: &[&str]) -> (String, Value) {
    let out = ok(gan_eval_command(dir, metric).args(extra).output().unwrap());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let json = std::fs::read_to_string(dir.join(file)).unwrap();
    (text, serde_json::from_str(&json).unwrap())
}

/// A tiny PBT-NAS run of the RL task through the binary (pixels, children made from replay-
/// carrying parents), then `pbtnas eval` of its best member: returns and a GIF.
#[test]
fn rl_search_runs_and_eval_reports_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "rl/cartpole_state.yaml",
        "population: 4\nsteps: 3\nstrategy: { parent_frac: 0.5 }\ntask:\n  obs: pixels\n  frame_stack: 3\n  image_size: 16\n  action_repeat: 8\n  frames_per_step: 1000\n  seed_frames: 500\n  batch_size: 8\n  hidden_dim: 8\n  eval_episodes: 1\n",
    );
    let dir = tmp.path().join("run");
    run(&cfg, &dir);
    let st = status_json(&dir);
    assert_eq!(trials(&st).len(), 12);
    // Generation 2 has children (mixed from two parents), and they trained.
    let children: Vec<&Value> = trials(&st)
        .iter()
        .filter(|t| t["plan"]["kind"] == "child")
        .collect();
    assert!(!children.is_empty(), "{st}");
    assert!(children.iter().all(|t| t["status"] == "done"));
    assert!(dir.join("artifacts/videos/gen003_slot00.gif").exists());
    let out = ok(pbtnas(&[
        "eval",
        dir.to_str().unwrap(),
        "--episodes",
        "2",
        "--device",
        "cpu",
    ])
    .output()
    .unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("over 2 episodes"), "{text}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval.json")).unwrap()).unwrap();
    assert_eq!(result["returns"].as_array().unwrap().len(), 2);
    assert_eq!(result["fitness"].as_f64().unwrap(), best_of(&st, None));
    assert_eq!(
        result["paper_score"].as_f64().unwrap(),
        best_of(&st, Some(2))
    );
    assert!(dir.join("eval.gif").exists());
}

/// The FD-classifier proxy end to end: `metrics train-classifier` on the sprites, then a GAN run
/// ranked by it, whose members carry the metric under its own name (never "fid").
#[test]
fn fd_classifier_proxy_trains_and_ranks_members() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let out = ok(pbtnas(&[
        "metrics",
        "train-classifier",
        "sprites",
        "--size",
        "16",
        "--limit",
        "1500",
        "--epochs",
        "6",
        "--data-dir",
        d,
    ])
    .output()
    .unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    let accuracy: f64 = text
        .split("held-out accuracy ")
        .nth(1)
        .and_then(|t| t.split('%').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(accuracy > 80.0, "{text}");
    assert!(pbtnas_metrics::classifier_path(&data, "sprites", 16).exists());
    let cfg = config(
        tmp.path(),
        "gan/quick.yaml",
        &format!(
            "steps: 1\ntask:\n  dataset: sprites\n  fitness: fd-classifier\n  geometry: {{gf: 4, df: 4, bottom: 2}}\n  batch_size: 4\n  iters_per_step: 2\n  eval_samples: 16\n  data_dir: {d}\n"
        ),
    );
    let dir = tmp.path().join("run");
    run(&cfg, &dir);
    let v = status_json(&dir);
    for t in trials(&v) {
        let fitness = t["fitness"].as_f64().unwrap();
        assert!(fitness < 0.0, "{t}");
    }
    let metrics = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(!metrics.to_lowercase().contains("fid"), "{metrics}");
}

/// Each class of bad input is refused before anything is written: no panic, no backtrace, a
/// non-zero exit, the key and the value named.
#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let base = repo().join("configs/regression/pbtnas.yaml");
    let cases: [(&str, &[&str], &str); 8] = [
        (
            "strategy: {shrink_perturb: [0.4, .nan]}",
            &[],
            "strategy.shrink_perturb[1] is NaN",
        ),
        ("task: {adam: {lr: .inf}}", &[], "task.adam.lr is inf"),
        ("", &["task.data.noise=-.inf"], "task.data.noise is -inf"),
        (
            "name: ../../escape",
            &[],
            "name \"../../escape\" must be letters",
        ),
        ("name: a/b", &[], "name \"a/b\" must be letters"),
        (
            "checkpoints: {location: ../../elsewhere}",
            &[],
            "leaves the run directory",
        ),
        (
            "population: 1000000",
            &[],
            "population 1000000 is beyond 10000",
        ),
        (
            "space: huge.yaml",
            &[],
            "'for' range '0..100000000' has 100000000 values; a space has at most 100000 genes",
        ),
    ];
    std::fs::write(
        tmp.path().join("huge.yaml"),
        "name: huge\ngenes:\n  - block: b\n    for: {i: '0..100000000'}\n    genes:\n      - {name: 'g{i}', options: [a, b]}\n",
    )
    .unwrap();
    for (i, (extra, sets, message)) in cases.iter().enumerate() {
        let cfg = tmp.path().join(format!("bad{i}.yaml"));
        std::fs::write(&cfg, format!("extends: {}\n{extra}\n", base.display())).unwrap();
        let runs = tmp.path().join(format!("runs{i}"));
        let mut args = vec![
            "run",
            cfg.to_str().unwrap(),
            "--run-dir",
            runs.to_str().unwrap(),
        ];
        for s in *sets {
            args.extend(["--set", s]);
        }
        let out = pbtnas(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} was accepted");
        assert!(stderr.contains(message), "case {i}: {stderr}");
        // The file at fault: the config, or for the space its own file.
        let file = match extra.starts_with("space:") {
            true => "huge.yaml".to_string(),
            false => format!("bad{i}.yaml"),
        };
        assert!(stderr.contains(&file), "case {i} names no file: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
            "{stderr}"
        );
        assert!(!runs.exists(), "case {i} wrote {}", runs.display());
    }
    // A run whose checkpoints would not fit on the disk (every one of 10^9 kept) is refused
    // with its estimate, and --allow-large is named as the way to start it anyway.
    let runs = tmp.path().join("runs-large");
    let out = pbtnas(&[
        "run",
        base.to_str().unwrap(),
        "--run-dir",
        runs.to_str().unwrap(),
    ])
    .args(["--set", "population=10000", "--set", "steps=100000"])
    .args(["--set", "checkpoints.keep_all=true"])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("beyond the machine")
            && stderr.contains("TB for 1000010000 checkpoints")
            && stderr.contains("--allow-large"),
        "{stderr}"
    );
    assert!(!runs.exists());
    // A huge nested expansion stops at the limit instead of allocating.
    let nested = tmp.path().join("nested.yaml");
    std::fs::write(
        &nested,
        "name: n\ngenes:\n  - block: a\n    for: {i: '0..1000'}\n    genes:\n      - block: b\n        for: {j: '0..1000'}\n        genes:\n          - {name: 'g{i}_{j}', options: [a, b]}\n",
    )
    .unwrap();
    let e = pbtnas_genome::SearchSpace::from_file(&nested)
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 100000 genes"), "{e}");
}

/// Random search's whole-member shrink-perturb runs before every step but the first, whatever
/// the exploit schedule (the original applies it in its fitness function at every step).
#[test]
fn random_search_shrink_perturbs_every_step_whatever_the_exploit_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "regression/random-shpe.yaml",
        "population: 3\nsteps: 4\nexploit: {every: 3}\ntask: {iters_per_step: 20}\n",
    );
    let dir = tmp.path().join("run");
    run(&cfg, &dir);
    let kinds: Vec<(u64, String)> = status_json(&dir)["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let g = t["generation"].as_u64().unwrap();
            (g, t["plan"]["kind"].as_str().unwrap().to_string())
        })
        .collect();
    for (g, kind) in &kinds {
        let expected = if *g == 0 { "init" } else { "perturbed" };
        assert_eq!(kind, expected, "generation {g}: {kinds:?}");
    }
    assert_eq!(kinds.len(), 12);
}

/// `members_per_gpu` is a launch setting: the saved config keeps it (the STL configs' 1 was
/// saved as 2, so `pbtnas worker` and `--resume` trained two members per GPU), and a run
/// resumed with another value is the same run.
#[test]
fn members_per_gpu_is_saved_and_not_part_of_the_runs_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "quick.yaml",
        "steps: 2\nmembers_per_gpu: 1\ntask: {iters_per_step: 20}\n",
    );
    let dir = tmp.path().join("run");
    run(&cfg, &dir);
    let saved = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
    assert!(saved.contains("members_per_gpu: 1"), "{saved}");
    ok(pbtnas(&[
        "run",
        "--resume",
        dir.to_str().unwrap(),
        "--set",
        "members_per_gpu=3",
    ])
    .output()
    .unwrap());
}

/// The progress line's median is the report's (the mean of the two middle values of an even
/// population; it had printed the lower one).
#[test]
fn the_progress_median_is_the_mean_of_the_two_middle_values() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "quick.yaml",
        "steps: 2\ntask: {iters_per_step: 20}\n",
    );
    let dir = tmp.path().join("run");
    run(&cfg, &dir);
    let status = status_json(&dir);
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let mut seen = 0;
    for e in events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
    {
        if e["event"] != "generation" {
            continue;
        }
        let g = e["generation"].as_u64().unwrap() - 1;
        let mut f: Vec<f64> = trials(&status)
            .iter()
            .filter(|t| t["generation"].as_u64() == Some(g))
            .filter_map(|t| t["fitness"].as_f64())
            .collect();
        f.sort_by(f64::total_cmp);
        assert_eq!(f.len(), 8);
        assert_eq!(
            e["median"].as_f64().unwrap(),
            0.5 * (f[3] + f[4]),
            "generation {g}"
        );
        seen += 1;
    }
    assert_eq!(seen, 2);
}
