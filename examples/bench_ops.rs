//! Times the single-op workloads (median of several runs after one warm-up) and prints one JSON
//! line per workload, for `scripts/bench/ops-compare.sh`.
//! `cargo run --release --example bench_ops -- [--reps N] [--candle] [--filter TEXT]`

#[path = "../benches/workloads.rs"]
mod workloads;

use std::time::Instant;

use workloads::Backend;

fn main() -> candle_core::Result<()> {
    pbtnas_nn::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let opt = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let reps: usize = opt("--reps").and_then(|r| r.parse().ok()).unwrap_or(3);
    let filter = opt("--filter").unwrap_or_default();
    let backend = if args.iter().any(|a| a == "--candle") {
        Backend::Candle
    } else {
        Backend::Ours
    };
    for w in workloads::all()?
        .into_iter()
        .filter(|w| w.name.contains(&filter))
    {
        (w.run)(backend)?;
        let mut times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                (w.run)(backend).map(|_| t.elapsed().as_secs_f64())
            })
            .collect::<candle_core::Result<_>>()?;
        times.sort_by(f64::total_cmp);
        let name = if backend == Backend::Candle {
            format!("{} [candle]", w.name)
        } else {
            w.name.to_string()
        };
        println!(
            "{}",
            serde_json::json!({"name": name, "median_s": times[times.len() / 2], "times_s": times})
        );
    }
    Ok(())
}
