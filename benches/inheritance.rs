//! Child creation and checkpoint cost on a GAN-sized member: 24 positions holding a 3x3 conv
//! 256->256 with bias (14.2M parameters), an EMA copy of every tensor, and Adam state.
//! `cargo bench --bench inheritance`.

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use pbtnas_nn::checkpoint::{decode, encode};
use pbtnas_nn::{
    inherit, Init, MemberState, ParamState, Params, ShadowRule, ShrinkPerturb, Transfer,
};

const POSITIONS: usize = 24;

fn member(seed: u64) -> MemberState {
    let p = Params::new(seed, &Device::Cpu);
    for i in 0..POSITIONS {
        let q = p.pp(format!("gen.cell{}.c{}", i / 8, i % 8));
        q.get(
            (256, 256, 3, 3),
            "weight",
            Init::TorchDefault { fan_in: 2304 },
        )
        .unwrap();
        q.get(256, "bias", Init::TorchDefault { fan_in: 2304 })
            .unwrap();
    }
    let weights = p.weights().unwrap();
    let adam = weights
        .iter()
        .map(|(n, t)| {
            let z = t.zeros_like().unwrap();
            (
                n.clone(),
                ParamState {
                    m: z.clone(),
                    v: z,
                    step: 10,
                },
            )
        })
        .collect();
    MemberState {
        shadows: weights.clone(),
        weights,
        optimizers: [("gen".to_string(), adam)].into(),
        meta: serde_json::json!({}),
        data: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let (parent, donor, fresh) = (member(1), member(2), member(3));
    // A quarter of the positions come from the donor, as mixing with p = 0.25 gives on average.
    let transfer = Transfer {
        positions: (0..POSITIONS)
            .step_by(4)
            .map(|i| format!("gen.cell{}.c{}", i / 8, i % 8))
            .collect(),
        rule: ShrinkPerturb::PAPER,
        shadows: ShadowRule::CopyDonor,
        reset_optimizer: true,
    };
    let mut g = c.benchmark_group("gan-sized member");
    g.sample_size(10);
    g.bench_function("child creation (mix 6/24 positions, shrink-perturb)", |b| {
        b.iter(|| inherit(&parent, &donor, &fresh, &transfer).unwrap())
    });
    let header = serde_json::json!({});
    g.bench_function("checkpoint encode", |b| {
        b.iter(|| encode(&parent, &header).unwrap())
    });
    let bytes = encode(&parent, &header).unwrap();
    g.bench_function("checkpoint decode", |b| {
        b.iter(|| decode(&bytes, &Device::Cpu).unwrap())
    });
    g.bench_function("fresh init (seeded)", |b| b.iter(|| member(4)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
