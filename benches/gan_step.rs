//! One GanHard training iteration (benchmark genome; D step, every 5th G step with EMA) at the
//! paper's CIFAR size (batch 40) and at the CPU-sized geometry of `configs/gan/quick.yaml`.
//! Each sample is a PBT step of 5 iterations, i.e. one G step.

#[path = "gan_workload.rs"]
mod gan_workload;

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};

fn gan_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("gan_hard_5_iterations");
    group.sample_size(10);
    for (name, geometry, batch) in [
        ("cifar_b40", "cifar", 40),
        ("quick_16px_b16", "16,16,2", 16),
    ] {
        let (task, mut member) =
            gan_workload::gan_member(geometry, batch, 5, &Device::Cpu).expect("bench task");
        let mut seed = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                seed += 1;
                gan_workload::step(&task, &mut member, seed).expect("step")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, gan_step);
criterion_main!(benches);
