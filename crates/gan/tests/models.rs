//! Every gene and option of both GAN spaces builds, runs forward and backward with the right
//! shapes; mixing copies exactly the tensors of the replaced genes and the child loads.

use candle_core::{DType, Device, Tensor};
use pbtnas_gan::{Discriminator, Generator, GeneratorOptions, Geometry};
use pbtnas_genome::{ops, Genome, SearchSpace};
use pbtnas_nn::{inherit, MemberState, Params, ShadowRule, ShrinkPerturb, Transfer};
use rand::SeedableRng;

fn space(file: &str) -> SearchSpace {
    SearchSpace::from_file(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../configs/spaces")
            .join(file),
    )
    .unwrap()
}

const GEO: Geometry = Geometry {
    latent: 12,
    gf: 4,
    df: 4,
    bottom: 2,
    cells: 3,
};

/// Builds G and D of a genome, runs D(G(z)) and backward; returns the parameters.
fn run(space: &SearchSpace, g: &Genome, seed: u64) -> Params {
    let p = Params::new(seed, &Device::Cpu);
    let gen = Generator::new(space, g, GEO, &p, GeneratorOptions::default()).unwrap();
    let disc = Discriminator::new(space, g, GEO, &p).unwrap();
    let z = Tensor::randn(0f32, 1., (2, GEO.latent), &Device::Cpu).unwrap();
    let img = gen.forward(&z, true, seed).unwrap();
    assert_eq!(img.dims(), &[2, 3, 16, 16], "{}", space.describe(g));
    let v = img.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
    let logits = disc.forward(&img, true).unwrap();
    assert_eq!(logits.dims(), &[2, 1]);
    let grads = logits.sum_all().unwrap().backward().unwrap();
    // Every trainable weight of G receives a gradient through D (the head's conv at least).
    let (_, head) = p
        .vars()
        .into_iter()
        .find(|(n, _)| n == "gen.head.to_rgb.weight")
        .unwrap();
    assert!(grads.get(head.as_tensor()).is_some());
    p
}

#[test]
fn every_option_of_every_gene_builds_and_trains() {
    for file in ["gan_hard.yaml", "gan.yaml"] {
        let s = space(file);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let base = ops::sample(&s, &mut rng);
        for gi in 0..s.len() {
            for o in 0..s.genes[gi].options.len() {
                let mut g = base.clone();
                g.genes[gi] = o as u16;
                run(&s, &g, gi as u64);
            }
        }
    }
}

