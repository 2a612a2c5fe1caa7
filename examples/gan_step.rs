//! Times GanHard training iterations (benchmark genome, D step + a G step every n_critic, EMA) on
//! a device and prints one JSON line, for side-by-side runs with `scripts/bench/gan_torch.py`.
//! `cargo run --release --example gan_step -- [--geometry cifar] [--batch 40] [--n-critic 5]
//! [--iters 50] [--device auto]`; with `PBTNAS_PROFILE=1` the line also gives ms per iteration
//! of each phase (`profile/…`, the device synchronised at each phase's end).

#[path = "../benches/gan_workload.rs"]
mod gan_workload;

use std::time::Instant;

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
    let geometry = opt("--geometry", "cifar");
    let batch: usize = opt("--batch", "40").parse()?;
    let n_critic: usize = opt("--n-critic", "5").parse()?;
    let iters: usize = opt("--iters", "50").parse()?;
    let device = pbtnas_nn::parse_device(&opt("--device", "auto"))?;
    // Warm-up step (kernel loading, allocator), then the timed one.
    let (warm, mut member) = gan_workload::gan_member(&geometry, batch, n_critic, 5, &device)?;
    gan_workload::step(&warm, &mut member, 0)?;
    let (task, _) = gan_workload::gan_member(&geometry, batch, n_critic, iters, &device)?;
    let t = Instant::now();
    let metrics = gan_workload::step(&task, &mut member, 1)?;
    let ms = t.elapsed().as_secs_f64() * 1000.0 / iters as f64;
    let count = |prefix: &str| -> anyhow::Result<usize> {
        Ok(member
            .trainable()?
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(_, t)| t.elem_count())
            .sum())
    };
    let mut line = serde_json::json!({
        "framework": "candle", "device": pbtnas_nn::device_name(&device),
        "candle_ops": pbtnas_nn::ops::candle_ops().iter().map(|g| g.name()).collect::<Vec<_>>(), "geometry": geometry,
        "batch": batch, "n_critic": n_critic, "iters": iters, "ms_per_iter": (ms * 1000.0).round() / 1000.0,
        "params_g": count("gen.")?, "params_d": count("disc.")?,
    });
    for (name, v) in metrics.iter().filter(|(n, _)| n.starts_with("profile/")) {
        line[name] = ((v * 1000.0).round() / 1000.0).into();
    }
    println!("{line}");
    Ok(())
}
