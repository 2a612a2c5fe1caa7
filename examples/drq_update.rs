//! Times DrQ-v2 updates (critic + encoder, actor, target) of the original networks on a random
//! pixel batch and prints one JSON line, for side-by-side runs with `scripts/bench/drq_torch.py`.
//! `cargo run --release --example drq_update -- [--batch 256] [--size 84] [--hidden 1024]
//! [--actions 6] [--iters 5] [--device auto]`; with `PBTNAS_PROFILE=1` the line also gives ms per
//! update of each phase (`profile/…`, the device synchronised at each phase's end).

use std::time::Instant;

use pbtnas_nn::{AdamConfig, Params, PhaseTimer};
use pbtnas_rl::agent::{is_buffer, Agent, AgentSpec};
use pbtnas_rl::nets::{Arch, ObsShape};
use pbtnas_rl::replay_buffer::Batch;
use rand::{Rng, SeedableRng};

fn main() -> anyhow::Result<()> {
    pbtnas_nn::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let opt = |flag: &str, default: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let batch: usize = opt("--batch", "256").parse()?;
    let size: usize = opt("--size", "84").parse()?;
    let hidden: usize = opt("--hidden", "1024").parse()?;
    let actions: usize = opt("--actions", "6").parse()?;
    let iters: usize = opt("--iters", "5").parse()?;
    let device = pbtnas_nn::parse_device(&opt("--device", "auto"))?;
    let spec = AgentSpec {
        obs: ObsShape::Pixels {
            c: 9,
            h: size,
            w: size,
        },
        action_dim: actions,
        hidden_dim: hidden,
        adam: AdamConfig {
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
        critic_tau: 0.01,
        stddev_clip: 0.3,
    };
    let mut agent = Agent::new(
        &Arch::original(50),
        spec,
        Params::new(0, &device),
        None,
        Default::default(),
    )?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let obs_len = spec.obs.len();
    let mut v = |n: usize, lo: f32, hi: f32| {
        (0..n)
            .map(|_| rng.random_range(lo..hi))
            .collect::<Vec<f32>>()
    };
    let b = Batch {
        size: batch,
        obs: v(batch * obs_len, 0.0, 255.0),
        action: v(batch * actions, -1.0, 1.0),
        reward: v(batch, 0.0, 1.0),
        discount: vec![0.99; batch],
        next_obs: v(batch * obs_len, 0.0, 255.0),
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    // Inside a rayon pool (RAYON_NUM_THREADS threads), as the runner's workers run members: ops
    // called from outside a pool pay a thread wake-up each.
    let pool = rayon::ThreadPoolBuilder::new().build()?;
    let mut prof = PhaseTimer::from_env(&device);
    let ms = pool.install(|| -> anyhow::Result<f64> {
        agent.update(&b, 0.2, &mut rng)?;
        device.synchronize()?;
        prof.restart()?;
        let t = Instant::now();
        for _ in 0..iters {
            agent.update_profiled(&b, 0.2, &mut rng, &mut prof)?;
        }
        device.synchronize()?;
        Ok(t.elapsed().as_secs_f64() * 1000.0 / iters as f64)
    })?;
    let params: usize = agent
        .params
        .vars()
        .iter()
        .filter(|(n, _)| !is_buffer(n))
        .map(|(_, v)| v.elem_count())
        .sum();
    let mut line = serde_json::json!({
        "framework": "candle", "device": pbtnas_nn::device_name(&device),
        "candle_ops": pbtnas_nn::ops::candle_ops().iter().map(|g| g.name()).collect::<Vec<_>>(), "batch": batch,
        "size": size, "hidden": hidden, "iters": iters,
        "ms_per_update": (ms * 1000.0).round() / 1000.0, "params": params,
    });
    for (name, v) in prof.metrics(iters) {
        line[name] = ((v * 1000.0).round() / 1000.0).into();
    }
    println!("{line}");
    Ok(())
}
