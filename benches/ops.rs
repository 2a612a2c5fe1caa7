//! criterion benches of the CPU kernels (pbtnas_nn::ops) on the workloads of `workloads.rs`.
//! `cargo bench --bench ops`; side by side with PyTorch: `scripts/bench/ops-compare.sh`.

// The candle baseline backend is timed by `examples/bench_ops --candle`, not here.
#[allow(dead_code)]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use workloads::Backend;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ops");
    g.sample_size(10);
    for w in workloads::all().unwrap() {
        g.bench_function(w.name, |b| b.iter(|| (w.run)(Backend::Ours).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
