//! The DrQ-v2 networks against PyTorch (float64), forward and backward, for an architecture that
//! uses every op kind, every activation and switchable spectral norm (fixture from
//! scripts/rl_torch_fixture.py; parameters and inputs are closed-form on both sides).

use candle_core::{Device, Tensor};
use pbtnas_nn::{Params, WeightMap};
use pbtnas_rl::agent::is_buffer;
use pbtnas_rl::nets::{Actor, Arch, Critic, Encoder, ObsShape};
use pbtnas_rl::RlTask;
use serde_json::Value;

/// `scale · sin(0.37 i + phase(name))` rounded to f32, as the script's `value`.
fn value(name: &str, n: usize, scale: f64) -> Vec<f32> {
    let phase = (name.bytes().map(|b| b as u64).sum::<u64>() % 97) as f64 * 0.013;
    (0..n)
        .map(|i| (scale * (0.37 * i as f64 + phase).sin()) as f32)
        .collect()
}

fn closed_form(name: &str, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    let scale = if is_buffer(name) {
        1.0
    } else if name.ends_with("bias") {
        0.1
    } else {
        0.3
    };
    let mut v = value(name, n, scale);
    if name.ends_with("ln.weight") {
        v.iter_mut().for_each(|x| *x += 1.0);
    }
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// `[Σx, Σx·probe, Σx²]`, the script's projections.
fn projections(name: &str, t: &Tensor) -> [f64; 3] {
    let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    let probe = value(&format!("probe:{name}"), v.len(), 1.0);
    let mut p = [0.0; 3];
    for (x, q) in v.iter().zip(&probe) {
        let x = *x as f64;
        p[0] += x;
        p[1] += x * *q as f64;
        p[2] += x * x;
    }
    p
}

fn check(name: &str, got: [f64; 3], want: &Value, n: usize) {
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    // The linear projections are bounded by √n·‖x‖; f32 against f64 leaves ~1e-6 relative error.
    let scale = (want[2] * n as f64).sqrt();
    for k in 0..2 {
        assert!(
            (got[k] - want[k]).abs() <= 1e-4 * scale + 1e-9,
            "{name}[{k}]: {} vs {}",
            got[k],
            want[k]
        );
    }
    assert!(
        (got[2] - want[2]).abs() <= 2e-4 * want[2] + 1e-12,
        "{name}[2]: {} vs {}",
        got[2],
        want[2]
    );
}

fn build(
    p: &Params,
    arch: &Arch,
    obs: ObsShape,
    hidden: usize,
    actions: usize,
) -> (Encoder, Actor, Critic) {
    let enc = Encoder::new(&p.pp("encoder"), arch, obs).unwrap();
    let repr = enc.repr_dim();
    let actor = Actor::new(&p.pp("actor"), arch, repr, hidden, actions).unwrap();
    let critic = Critic::new(&p.pp("critic"), arch, repr, hidden, actions).unwrap();
    (enc, actor, critic)
}

#[test]
fn networks_match_pytorch_with_gradients_and_spectral_norm_updates() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/nets_torch.json")).unwrap();
    let u = |k: &str| fx[k].as_u64().unwrap() as usize;
    let (b, stack, size, hidden, actions) =
        (u("batch"), u("stack"), u("size"), u("hidden"), u("actions"));
    let space = RlTask::default_space();
    let genes: Vec<u16> = space
        .genes
        .iter()
        .map(|g| {
            let want = fx["genome"][&g.name].as_str().unwrap();
            g.options.iter().position(|o| o == want).unwrap() as u16
        })
        .collect();
    let arch = Arch::from_genome(&space, &space.genome(genes).unwrap()).unwrap();
    let obs_shape = ObsShape::Pixels {
        c: 3 * stack,
        h: size,
        w: size,
    };

    // The names and shapes the model creates, then closed-form values under them.
    let probe = Params::new(0, &Device::Cpu);
    build(&probe, &arch, obs_shape, hidden, actions);
    let weights: WeightMap = probe
        .weights()
        .unwrap()
        .iter()
        .map(|(n, t)| (n.clone(), closed_form(n, t.dims())))
        .collect();
    let names: Vec<&String> = weights.keys().collect();
    let want_names: Vec<&String> = fx["tensors"].as_object().unwrap().keys().collect();
    assert_eq!(names, want_names, "the same tensors as the PyTorch model");

    let p = Params::from_weights(&weights, 0, &Device::Cpu).unwrap();
    let (enc, actor, critic) = build(&p, &arch, obs_shape, hidden, actions);
    let obs: Vec<f32> = (0..b * obs_shape.len())
        .map(|i| (128.0 + 127.0 * (0.11 * i as f64).sin()).floor() as f32)
        .collect();
    let obs = Tensor::from_vec(obs, (b, 3 * stack, size, size), &Device::Cpu).unwrap();
    let action = Tensor::from_vec(
        value("action", b * actions, 0.5),
        (b, actions),
        &Device::Cpu,
    )
    .unwrap();
    let rep = enc.forward(&obs, true).unwrap();
    let mu = actor.forward(&rep, true).unwrap();
    let (q1, q2) = critic.forward(&rep, &action, true).unwrap();
    for (t, key) in [(&mu, "mu"), (&q1, "q1"), (&q2, "q2")] {
        let got: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        let want: Vec<f64> = fx[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (*g as f64 - w).abs() < 1e-5 * (1.0 + w.abs()),
                "{key}: {g} vs {w}"
            );
        }
    }
    let upstream = |name: &str, shape: (usize, usize)| {
        Tensor::from_vec(value(name, shape.0 * shape.1, 1.0), shape, &Device::Cpu).unwrap()
    };
    let loss = ((mu * upstream("g_mu", (b, actions)))
        .unwrap()
        .sum_all()
        .unwrap()
        + (q1 * upstream("g_q1", (b, 1))).unwrap().sum_all().unwrap()
        + (q2 * upstream("g_q2", (b, 1))).unwrap().sum_all().unwrap())
    .unwrap();
    let grads = loss.backward().unwrap();
    let mut checked = 0;
    for (name, var) in p.vars() {
        let want = &fx["tensors"][&name];
        let n = var.elem_count();
        if is_buffer(&name) {
            // Power-iteration vectors after construction and one training forward.
            check(
                &name,
                projections(&name, var.as_tensor()),
                &want["value"],
                n,
            );
        } else {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}: no gradient"));
            check(&name, projections(&name, g), &want["grad"], n);
        }
        checked += 1;
    }
    assert_eq!(checked, 96);
}
