//! The metrics' linear algebra at Inception width (2048): statistics of 5,000 feature vectors
//! (one FID-5k's samples) and the Fréchet distance between two such statistics.

use criterion::{criterion_group, criterion_main, Criterion};
use pbtnas_metrics::{frechet_distance, FeatureStats};
use rand::{Rng, SeedableRng};

fn features(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // ReLU-like features: non-negative, correlated through a shared factor per sample.
    (0..n)
        .flat_map(|_| {
            let shared: f32 = rng.random();
            (0..d)
                .map(|_| (rng.random::<f32>() - 0.5 + shared).max(0.0))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn metrics(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_2048");
    group.sample_size(10);
    let (a, b) = (features(5000, 2048, 1), features(5000, 2048, 2));
    group.bench_function("stats_of_5000", |bench| {
        bench.iter(|| FeatureStats::of(&a, 2048).expect("stats"))
    });
    let (sa, sb) = (
        FeatureStats::of(&a, 2048).unwrap(),
        FeatureStats::of(&b, 2048).unwrap(),
    );
    group.bench_function("frechet_distance", |bench| {
        bench.iter(|| frechet_distance(&sa, &sb).expect("fd"))
    });
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
