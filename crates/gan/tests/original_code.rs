//! Golden tests against the original PBT-NAS code (github.com/AwesomeLemon/PBT-NAS, the commit
//! named in the fixture): `scripts/fixtures/original-gan.py ORIGINAL_REPO_DIR` builds the original's
//! generator and discriminators at a small geometry for 408 GanHard genomes (300 drawn from seed
//! 31173, 108 hand-picked to reach every branch of the D block, the ×4 bilinear projection and
//! the lone skip of a cell) and 60 Gan genomes (10 with the STL projections), sets every tensor
//! to a closed-form value of its pbtnas name (`fill`, the same formula as the script's), and
//! records sampled outputs, the logits and per-tensor gradient projections of fixed scalars.
//! Here the same genomes are built by pbtnas and must agree to a relative 1e-4 in f32; a genome
//! that differs fails with its genes and what differs.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor, Var};
use pbtnas_gan::{Discriminator, Generator, GeneratorOptions, Geometry};
use pbtnas_genome::SearchSpace;
use pbtnas_nn::{Params, WeightMap};
use serde::Deserialize;

const TOL: f64 = 1e-4;

#[derive(Deserialize)]
struct Fixture {
    commit: String,
    batch: usize,
    spaces: BTreeMap<String, Vec<Case>>,
}

#[derive(Deserialize)]
struct Stats {
    idx: Vec<usize>,
    val: Vec<f64>,
    sum: f64,
    sumsq: f64,
}

#[derive(Deserialize)]
struct Case {
    tag: String,
    genes: Vec<u16>,
    stl: bool,
    g_out: Stats,
    g_grads: BTreeMap<String, [f64; 2]>,
    d_logits: Vec<f64>,
    d_grad_x: Stats,
    d_grads: BTreeMap<String, [f64; 2]>,
    d_logits_eval: Vec<f64>,
}

const GEO: Geometry = Geometry {
    latent: 12,
    gf: 4,
    df: 4,
    bottom: 2,
    cells: 3,
};

fn name_phase(name: &str) -> f64 {
    let s: u64 = name
        .bytes()
        .enumerate()
        .map(|(i, b)| (i as u64 + 1) * b as u64)
        .sum();
    (s % 1009) as f64 * 0.01
}

fn wave(n: usize, phase: f64, step: f64) -> Vec<f64> {
    (0..n).map(|j| (step * j as f64 + phase).sin()).collect()
}

/// The closed-form value of a tensor (the script's `fill`).
fn fill(name: &str, shape: &[usize]) -> Vec<f32> {
    let n = shape.iter().product();
    let leaf = name.rsplit('.').next().unwrap_or(name);
    let fan: usize = shape.iter().skip(1).product();
    wave(n, name_phase(name), 0.7315)
        .into_iter()
        .map(|s| {
            (match leaf {
                "running_var" => 0.75 + 0.25 * s,
                "running_mean" => 0.1 * s,
                "weight_u" | "weight_v" => s,
                _ if shape.len() >= 2 => s / (fan as f64).sqrt(),
                "weight" if name.contains(".bn.") => 1.0 + 0.1 * s,
                _ => 0.1 * s,
            }) as f32
        })
        .collect()
}

