use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use pbtnas_nn::{Adam, AdamConfig};

fn loss(w: &Var, x: &Tensor) -> Tensor {
    // sum((w * x)^2) + sum(w): a gradient that changes every step.
    ((w.as_tensor() * x)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        + w.as_tensor().sum_all().unwrap())
    .unwrap()
}

fn run(cfg: AdamConfig, steps: usize) -> Vec<f32> {
    let dev = Device::Cpu;
    let x = Tensor::new(&[0.5f32, -1.5, 2.0], &dev).unwrap();
    let w = Var::new(&[1.0f32, 2.0, -3.0], &dev).unwrap();
    let mut opt = Adam::new(vec![("w".into(), w.clone())], cfg);
    for _ in 0..steps {
        opt.step(&loss(&w, &x).backward().unwrap()).unwrap();
    }
    w.as_tensor().to_vec1().unwrap()
}

/// The update written out in f64 (PyTorch's formula), two steps.
#[test]
fn matches_the_formula() {
    let cfg = AdamConfig {
        lr: 0.1,
        beta1: 0.0,
        beta2: 0.9,
        eps: 1e-4,
        weight_decay: 0.0,
    };
    let got = run(cfg, 2);
    let x = [0.5f64, -1.5, 2.0];
    let mut w = [1.0f64, 2.0, -3.0];
    let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
    for t in 1..=2 {
        for i in 0..3 {
            let g = 2.0 * w[i] * x[i] * x[i] + 1.0;
            m[i] = cfg.beta1 * m[i] + (1.0 - cfg.beta1) * g;
            v[i] = cfg.beta2 * v[i] + (1.0 - cfg.beta2) * g * g;
            let bc1 = 1.0 - cfg.beta1.powi(t);
            let bc2 = 1.0 - cfg.beta2.powi(t);
            w[i] -= cfg.lr / bc1 * m[i] / ((v[i] / bc2).sqrt() + cfg.eps);
        }
    }
    for i in 0..3 {
        assert!((got[i] as f64 - w[i]).abs() < 1e-6, "{got:?} vs {w:?}");
    }
}

#[test]
fn agrees_with_candle_adamw() {
    for wd in [0.0, 0.05] {
        let cfg = AdamConfig {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: wd,
        };
        let ours = run(cfg, 5);
        let dev = Device::Cpu;
        let x = Tensor::new(&[0.5f32, -1.5, 2.0], &dev).unwrap();
        let w = Var::new(&[1.0f32, 2.0, -3.0], &dev).unwrap();
        let p = ParamsAdamW {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: wd,
        };
        let mut opt = AdamW::new(vec![w.clone()], p).unwrap();
        for _ in 0..5 {
            opt.backward_step(&loss(&w, &x)).unwrap();
        }
        let theirs: Vec<f32> = w.as_tensor().to_vec1().unwrap();
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-6, "wd {wd}: {ours:?} vs {theirs:?}");
        }
    }
}

#[test]
fn saved_state_resumes_bit_exactly_and_resets_by_name_and_shape() {
    let dev = Device::Cpu;
    let cfg = AdamConfig {
        lr: 0.05,
        ..Default::default()
    };
    let x = Tensor::new(&[0.5f32, -1.5, 2.0], &dev).unwrap();
    let w = Var::new(&[1.0f32, 2.0, -3.0], &dev).unwrap();
    let mut opt = Adam::new(vec![("w".into(), w.clone())], cfg);
    for _ in 0..3 {
        opt.step(&loss(&w, &x).backward().unwrap()).unwrap();
    }
    let state = opt.state().unwrap();
    let snapshot = (
        state["w"].m.to_vec1::<f32>().unwrap(),
        state["w"].v.to_vec1::<f32>().unwrap(),
    );
    assert_eq!(state["w"].step, 3);
    let w2 = Var::from_tensor(&w.as_tensor().copy().unwrap()).unwrap();
    let (mut resumed, fresh) =
        Adam::with_state(vec![("w".into(), w2.clone())], cfg, state.clone()).unwrap();
    assert!(fresh.is_empty());
    for _ in 0..2 {
        resumed.step(&loss(&w2, &x).backward().unwrap()).unwrap();
    }
    let straight = run(cfg, 5);
    assert_eq!(w2.as_tensor().to_vec1::<f32>().unwrap(), straight);
    // The saved state is a snapshot: neither the resumed optimizer's in-place steps nor the
    // original's next one changed it.
    opt.step(&loss(&w, &x).backward().unwrap()).unwrap();
    let moments =
        |s: &pbtnas_nn::ParamState| (s.m.to_vec1::<f32>().unwrap(), s.v.to_vec1::<f32>().unwrap());
    assert_eq!(moments(&state["w"]), snapshot);
    assert_ne!(moments(&opt.state().unwrap()["w"]), snapshot);

    // A renamed or reshaped parameter starts fresh; the matching one keeps its step count.
    let other = Var::new(&[1.0f32, 2.0], &dev).unwrap();
    let mut saved = state.clone();
    saved.insert("v".into(), state["w"].clone());
    let (adam, fresh) = Adam::with_state(
        vec![
            ("w".into(), w.clone()),
            ("v".into(), other),
            ("u".into(), w.clone()),
        ],
        cfg,
        saved,
    )
    .unwrap();
    assert_eq!(fresh, ["v", "u"]);
    assert_eq!(adam.state().unwrap().len(), 1);
    assert_eq!(adam.state().unwrap()["w"].step, 3);
}

/// Gradients through a spectral norm carry op history (σ(W) depends on the variable); the
/// moments must not, or every step's graph stays alive through the next (a run of RL members
/// with spectral norm grew by 5 MB per update until it was killed).
#[test]
fn moments_hold_no_graph() {
    let dev = Device::Cpu;
    let p = pbtnas_nn::Params::new(3, &dev);
    let init = pbtnas_nn::Init::Normal { std: 1.0 };
    let (w, u, v) = (
        p.get((4, 3), "w", init).unwrap(),
        p.get(4, "u", init).unwrap(),
        p.get(3, "v", init).unwrap(),
    );
    let x = Tensor::new(&[[1.0f32, -2.0, 0.5]], &dev).unwrap();
    let vars: Vec<(String, Var)> = p.vars().into_iter().filter(|(n, _)| n == "w").collect();
    let mut opt = Adam::new(vars, AdamConfig::default());
    for _ in 0..2 {
        let y = x
            .matmul(
                &pbtnas_nn::spectral_norm(&w, &u, &v, true)
                    .unwrap()
                    .t()
                    .unwrap(),
            )
            .unwrap();
        let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        assert!(
            grads.get(&w).unwrap().track_op(),
            "the premise: the gradient has history"
        );
        opt.step(&grads).unwrap();
        let s = &opt.state().unwrap()["w"];
        assert!(!s.m.track_op() && !s.v.track_op());
    }
}
