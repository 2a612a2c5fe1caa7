//! GanHard training iterations (benchmark genome, EMA after each G step) at the paper's CIFAR
//! size (batch 40, a G step every 5th iteration) and at the CPU-sized geometry and schedule of
//! `configs/gan/quick.yaml` (batch 16, a G step every iteration). Each sample is 5 iterations.

#[path = "gan_workload.rs"]
mod gan_workload;

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};

fn gan_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("gan_hard_5_iterations");
    group.sample_size(10);
    for (name, geometry, batch, n_critic) in [
        ("cifar_b40", "cifar", 40, 5),
        ("quick_16px_b16", "16,16,2", 16, 1),
    ] {
        let (task, mut member) =
            gan_workload::gan_member(geometry, batch, n_critic, 5, &Device::Cpu)
                .expect("bench task");
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
