//! The DrQ-v2 agent on the 36-gene space: every gene option builds and trains, names do not
//! depend on spectral norm, the target's soft update, mixing of two members, a whole task step.

use candle_core::{Device, Tensor};
use pbtnas_genome::Genome;
use pbtnas_nn::{inherit, is_under, MemberState, ShadowRule, ShrinkPerturb, Transfer};
use pbtnas_rl::agent::{is_buffer, stddev};
use pbtnas_rl::replay_buffer::Batch;
use pbtnas_rl::RlTask;
use pbtnas_task::{StepContext, Task};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small pixel task: 16×16 frames (encoder output 7×7), hidden 8, cartpole (1 action).
fn small_task(extra: serde_json::Value) -> RlTask {
    small_task_on(extra, &Device::Cpu)
}

fn small_task_on(extra: serde_json::Value, device: &Device) -> RlTask {
    let mut section = serde_json::json!({
        "kind": "rl", "env": "cartpole_swingup", "obs": "pixels", "image_size": 16,
        "hidden_dim": 8, "batch_size": 4, "video": false, "eval_episodes": 1,
    });
    section
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    RlTask::new(&section, RlTask::default_space(), device).unwrap()
}

fn random_batch(n: usize, seed: u64) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let obs_len = 9 * 16 * 16;
    let mut v = |len: usize, lo: f32, hi: f32| {
        (0..len)
            .map(|_| rng.random_range(lo..hi))
            .collect::<Vec<f32>>()
    };
    Batch {
        size: n,
        obs: v(n * obs_len, 0.0, 255.0),
        action: v(n, -1.0, 1.0),
        reward: v(n, 0.0, 1.0),
        discount: vec![0.99; n],
        next_obs: v(n * obs_len, 0.0, 255.0),
    }
}

fn genome_with(task: &RlTask, gene: usize, option: u16) -> Genome {
    let mut genes = vec![0u16; task.space().len()];
    genes[gene] = option;
    task.space().genome(genes).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .unwrap()
        .to_dtype(candle_core::DType::F32)
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn the_space_has_the_papers_36_genes() {
    let space = RlTask::default_space();
    assert_eq!(space.len(), 36);
    assert!(
        (space.log10_size() - 21.7).abs() < 0.05,
        "{}",
        space.log10_size()
    );
    let names: Vec<&str> = space.genes.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        &names[..3],
        ["actor.policy.1", "actor.policy.2", "actor.policy.3"]
    );
    assert_eq!(names[7], "actor.feature_dim");
    assert_eq!(names[10], "critic.Q1.1");
    assert_eq!(names[16], "critic.Q1_activ.0");
    assert_eq!(names[24], "critic.feature_dim");
    assert_eq!(names[28], "encoder.convnet.1");
    assert_eq!(names[35], "encoder.norm");
    assert_eq!(
        space.genes[24].positions,
        ["critic.trunk", "critic.Q1.0", "critic.Q2.0"]
    );
}

#[test]
fn every_gene_option_builds_and_trains() {
    let task = small_task(serde_json::json!({}));
    let space = task.space().clone();
    let batch = random_batch(4, 1);
    for (g, gene) in space.genes.iter().enumerate() {
        for (o, option) in gene.options.iter().enumerate() {
            let genome = genome_with(&task, g, o as u16);
            let mut m = task.init(&genome, 7).unwrap();
            let before = m.agent.params.weights().unwrap();
            let owned: Vec<&String> = before
                .keys()
                .filter(|n| gene.positions.iter().any(|p| is_under(n, p)))
                .collect();
            // A weight-owning gene's option creates tensors at its positions unless it is `id`.
            if !gene.positions.is_empty() {
                assert_eq!(
                    owned.is_empty(),
                    option == "id",
                    "{} = {option}: {owned:?}",
                    gene.name
                );
            }
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let info = m.agent.update(&batch, 0.5, &mut rng).unwrap();
            assert!(
                info.critic_loss.is_finite() && info.actor_loss.is_finite(),
                "{} = {option}",
                gene.name
            );
            let a = m
                .agent
                .act(&batch.obs[..9 * 256], 0.2, false, &mut rng)
                .unwrap();
            assert_eq!(a.len(), 1);
            assert!(a[0].abs() < 1.0);
            // The update reached every trainable tensor of the gene.
            let after = m.agent.params.weights().unwrap();
            for n in owned.iter().filter(|n| !is_buffer(n)) {
                assert_ne!(
                    values(&before[*n]),
                    values(&after[*n]),
                    "{} = {option}: {n} did not train",
                    gene.name
                );
            }
        }
    }
}