fn tensor(v: Vec<f64>, shape: &[usize]) -> Tensor {
    let v: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn flat(t: &Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Differences of one case, as readable lines (empty: it agrees).
#[derive(Default)]
struct Diffs(Vec<String>);

impl Diffs {
    fn close(&mut self, what: &str, got: f64, want: f64, scale: f64) {
        self.close_rel(what, got, want, scale, TOL);
    }

    /// A sum of squares: twice the relative error of the values it squares.
    fn close_sq(&mut self, what: &str, got: f64, want: f64) {
        self.close_rel(what, got, want, 0.0, 2.0 * TOL);
    }

    fn close_rel(&mut self, what: &str, got: f64, want: f64, scale: f64, tol: f64) {
        // Written so that a NaN on either side differs.
        let within = (got - want).abs() <= tol * scale.max(want.abs()) + 1e-9;
        if !within {
            self.0
                .push(format!("{what}: pbtnas {got:.7e}, original {want:.7e}"));
        }
    }

    fn stats(&mut self, what: &str, got: &[f64], want: &Stats) {
        let rms = (want.sumsq / got.len() as f64).sqrt();
        for (&i, &w) in want.idx.iter().zip(&want.val) {
            self.close(&format!("{what}[{i}]"), got[i], w, rms);
        }
        let sum: f64 = got.iter().sum();
        let sumsq: f64 = got.iter().map(|x| x * x).sum();
        self.close(
            &format!("{what} sum"),
            sum,
            want.sum,
            (want.sumsq * got.len() as f64).sqrt(),
        );
        self.close_sq(&format!("{what} sum of squares"), sumsq, want.sumsq);
    }

    /// Gradient projections: Σg² and Σg·fill per tensor of `prefix`; a tensor with a gradient on
    /// one side only differs too.
    fn grads(
        &mut self,
        prefix: &str,
        params: &Params,
        grads: &candle_core::backprop::GradStore,
        want: &BTreeMap<String, [f64; 2]>,
    ) {
        for (name, var) in params.vars() {
            if !name.starts_with(prefix) || name.ends_with("weight_u") || name.ends_with("weight_v")
            {
                continue;
            }
            let g = grads.get(var.as_tensor()).map(flat);
            let nonzero = g.as_ref().is_some_and(|g| g.iter().any(|&x| x != 0.0));
            match (want.get(&name), g) {
                (Some(&[sq, dot]), Some(g)) => {
                    let f = fill(&name, var.dims());
                    let gsq: f64 = g.iter().map(|x| x * x).sum();
                    let fsq: f64 = f.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
                    let gdot: f64 = g.iter().zip(&f).map(|(a, &b)| a * f64::from(b)).sum();
                    self.close_sq(&format!("∂/∂{name} Σg²"), gsq, sq);
                    self.close(&format!("∂/∂{name} Σg·w"), gdot, dot, (sq * fsq).sqrt());
                }
                (Some(_), None) => self.0.push(format!("{name}: no gradient in pbtnas")),
                (None, _) if nonzero => self
                    .0
                    .push(format!("{name}: trained by pbtnas, not by the original")),
                (None, _) => {}
            }
        }
        for name in want.keys() {
            if !params.vars().iter().any(|(n, _)| n == name) {
                self.0.push(format!(
                    "{name}: the original's tensor is missing in pbtnas"
                ));
            }
        }
    }
}

fn check(space: &SearchSpace, case: &Case, batch: usize) -> Diffs {
    let dev = Device::Cpu;
    let genome = space.genome(case.genes.clone()).unwrap();
    let options = GeneratorOptions {
        inplace_skip_quirk: true,
        stl_projections: case.stl,
    };
    // Build once for the names and shapes, then with every tensor set in closed form.
    let probe = Params::new(0, &dev);
    Generator::new(space, &genome, GEO, &probe, options).unwrap();
    Discriminator::new(space, &genome, GEO, &probe).unwrap();
    let weights: WeightMap = probe
        .vars()
        .into_iter()
        .map(|(n, v)| {
            let t = Tensor::from_vec(fill(&n, v.dims()), v.dims(), &dev).unwrap();
            (n, t)
        })
        .collect();
    let p = Params::from_weights(&weights, 0, &dev).unwrap();
    let gen = Generator::new(space, &genome, GEO, &p, options).unwrap();
    let disc = Discriminator::new(space, &genome, GEO, &p).unwrap();
    let mut d = Diffs::default();

    let z = tensor(wave(batch * GEO.latent, 0.3, 1.1), &[batch, GEO.latent]);
    let img = gen.forward(&z, false, 0).unwrap();
    let r = tensor(wave(img.elem_count(), 1.7, 0.913), img.dims());
    let grads = (&img * &r).unwrap().sum_all().unwrap().backward().unwrap();
    d.stats("G(z)", &flat(&img), &case.g_out);
    d.grads("gen.", &p, &grads, &case.g_grads);

    let side = GEO.image_size();
    let x = Var::from_tensor(&tensor(
        wave(batch * 3 * side * side, 0.9, 0.417),
        &[batch, 3, side, side],
    ))
    .unwrap();
    let logits = disc.forward(x.as_tensor(), true).unwrap();
    let rd = tensor(vec![1.0, -0.5, 0.25][..batch].to_vec(), &[batch, 1]);
    let grads = (&logits * &rd)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let got = flat(&logits);
    let scale = case.d_logits.iter().map(|v| v.abs()).fold(0.0, f64::max);
    for (i, (&g, &w)) in got.iter().zip(&case.d_logits).enumerate() {
        d.close(&format!("D(x)[{i}] (train)"), g, w, scale);
    }
    d.stats(
        "∂D/∂x",
        &flat(grads.get(x.as_tensor()).unwrap()),
        &case.d_grad_x,
    );
    d.grads("disc.", &p, &grads, &case.d_grads);
    let eval = flat(&disc.forward(x.as_tensor(), false).unwrap());
    for (i, (&g, &w)) in eval.iter().zip(&case.d_logits_eval).enumerate() {
        d.close(&format!("D(x)[{i}] (eval)"), g, w, scale);
    }
    d
}

fn fixture() -> Fixture {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/original_gan.json.gz");
    let file = std::fs::File::open(path).unwrap();
    serde_json::from_reader(flate2::read::GzDecoder::new(std::io::BufReader::new(file))).unwrap()
}

fn run_space(key: &str, file: &str, min_cases: usize) {
    let fx = fixture();
    assert_eq!(
        fx.commit.len(),
        40,
        "the fixture names the original's commit"
    );
    let space = SearchSpace::from_file(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../configs/spaces")
            .join(file),
    )
    .unwrap();
    let cases = &fx.spaces[key];
    assert!(cases.len() >= min_cases, "{} cases", cases.len());
    let mut failed = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let diffs = check(&space, case, fx.batch);
        if !diffs.0.is_empty() {
            let genome = space.genome(case.genes.clone()).unwrap();
            failed.push(format!(
                "case {i} ({}), genome {}:\n    {}",
                case.tag,
                space.describe(&genome),
                diffs
                    .0
                    .iter()
                    .take(12)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {key} genomes compute something else than the original (commit {}):\n{}",
        failed.len(),
        cases.len(),
        fx.commit,
        failed
            .iter()
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn gan_hard_networks_compute_what_the_original_computes() {
    run_space("gan_hard", "gan_hard.yaml", 350);
}

#[test]
fn gan_networks_compute_what_the_original_computes() {
    run_space("gan", "gan.yaml", 60);
}
