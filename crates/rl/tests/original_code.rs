//! The DrQ-v2 networks of crates/rl/src/nets against the ORIGINAL PBT-NAS code,
//! github.com/AwesomeLemon/PBT-NAS at commit 5a2743425fc42e14da34922e56a53428837ea02c
//! (models/rl/drqv2_nets_normact.py, drqv2_ops_conv.py, drqv2_ops_linear.py,
//! spectral_norm_optional.py; search_space/rl_normact_ss.py).
//!
//! fixtures/original_rl.json is written by scripts/fixtures/original-rl.py, which imports the
//! original's RlNormActSearchSpace, EncoderNormActNAS, ActorNormActNAS and CriticNormActNAS from
//! a local copy (none of the original's code is in this repository), maps every key of their
//! state_dicts to our tensor name and sets every tensor, spectral norm's u and v included, to the
//! closed-form value of that name (`fill` below, the script's `fill`). Its 123 genomes: 100 drawn
//! uniformly per gene (numpy seed 31173), 21 hand-picked ones that put every op, activation,
//! feature dim and spectral-norm setting at every position, and two at the paper's geometry
//! (84×84 frames, where the original uses its hard-coded repr_dim 32·41·41, and hidden 1024).
//!
//! For each genome this test builds our encoder, actor and critic over the same tensors and
//! compares, in f32: the actor's mean and Q1/Q2 in train mode (one power iteration per
//! spectral-normed layer, u first), every gradient of a fixed scalar of them (Σg², g·w, g·probe),
//! the outputs again in eval mode (no power iteration), and spectral norm's u and v after these
//! passes (·start, ·probe). Every relative error must be ≤ 1e-4 (outputs: against
//! max(|want|, 0.1·max|want|, 0.1); dot products: against their Cauchy-Schwarz bound); the
//! original in f32 against f64 reaches 2.3e-5. A genome that differs fails with its
//! description and every quantity that differs.
//!
//! Regenerate: .venv/bin/python scripts/fixtures/original-rl.py ORIGINAL_REPO_DIR [--commit HASH]

use std::collections::BTreeSet;

use candle_core::{Device, Tensor};
use pbtnas_genome::SearchSpace;
use pbtnas_nn::{Params, WeightMap};
use pbtnas_rl::agent::is_buffer;
use pbtnas_rl::nets::{Actor, Arch, Critic, Encoder, ObsShape};
use pbtnas_rl::RlTask;
use serde_json::Value;

/// The original's commit the fixture comes from.
const COMMIT: &str = "5a2743425fc42e14da34922e56a53428837ea02c";
/// Largest relative error of any compared quantity.
const TOL: f64 = 1e-4;
/// Outputs are compared relative to max(|want|, OUT_FLOOR·max|want|, OUT_FLOOR): a Q near 0 is
/// a difference of terms of order 1.
const OUT_FLOOR: f64 = 0.1;
/// Floor of a gradient's Σg² in its relative error.
const SUMSQ_FLOOR: f64 = 1e-20;
/// Differences listed per genome.
const SHOWN: usize = 25;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/original_rl.json")).unwrap()
}