#[test]
fn spectral_norm_changes_no_names_or_shapes() {
    let task = small_task(serde_json::json!({}));
    let shapes = |genome: &Genome| -> Vec<(String, Vec<usize>)> {
        let m = task.init(genome, 1).unwrap();
        m.agent
            .params
            .weights()
            .unwrap()
            .iter()
            .map(|(n, t)| (n.clone(), t.dims().to_vec()))
            .collect()
    };
    let norms = [
        "actor.norm",
        "critic.norm_Q1",
        "critic.norm_Q2",
        "encoder.norm",
    ];
    let with = |sn: u16| {
        let mut genes = vec![1u16; 36];
        for g in norms {
            genes[task.space().gene_index(g).unwrap()] = sn;
        }
        task.space().genome(genes).unwrap()
    };
    let plain = shapes(&with(0));
    assert_eq!(plain, shapes(&with(1)));
    assert!(plain.iter().any(|(n, _)| n == "actor.policy.0.weight_u"));
    // Heads and trunks never have spectral-norm vectors.
    assert!(!plain
        .iter()
        .any(|(n, _)| n.contains("head.weight_") || n.contains("trunk.linear.weight_")));
}

#[test]
fn stddev_schedule_is_drqv2s() {
    let s = "linear(1.0, 0.1, 500000)";
    assert_eq!(stddev(s, 0).unwrap(), 1.0);
    assert!((stddev(s, 250_000).unwrap() - 0.55).abs() < 1e-12);
    assert!((stddev(s, 2_000_000).unwrap() - 0.1).abs() < 1e-12);
    assert_eq!(stddev("0.2", 123).unwrap(), 0.2);
    assert!(stddev("cosine(1, 2)", 0).is_err());
}

#[test]
fn target_update_is_a_convex_step_of_tau_on_trainable_tensors() {
    let task = small_task(serde_json::json!({"critic_tau": 0.01}));
    let m = task.init(&genome_with(&task, 26, 1), 3).unwrap();
    // Move the target away from the critic so the step is visible.
    for (n, v) in m.agent.target.vars() {
        v.set(
            &(v.as_tensor().ones_like().unwrap() * if is_buffer(&n) { 3.0 } else { 2.0 }).unwrap(),
        )
        .unwrap();
    }
    let before = m.agent.target_weights().unwrap();
    let critic = m.agent.params.weights().unwrap();
    m.agent.soft_update_target().unwrap();
    let after = m.agent.target_weights().unwrap();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    assert!(after.keys().all(|n| is_under(n, "critic")));
    for (n, t) in &after {
        let got = values(t);
        if is_buffer(n) {
            assert!(
                got.iter().all(|&x| x == 3.0),
                "{n}: buffers are not soft-updated"
            );
            continue;
        }
        for (g, w) in got.iter().zip(values(&critic[n])) {
            let want = 0.01 * w as f64 + 0.99 * 2.0;
            assert!((*g as f64 - want).abs() < 1e-6, "{n}: {g} vs {want}");
        }
    }
}

