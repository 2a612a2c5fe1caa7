//! The GAN task: a member's step, evaluation and checkpoint.

use pbtnas_gan::GanTask;
use pbtnas_task::{StepContext, Task};

#[test]
fn a_member_trains_evaluates_and_round_trips() {
    let cfg = serde_json::json!({"kind": "gan", "geometry": {"gf": 4, "df": 4, "bottom": 2}, "batch_size": 4, "iters_per_step": 6, "eval_samples": 64});
    let task = GanTask::new(&cfg, GanTask::default_space(), &candle_core::Device::Cpu).unwrap();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(2);
    let genome = pbtnas_genome::ops::sample(task.space(), &mut rng);
    let art = tempfile_dir();
    let ctx = StepContext {
        generation: 0,
        slot: 3,
        seed: 9,
        artifacts: art.clone(),
        progress: Default::default(),
    };
    let mut m = task.init(&genome, 1).unwrap();
    let before = task.save(&m).unwrap();
    let metrics = task.train_step(&mut m, &ctx).unwrap();
    assert!(metrics["train/d_loss"].is_finite() && metrics["train/iters"] == 6.0);
    let eval = task.evaluate(&mut m, &ctx).unwrap();
    assert!(eval.fitness < 0.0 && (eval.fitness + eval.metrics["eval/fd_pixels8"]).abs() < 1e-12);
    assert!(art.join("samples/gen001_slot03.png").exists());
    let state = task.save(&m).unwrap();
    // The EMA generator is the copy-as-is shadow: it moved, and only slightly (decay 0.999).
    let name = "gen.head.to_rgb.weight";
    let (w0, e1, w1) = (
        &before.weights[name],
        &state.shadows[name],
        &state.weights[name],
    );
    let d = |a: &candle_core::Tensor, b: &candle_core::Tensor| {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    assert!(d(e1, w0) > 0.0 && d(e1, w0) < d(w1, w0));
    assert!(state.optimizers["gen"].len() > 10 && state.optimizers["disc"].len() > 10);
    assert!(
        !state.optimizers["disc"]
            .keys()
            .any(|n| n.ends_with("weight_u")),
        "SN buffers are not optimized"
    );
    // Save → load → save is lossless.
    let again = task
        .save(&task.load(&genome, state.clone()).unwrap())
        .unwrap();
    for (n, t) in &state.weights {
        assert_eq!(d(t, &again.weights[n]), 0.0, "{n}");
    }
    assert_eq!(state.shadows.len(), again.shadows.len());
    // The EMA changes in place, so a saved state must hold copies: training on, both the member
    // and one loaded from the state, leaves the state as it was.
    let values = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let snapshot = values(&state.shadows[name]);
    let mut loaded = task.load(&genome, state.clone()).unwrap();
    task.train_step(&mut m, &ctx).unwrap();
    task.train_step(&mut loaded, &ctx).unwrap();
    assert_eq!(values(&state.shadows[name]), snapshot);
    assert_ne!(values(&task.save(&m).unwrap().shadows[name]), snapshot);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pbtnas-gan-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// On a GPU machine (`--features cuda`), the same member trains and evaluates on CUDA as on the
/// CPU: a step from the same state gives the same losses, and the same fitness.
#[test]
fn a_member_on_cuda_matches_the_cpu() {
    let Ok(gpu) = candle_core::Device::new_cuda(0) else {
        eprintln!("skipped: no CUDA device (build with --features cuda and run on a GPU machine)");
        return;
    };
    let cfg = serde_json::json!({"kind": "gan", "geometry": {"gf": 16, "df": 16, "bottom": 2}, "batch_size": 8, "iters_per_step": 5, "eval_samples": 128});
    let cpu_task = GanTask::new(&cfg, GanTask::default_space(), &candle_core::Device::Cpu).unwrap();
    let gpu_task = GanTask::new(&cfg, GanTask::default_space(), &gpu).unwrap();
    let genome = cpu_task
        .space()
        .parse_genome(include_str!("../../../configs/gan/bench_genome.txt"))
        .unwrap();
    let state = cpu_task.save(&cpu_task.init(&genome, 4).unwrap()).unwrap();
    let ctx = StepContext {
        generation: 0,
        slot: 0,
        seed: 5,
        artifacts: tempfile_dir(),
        progress: Default::default(),
    };
    let mut results = Vec::new();
    for task in [&cpu_task, &gpu_task] {
        let mut m = task.load(&genome, state.clone()).unwrap();
        let metrics = task.train_step(&mut m, &ctx).unwrap();
        let eval = task.evaluate(&mut m, &ctx).unwrap();
        results.push((
            metrics["train/d_loss"],
            metrics["train/g_loss"],
            eval.fitness,
        ));
    }
    let (c, g) = (results[0], results[1]);
    let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * a.abs().max(1.0);
    assert!(
        close(c.0, g.0, 1e-3) && close(c.1, g.1, 1e-3),
        "losses {c:?} vs {g:?}"
    );
    assert!(close(c.2, g.2, 1e-3), "fitness {c:?} vs {g:?}");
    println!("CUDA matches CPU: {c:?} vs {g:?}");
}

/// A step in epochs counts the batches of each epoch, the short last one included (the paper's
/// 821 per STL-10 epoch); giving both budgets is refused.
#[test]
fn a_step_is_epochs_of_batches_or_iterations() {
    let task = |extra: serde_json::Value| {
        let mut cfg = serde_json::json!({"kind": "gan", "geometry": {"gf": 4, "df": 4, "bottom": 2}, "eval_samples": 64});
        cfg.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        GanTask::new(&cfg, GanTask::default_space(), &candle_core::Device::Cpu)
    };
    // 10,000 sprites: 209 batches of 48 per epoch (the last one of 16), 625 of 16.
    let iters = |extra| task(extra).unwrap().iters_per_step();
    assert_eq!(
        iters(serde_json::json!({"batch_size": 48, "epochs_per_step": 2.0})),
        418
    );
    assert_eq!(
        iters(serde_json::json!({"batch_size": 16, "epochs_per_step": 0.5})),
        313
    );
    assert_eq!(iters(serde_json::json!({"iters_per_step": 7})), 7);
    assert_eq!(iters(serde_json::json!({})), 200);
    let both = task(serde_json::json!({"iters_per_step": 7, "epochs_per_step": 1.0}));
    assert_eq!(
        both.err().unwrap().to_string(),
        "set either iters_per_step or epochs_per_step, not both"
    );
}

/// In epochs, a step is the original's loader: 10 images in batches of 4 make epochs of 4, 4, 2,
/// and with `n_critic: 2` the G steps fall on batches 0 and 2 of each epoch (4 in two epochs,
/// where a counter running across epochs would give 3).
#[test]
fn epochs_have_a_short_last_batch_and_restart_the_g_step_counter() {
    let dir = std::env::temp_dir().join(format!("pbtnas-gan-epochs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..10u8 {
        let img = image::RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([i * 20, (x * 16) as u8, (y * 16) as u8])
        });
        img.save(dir.join(format!("{i}.png"))).unwrap();
    }
    let cfg = serde_json::json!({"kind": "gan", "dataset": format!("folder:{}", dir.display()),
        "geometry": {"gf": 4, "df": 4, "bottom": 2}, "batch_size": 4, "n_critic": 2,
        "epochs_per_step": 2.0, "eval_samples": 16});
    let task = GanTask::new(&cfg, GanTask::default_space(), &candle_core::Device::Cpu).unwrap();
    assert_eq!(task.iters_per_step(), 6);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(2);
    let genome = pbtnas_genome::ops::sample(task.space(), &mut rng);
    let ctx = StepContext {
        generation: 0,
        slot: 0,
        seed: 1,
        artifacts: dir.clone(),
        progress: Default::default(),
    };
    let mut m = task.init(&genome, 1).unwrap();
    let metrics = task.train_step(&mut m, &ctx).unwrap();
    assert_eq!(
        (metrics["train/iters"], metrics["train/g_steps"]),
        (6.0, 4.0)
    );
}

/// `fitness: fid` ranks by Inception features against `pbtnas metrics ref-stats` statistics; a
/// missing file says which command makes it. (Random Inception weights here: the real ones are
/// tested against the reference in crates/metrics.)
#[test]
fn fid_fitness_reads_weights_and_reference_statistics() {
    let dir = tempfile_dir().join("fid");
    let cfg = serde_json::json!({"kind": "gan", "geometry": {"gf": 4, "df": 4, "bottom": 2},
        "batch_size": 4, "iters_per_step": 2, "fitness": "fid", "eval_samples": 6, "data_dir": dir});
    let space = GanTask::default_space;
    let e = GanTask::new(&cfg, space(), &candle_core::Device::Cpu)
        .err()
        .unwrap();
    assert!(
        format!("{e:#}").contains("pbtnas metrics ref-stats sprites"),
        "{e:#}"
    );
    let tensors = pbtnas_metrics::Inception::random_tensors(1).unwrap();
    let weights = pbtnas_metrics::weights_path(&dir);
    std::fs::create_dir_all(weights.parent().unwrap()).unwrap();
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    let net = pbtnas_metrics::Inception::load(&weights, &candle_core::Device::Cpu).unwrap();
    let real = pbtnas_data::sprites::generate(6, 16, 7);
    let pixels: Vec<f32> = real.data.iter().map(|&v| v as f32).collect();
    let images = candle_core::Tensor::from_vec(pixels, (6, 3, 16, 16), &candle_core::Device::Cpu);
    let feats = net
        .features(&images.unwrap())
        .unwrap()
        .flatten_all()
        .unwrap();
    let stats = pbtnas_metrics::FeatureStats::of(&feats.to_vec1::<f32>().unwrap(), 2048).unwrap();
    let path = pbtnas_metrics::ref_stats_path(&dir, "sprites");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    stats.save_npz(&path).unwrap();
    let task = GanTask::new(&cfg, space(), &candle_core::Device::Cpu).unwrap();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(2);
    let mut m = task
        .init(&pbtnas_genome::ops::sample(task.space(), &mut rng), 1)
        .unwrap();
    let ctx = StepContext {
        generation: 0,
        slot: 0,
        seed: 3,
        artifacts: dir.clone(),
        progress: Default::default(),
    };
    let eval = task.evaluate(&mut m, &ctx).unwrap();
    let fid = eval.metrics["eval/fid"];
    assert!(
        fid.is_finite() && fid > 0.0 && eval.fitness == -fid,
        "{fid}"
    );
}