#[test]
fn mixing_copies_exactly_the_replaced_genes_tensors_and_the_child_loads() {
    let s = space("gan_hard.yaml");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for trial in 0..6 {
        let (pa, da) = (ops::sample(&s, &mut rng), ops::sample(&s, &mut rng));
        let (child, replaced) = ops::mix(&pa, &da, 0.25, &mut rng).unwrap();
        let state = |g: &Genome, seed| MemberState {
            weights: run(&s, g, seed).weights().unwrap(),
            ..Default::default()
        };
        let (parent, donor, fresh) = (state(&pa, 1), state(&da, 2), state(&child, 3));
        let positions = s.positions_of(&replaced);
        let t = Transfer {
            positions: positions.clone(),
            rule: ShrinkPerturb::COPY,
            shadows: ShadowRule::CopyDonor,
            reset_optimizer: true,
        };
        let kid = inherit(&parent, &donor, &fresh, &t).unwrap();
        let under = |n: &str| positions.iter().any(|p| pbtnas_nn::is_under(n, p));
        let bits = |t: &Tensor| {
            t.flatten_all()
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        for (name, tensor) in &kid.weights {
            let from = if under(name) { &donor } else { &parent };
            assert_eq!(
                bits(tensor),
                bits(&from.weights[name]),
                "trial {trial}: {name}"
            );
        }
        // The child's state has exactly the tensors the child's model creates.
        let p = Params::from_weights(&kid.weights, 0, &Device::Cpu).unwrap();
        Generator::new(&s, &child, GEO, &p, GeneratorOptions::default()).unwrap();
        Discriminator::new(&s, &child, GEO, &p).unwrap();
        p.check_matches(&kid.weights).unwrap();
    }
}

#[test]
fn bilinear_upsampling_matches_pytorch_weights() {
    // align_corners=False, scale 2: out[0]=x0, out[1]=.75x0+.25x1, out[2]=.25x0+.75x1, out[3]=x1.
    let x = Tensor::new(&[[[[1f32, 3.0], [5.0, 7.0]]]], &Device::Cpu).unwrap();
    let y = pbtnas_nn::ops::upsample2x(&x, true).unwrap();
    let row0: Vec<f32> = y
        .get(0)
        .unwrap()
        .get(0)
        .unwrap()
        .get(0)
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(row0, [1.0, 1.5, 2.5, 3.0]);
    let col0: Vec<f32> = y
        .get(0)
        .unwrap()
        .get(0)
        .unwrap()
        .narrow(1, 0, 1)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(col0, [1.0, 2.0, 4.0, 5.0]);
    let m = pbtnas_gan::model::ops::max_pool2(
        &Tensor::new(&[[[[1f32, 9.0], [3.0, 4.0]]]], &Device::Cpu).unwrap(),
    )
    .unwrap();
    assert_eq!(m.flatten_all().unwrap().to_vec1::<f32>().unwrap(), [9.0]);
    // PyTorch's gradient: all to the first maximum of a window in scan order, also for ties.
    let x = candle_core::Var::new(
        &[[[[2f32, 2.0, 1.0, 3.0], [2.0, 2.0, 3.0, 0.0]]]],
        &Device::Cpu,
    )
    .unwrap();
    let y = pbtnas_gan::model::ops::max_pool2(x.as_tensor()).unwrap();
    assert_eq!(
        y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        [2.0, 3.0]
    );
    let g = y.sum_all().unwrap().backward().unwrap();
    let g = g.get(x.as_tensor()).unwrap().flatten_all().unwrap();
    assert_eq!(
        g.to_vec1::<f32>().unwrap(),
        [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
}

/// `stl_projections` (the Gan space on STL-10): z[0:60] to 6×6, z[60:120] to 12×12, no third
/// projection; the GanHard space, whose projections are genes, refuses it.
#[test]
fn stl_projections_split_z_in_two() {
    let geo = Geometry::small(4, 4, 6);
    let opts = GeneratorOptions {
        stl_projections: true,
        ..Default::default()
    };
    let s = space("gan.yaml");
    let g = ops::sample(&s, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
    let p = Params::new(0, &Device::Cpu);
    let gen = Generator::new(&s, &g, geo, &p, opts).unwrap();
    let z = Tensor::randn(0f32, 1., (2, 120), &Device::Cpu).unwrap();
    assert_eq!(gen.forward(&z, true, 0).unwrap().dims(), &[2, 3, 48, 48]);
    let shapes: Vec<(String, Vec<usize>)> = p
        .weights()
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n.starts_with("gen.proj"))
        .map(|(n, t)| (n, t.dims().to_vec()))
        .collect();
    let want = [
        ("gen.proj0.linear.bias", vec![36 * 4]),
        ("gen.proj0.linear.weight", vec![36 * 4, 60]),
        ("gen.proj1.linear.bias", vec![144 * 4]),
        ("gen.proj1.linear.weight", vec![144 * 4, 60]),
    ];
    let want: Vec<(String, Vec<usize>)> =
        want.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
    assert_eq!(shapes, want);
    let hard = space("gan_hard.yaml");
    let g = ops::sample(&hard, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
    let e = Generator::new(&hard, &g, geo, &Params::new(0, &Device::Cpu), opts)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "stl_projections applies to the Gan space, whose projections are not searched"
    );
}