#[test]
fn mixing_copies_the_genes_tensors_and_the_target_critic_unperturbed() {
    let task = small_task(serde_json::json!({}));
    let space = task.space().clone();
    let idx = |n: &str| space.gene_index(n).unwrap();
    let parent_genome = space.genome(vec![1; 36]).unwrap();
    let mut donor_genes = vec![1u16; 36];
    let swapped = [
        idx("actor.feature_dim"),
        idx("critic.Q1.2"),
        idx("encoder.convnet.2"),
    ];
    for &g in &swapped {
        donor_genes[g] = 2;
    }
    let donor_genome = space.genome(donor_genes.clone()).unwrap();
    let mut child_genes = vec![1u16; 36];
    for &g in &swapped {
        child_genes[g] = donor_genes[g];
    }
    let child_genome = space.genome(child_genes).unwrap();
    // Trained members, so that weights and targets differ from their inits.
    let train = |genome: &Genome, seed: u64| -> MemberState {
        let mut m = task.init(genome, seed).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in 0..3 {
            m.agent
                .update(&random_batch(4, seed + i), 0.5, &mut rng)
                .unwrap();
        }
        task.save(&m).unwrap()
    };
    let (parent, donor) = (train(&parent_genome, 1), train(&donor_genome, 2));
    let fresh = task.fresh_state(&child_genome, 99).unwrap();
    let positions = space.positions_of(&swapped);
    assert!(
        positions.contains(&"actor.trunk".to_string())
            && positions.contains(&"actor.policy.0".to_string())
    );
    let transfer = Transfer {
        positions: positions.clone(),
        rule: ShrinkPerturb::PAPER,
        shadows: ShadowRule::CopyDonor,
        reset_optimizer: false,
    };
    let child = inherit(&parent, &donor, &fresh, &transfer).unwrap();
    let mut replaced = 0;
    for (n, t) in &child.weights {
        if positions.iter().any(|p| is_under(n, p)) {
            replaced += 1;
            for ((c, d), f) in values(t)
                .iter()
                .zip(values(&donor.weights[n]))
                .zip(values(&fresh.weights[n]))
            {
                assert!((c - (0.4 * d + 0.1 * f)).abs() < 1e-6, "{n}");
            }
        } else {
            assert_eq!(values(t), values(&parent.weights[n]), "{n} is the parent's");
        }
    }
    assert!(replaced > 0);
    // The target critic at replaced positions is the donor's, exactly; elsewhere the parent's.
    let mut target_replaced = 0;
    for (n, t) in &child.shadows {
        let from = if positions.iter().any(|p| is_under(n, p)) {
            target_replaced += 1;
            &donor.shadows
        } else {
            &parent.shadows
        };
        assert_eq!(values(t), values(&from[n]), "target {n}");
    }
    assert!(target_replaced > 0);
    // The child loads and trains with the mixed genome.
    let mut m = task.load(&child_genome, child).unwrap();
    m.agent
        .update(&random_batch(4, 5), 0.5, &mut ChaCha8Rng::seed_from_u64(5))
        .unwrap();
}

