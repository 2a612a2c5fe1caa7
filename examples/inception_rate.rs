//! Times Inception pool3 feature extraction (32×32 inputs resized to 299) and prints one JSON
//! line, for side-by-side runs with `scripts/bench/inception.sh`.
//! `cargo run --release --example inception_rate -- WEIGHTS [--batch 25] [--rounds 2] [--device auto]`

use std::time::Instant;

use candle_core::Tensor;
use clap::Parser;
use pbtnas_metrics::Inception;

/// Times Inception pool3 feature extraction.
#[derive(Parser)]
struct Args {
    /// Converted weights (`pbtnas metrics import-weights`).
    weights: std::path::PathBuf,
    #[arg(long, default_value_t = 25)]
    batch: usize,
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    #[arg(long, default_value = "auto")]
    device: String,
}

fn main() -> anyhow::Result<()> {
    pbtnas_nn::alloc::keep_freed_memory();
    let Args {
        weights,
        batch,
        rounds,
        device,
    } = Args::parse();
    let device = pbtnas_nn::parse_device(&device)?;
    let net = Inception::load(&weights, &device)?;
    let images = (Tensor::rand(0f32, 255f32, (batch, 3, 32, 32), &device)?).floor()?;
    net.features(&images)?; // warm-up
    let t = Instant::now();
    for _ in 0..rounds {
        net.features(&images)?.to_vec2::<f32>()?;
    }
    let rate = (batch * rounds) as f64 / t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"framework": "candle", "device": pbtnas_nn::device_name(&device),
            "batch": batch, "images_per_s": (rate * 100.0).round() / 100.0})
    );
    Ok(())
}