/// 64-bit FNV-1a of a tensor name (its phase in `wave`), as the script's `fnv1a`.
fn fnv1a(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `sin(phase + 0.37 i + 0.0007 (i² mod 65521))` in f64, as the script's `wave`.
fn wave(name: &str, n: usize) -> Vec<f64> {
    let phase = (fnv1a(name) % 100_003) as f64 * 6.2831853e-5;
    (0..n as u64)
        .map(|i| {
            let t = (i * i) % 65_521;
            (phase + 0.37 * i as f64 + 0.0007 * t as f64).sin()
        })
        .collect()
}

/// The script's `fill`: our tensor `name` of `shape`, in f32. u and v: the wave normalised;
/// weights (≥ 2 dims): 1.5/√fan_in · wave; layer-norm gains: 1 + 0.2 · wave; the rest (biases,
/// layer-norm shifts): 0.1 · wave.
fn fill(name: &str, shape: &[usize]) -> Vec<f32> {
    let n = shape.iter().product::<usize>();
    let s = wave(name, n);
    if is_buffer(name) {
        let x: Vec<f64> = s.iter().map(|v| *v as f32 as f64).collect();
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        x.iter().map(|v| (v / norm) as f32).collect()
    } else if shape.len() >= 2 {
        let scale = 1.5 / (shape[1..].iter().product::<usize>() as f64).sqrt();
        s.iter().map(|v| (scale * v) as f32).collect()
    } else if name.ends_with("ln.weight") {
        s.iter().map(|v| (1.0 + 0.2 * v) as f32).collect()
    } else {
        s.iter().map(|v| (0.1 * v) as f32).collect()
    }
}

/// The probe a tensor's gradient (or u/v) is projected on: `wave("probe:" + name)` in f32.
fn probe(name: &str, n: usize) -> Vec<f64> {
    wave(&format!("probe:{name}"), n)
        .iter()
        .map(|v| *v as f32 as f64)
        .collect()
}

/// A `rows × cols` input: `scale · wave(name)` in f32.
fn input(name: &str, rows: usize, cols: usize, scale: f64) -> Tensor {
    let v: Vec<f32> = wave(name, rows * cols)
        .iter()
        .map(|x| (scale * x) as f32)
        .collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
}

fn to_f64(t: &Tensor) -> Vec<f64> {
    let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    v.into_iter().map(|x| x as f64).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A fixture tensor entry `[[dims], numbers…]`.
fn entry(v: &Value) -> (Vec<usize>, Vec<f64>) {
    let a = v.as_array().unwrap();
    let dims = a[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let nums = a[1..].iter().map(|x| x.as_f64().unwrap()).collect();
    (dims, nums)
}

/// The original's position (`network:layer+layer`, as the script writes it) of one of our genes:
/// the same names but for the feature dims (the original names the layers they size) and the
/// trunks' activations (`trunc_activ` there).
fn original_position(ours: &str) -> String {
    let (net, rest) = ours.split_once('.').unwrap();
    let rest = match (net, rest) {
        ("actor", "feature_dim") => "trunk+policy.0",
        ("critic", "feature_dim") => "trunk+Q1.0+Q2.0",
        (_, "trunk_activ") => "trunc_activ",
        _ => rest,
    };
    format!("{net}:{rest}")
}

fn genes_of(case: &Value) -> Vec<u16> {
    case["genes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_u64().unwrap() as u16)
        .collect()
}

/// `gene=option …` of a genome, for failure messages.
fn describe(space: &SearchSpace, genes: &[u16]) -> String {
    space
        .genes
        .iter()
        .zip(genes)
        .map(|(g, &o)| {
            let opt = g.options.get(o as usize).map_or("?", |s| s.as_str());
            format!("{}={opt}", g.name)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn build(
    p: &Params,
    arch: &Arch,
    obs: ObsShape,
    hidden: usize,
    actions: usize,
) -> anyhow::Result<(Encoder, Actor, Critic)> {
    let enc = Encoder::new(&p.pp("encoder"), arch, obs)?;
    let repr = enc.repr_dim();
    let actor = Actor::new(&p.pp("actor"), arch, repr, hidden, actions)?;
    let critic = Critic::new(&p.pp("critic"), arch, repr, hidden, actions)?;
    Ok((enc, actor, critic))
}

/// Records `what` when `|got − want| / scale` exceeds [`TOL`] (or is NaN).
fn close(what: String, got: f64, want: f64, scale: f64, diffs: &mut Vec<String>) {
    let err = (got - want).abs() / scale.max(1e-30);
    let within = err <= TOL; // false for NaN
    if !within {
        diffs.push(format!(
            "{what}: {got:.8e}, the original {want:.8e} (rel. error {err:.1e})"
        ));
    }
}

/// Compares the actor's mean and Q1/Q2 of one pass with the fixture's.
fn outputs(mode: &str, got: [&Tensor; 3], want: &Value, diffs: &mut Vec<String>) {
    for (key, t) in ["mu", "q1", "q2"].into_iter().zip(got) {
        let g = to_f64(t);
        let w = floats(&want[key]);
        if g.len() != w.len() {
            diffs.push(format!(
                "{mode} {key}: {} values, the original {}",
                g.len(),
                w.len()
            ));
            continue;
        }
        let floor = (OUT_FLOOR * w.iter().fold(0f64, |m, x| m.max(x.abs()))).max(OUT_FLOOR);
        for (i, (a, b)) in g.iter().zip(&w).enumerate() {
            close(
                format!("{mode} {key}[{i}]"),
                *a,
                *b,
                b.abs().max(floor),
                diffs,
            );
        }
    }
}

/// Every quantity of one fixture case that our networks compute differently.
fn differences(
    case: &Value,
    space: &SearchSpace,
    b: usize,
    stack: usize,
    actions: usize,
) -> Vec<String> {
    let size = case["size"].as_u64().unwrap() as usize;
    let hidden = case["hidden"].as_u64().unwrap() as usize;
    let arch = Arch::from_genome(space, &space.genome(genes_of(case)).unwrap()).unwrap();
    let obs_shape = ObsShape::Pixels {
        c: 3 * stack,
        h: size,
        w: size,
    };

    // The original's tensors (our names, its shapes) with their closed-form values.
    let mut weights = WeightMap::new();
    for group in ["grad", "uv"] {
        for (name, v) in case[group].as_object().unwrap() {
            let (dims, _) = entry(v);
            let t = Tensor::from_vec(fill(name, &dims), dims.as_slice(), &Device::Cpu).unwrap();
            weights.insert(name.clone(), t);
        }
    }
    let p = Params::from_weights(&weights, 0, &Device::Cpu).unwrap();
    let (enc, actor, critic) = match build(&p, &arch, obs_shape, hidden, actions) {
        Ok(nets) => nets,
        Err(e) => {
            return vec![format!(
                "our networks do not build over the original's tensors: {e:#}"
            )]
        }
    };
    // Exactly the original's tensors: none created anew, none left unused.
    let ours: BTreeSet<String> = p.vars().into_iter().map(|(n, _)| n).collect();
    let theirs: BTreeSet<String> = weights.keys().cloned().collect();
    if ours != theirs {
        return vec![format!(
            "tensor names differ: only ours {:?}, only the original's {:?}",
            ours.difference(&theirs).collect::<Vec<_>>(),
            theirs.difference(&ours).collect::<Vec<_>>()
        )];
    }

    let obs: Vec<f32> = (0..b * obs_shape.len())
        .map(|i| (128.0 + 127.0 * (0.11 * i as f64).sin()).floor() as f32)
        .collect();
    let obs = Tensor::from_vec(obs, (b, 3 * stack, size, size), &Device::Cpu).unwrap();
    let action = input("action", b, actions, 0.5);
    let mut diffs = Vec::new();

    // Train mode (one power iteration in every spectral-normed layer), then the gradients.
    let rep = enc.forward(&obs, true).unwrap();
    let mu = actor.forward(&rep, true).unwrap();
    let (q1, q2) = critic.forward(&rep, &action, true).unwrap();
    outputs("train", [&mu, &q1, &q2], &case["train"], &mut diffs);
    let loss = mu
        .mul(&input("g_mu", b, actions, 1.0))
        .unwrap()
        .sum_all()
        .unwrap()
        .add(
            &q1.mul(&input("g_q1", b, 1, 1.0))
                .unwrap()
                .sum_all()
                .unwrap(),
        )
        .unwrap()
        .add(
            &q2.mul(&input("g_q2", b, 1, 1.0))
                .unwrap()
                .sum_all()
                .unwrap(),
        )
        .unwrap();
    let grads = loss.backward().unwrap();

    // Eval mode: the vectors the training pass left, no iteration.
    let rep = enc.forward(&obs, false).unwrap();
    let mu = actor.forward(&rep, false).unwrap();
    let (q1, q2) = critic.forward(&rep, &action, false).unwrap();
    outputs("eval", [&mu, &q1, &q2], &case["eval"], &mut diffs);

    for (name, var) in p.vars() {
        let start: Vec<f64> = fill(&name, var.dims()).iter().map(|x| *x as f64).collect();
        let pr = probe(&name, start.len());
        if is_buffer(&name) {
            let (_, want) = entry(&case["uv"][&name]);
            let x = to_f64(var.as_tensor());
            let nx = norm(&x);
            close(
                format!("{name} after the passes, ·start"),
                dot(&x, &start),
                want[0],
                nx * norm(&start),
                &mut diffs,
            );
            close(
                format!("{name} after the passes, ·probe"),
                dot(&x, &pr),
                want[1],
                nx * norm(&pr),
                &mut diffs,
            );
        } else {
            let (_, want) = entry(&case["grad"][&name]);
            let Some(g) = grads.get(var.as_tensor()) else {
                diffs.push(format!("grad {name}: none"));
                continue;
            };
            let g = to_f64(g);
            close(
                format!("grad {name} Σg²"),
                dot(&g, &g),
                want[0],
                want[0].max(SUMSQ_FLOOR),
                &mut diffs,
            );
            let ng = want[0].sqrt();
            close(
                format!("grad {name} ·w"),
                dot(&g, &start),
                want[1],
                ng * norm(&start),
                &mut diffs,
            );
            close(
                format!("grad {name} ·probe"),
                dot(&g, &pr),
                want[2],
                ng * norm(&pr),
                &mut diffs,
            );
        }
    }
    diffs
}

#[test]
fn gene_order_and_options_are_the_originals() {
    let fx = fixture();
    assert_eq!(
        fx["commit"].as_str(),
        Some(COMMIT),
        "the fixture is from another commit"
    );
    let space = RlTask::default_space();
    let table = fx["space"].as_array().unwrap();
    assert_eq!(
        space.genes.len(),
        table.len(),
        "the original's space has 36 genes"
    );
    for (i, (gene, row)) in space.genes.iter().zip(table).enumerate() {
        assert_eq!(gene.name, row["ours"].as_str().unwrap(), "gene {i}");
        assert_eq!(
            original_position(&gene.name),
            row["original"].as_str().unwrap(),
            "gene {i} ({}): the original's position",
            gene.name
        );
        assert_eq!(
            row["original_gene"].as_u64().unwrap() as usize,
            i,
            "gene {i} ({}) is the original's gene {}: a genome of the original is not ours",
            gene.name,
            row["original_gene"]
        );
        let options: Vec<&str> = row["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(
            gene.options, options,
            "gene {i} ({}): options in the original's order",
            gene.name
        );
    }
}

#[test]
fn networks_compute_what_the_original_pbt_nas_code_computes() {
    let fx = fixture();
    assert_eq!(
        fx["commit"].as_str(),
        Some(COMMIT),
        "the fixture is from another commit"
    );
    let u = |k: &str| fx[k].as_u64().unwrap() as usize;
    let (b, stack, actions) = (u("batch"), u("stack"), u("actions"));
    let space = RlTask::default_space();
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let diffs = differences(case, &space, b, stack, actions);
        if !diffs.is_empty() {
            let more = if diffs.len() > SHOWN { "\n    …" } else { "" };
            failures.push(format!(
                "{} (frames {s}×{s}, hidden {h}): {} quantities differ\n  genome: {}\n    {}{more}",
                case["name"].as_str().unwrap(),
                diffs.len(),
                describe(&space, &genes_of(case)),
                diffs[..diffs.len().min(SHOWN)].join("\n    "),
                s = case["size"],
                h = case["hidden"],
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} genomes compute something else than the original PBT-NAS code ({COMMIT}):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