/// On a GPU machine (`--features cuda`), agents of random architectures update on CUDA as on the
/// CPU: the same losses and the same weights after three updates from the same state.
#[test]
fn agent_updates_on_cuda_match_the_cpu() {
    let Ok(gpu) = Device::new_cuda(0) else {
        eprintln!("skipped: no CUDA device (build with --features cuda and run on a GPU machine)");
        return;
    };
    let cpu_task = small_task(serde_json::json!({}));
    let gpu_task = small_task_on(serde_json::json!({}), &gpu);
    let batch = random_batch(4, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..4 {
        let genome = pbtnas_genome::ops::sample(cpu_task.space(), &mut rng);
        let state = cpu_task.save(&cpu_task.init(&genome, 7).unwrap()).unwrap();
        let mut runs = Vec::new();
        for task in [&cpu_task, &gpu_task] {
            let mut m = task.load(&genome, state.clone()).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let losses: Vec<(f64, f64)> = (0..3)
                .map(|_| {
                    let info = m.agent.update(&batch, 0.5, &mut rng).unwrap();
                    (info.critic_loss, info.actor_loss)
                })
                .collect();
            runs.push((losses, m.agent.params.weights().unwrap()));
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * a.abs().max(1.0);
        for (c, g) in runs[0].0.iter().zip(&runs[1].0) {
            assert!(
                close(c.0, g.0) && close(c.1, g.1),
                "{genome}: losses {c:?} vs {g:?}"
            );
        }
        for (name, c) in &runs[0].1 {
            let (c, g) = (values(c), values(&runs[1].1[name]));
            let scale = c.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            let diff = c
                .iter()
                .zip(&g)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff <= 1e-3 * scale, "{genome}: {name} differs by {diff}");
        }
        println!("CUDA matches CPU: {genome}: {:?}", runs[0].0);
    }
}

#[test]
fn a_task_step_collects_episodes_updates_and_round_trips_through_save() {
    let task = RlTask::new(
        &serde_json::json!({
            "kind": "rl", "env": "cartpole_swingup", "obs": "state", "frame_stack": 1,
            "action_repeat": 8, "frames_per_step": 2000, "seed_frames": 1000, "expl_steps": 50,
            "batch_size": 16, "hidden_dim": 16, "eval_episodes": 2, "video": false,
            "replay_size": 10000,
        }),
        RlTask::default_space(),
        &Device::Cpu,
    )
    .unwrap();
    let genome = genome_with(&task, 0, 1);
    let mut m = task.init(&genome, 5).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = StepContext {
        generation: 0,
        slot: 0,
        seed: 11,
        artifacts: dir.path().to_path_buf(),
        progress: Default::default(),
    };
    let metrics = task.train_step(&mut m, &ctx).unwrap();
    // 2000 frames at repeat 8: 250 agent steps, two 125-step episodes; an update at every even
    // step from frame 1000 (step 125) on: steps 126, 128, …, 248.
    assert_eq!(metrics["train/episodes"], 2.0);
    assert_eq!(metrics["replay/transitions"], 250.0);
    assert_eq!(metrics["train/updates"], 62.0);
    assert_eq!(metrics["train/frames"], 2000.0);
    assert!(metrics["train/critic_loss"].is_finite());
    let eval = task.evaluate(&mut m, &ctx).unwrap();
    assert!(eval.fitness.is_finite() && eval.fitness >= 0.0);
    let state = task.save(&m).unwrap();
    let bytes = pbtnas_nn::checkpoint::encode(&state, &serde_json::json!({})).unwrap();
    let (state, _) = pbtnas_nn::checkpoint::decode(&bytes, &Device::Cpu).unwrap();
    let mut back = task.load(&genome, state).unwrap();
    assert_eq!(back.steps, 250);
    assert_eq!(back.replay.len(), 250);
    for (a, b) in m.replay.episodes().zip(back.replay.episodes()) {
        assert_eq!(a, b);
    }
    // The same weights evaluate to the same returns.
    assert_eq!(
        task.evaluate(&mut back, &ctx).unwrap().fitness,
        eval.fitness
    );
    // The task asks the orchestrator for the donor's replay (the paper's work-dir copy).
    assert!(task.child_data_from_donor());
}

#[test]
fn pixel_evaluation_writes_a_gif() {
    let task = small_task(serde_json::json!({"video": true, "action_repeat": 8}));
    let mut m = task.init(&genome_with(&task, 28, 1), 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = StepContext {
        generation: 2,
        slot: 4,
        seed: 3,
        artifacts: dir.path().to_path_buf(),
        progress: Default::default(),
    };
    let eval = task.evaluate(&mut m, &ctx).unwrap();
    assert!(eval.fitness.is_finite());
    let gif = dir.path().join("videos/gen003_slot04.gif");
    assert!(std::fs::metadata(&gif).unwrap().len() > 1000);
}
