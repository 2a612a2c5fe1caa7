use candle_core::{DType, Device, Tensor};
use pbtnas_nn::{
    inherit, is_under, searl_weight_mutation, searl_weight_mutation_state, MemberState, ParamState,
    ShadowRule, ShrinkPerturb, Transfer, WeightMap,
};

fn t(v: &[f32]) -> Tensor {
    Tensor::new(v, &Device::Cpu).unwrap()
}

fn vals(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn map(items: &[(&str, Tensor)]) -> WeightMap {
    items
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect()
}

/// parent: l1 is a linear (weight, bias), l2 a conv with BN; donor: l1 is a residual (weight
/// only, different name), l2 the same kind with other values.
fn states() -> (MemberState, MemberState, MemberState) {
    let opt = |names: &[&str]| {
        names
            .iter()
            .map(|n| {
                let z = t(&[9.0, 9.0]);
                (
                    n.to_string(),
                    ParamState {
                        m: z.clone(),
                        v: z,
                        step: 7,
                    },
                )
            })
            .collect()
    };
    let parent = MemberState {
        weights: map(&[
            ("net.l1.lin.weight", t(&[1.0, 2.0])),
            ("net.l1.lin.bias", t(&[3.0, 4.0])),
            ("net.l10.weight", t(&[5.0, 6.0])),
            ("net.l2.conv.weight", t(&[7.0, 8.0])),
            (
                "net.l2.bn.num_batches",
                Tensor::new(&[11i64], &Device::Cpu).unwrap(),
            ),
        ]),
        shadows: map(&[
            ("net.l1.lin.weight", t(&[-1.0, -2.0])),
            ("net.l2.conv.weight", t(&[-7.0, -8.0])),
        ]),
        optimizers: [(
            "g".to_string(),
            opt(&[
                "net.l1.lin.weight",
                "net.l1.lin.bias",
                "net.l10.weight",
                "net.l2.conv.weight",
            ]),
        )]
        .into(),
        meta: serde_json::json!({"iters": 5}),
        data: map(&[("replay.rewards", t(&[1.0, 2.0]))]),
    };
    let donor = MemberState {
        weights: map(&[
            ("net.l1.res.weight", t(&[0.5, -0.25])),
            ("net.l10.weight", t(&[50.0, 60.0])),
            ("net.l2.conv.weight", t(&[0.3, 0.7])),
            (
                "net.l2.bn.num_batches",
                Tensor::new(&[99i64], &Device::Cpu).unwrap(),
            ),
        ]),
        shadows: map(&[
            ("net.l1.res.weight", t(&[0.05, 0.025])),
            ("net.l2.conv.weight", t(&[0.03, 0.07])),
        ]),
        optimizers: Default::default(),
        meta: serde_json::json!({"iters": 9}),
        data: map(&[("replay.rewards", t(&[9.0, 9.0]))]),
    };
    let fresh = MemberState {
        weights: map(&[
            ("net.l1.res.weight", t(&[0.1, 0.2])),
            ("net.l10.weight", t(&[0.0, 0.0])),
            ("net.l2.conv.weight", t(&[-0.6, 0.9])),
            (
                "net.l2.bn.num_batches",
                Tensor::new(&[0i64], &Device::Cpu).unwrap(),
            ),
        ]),
        shadows: map(&[
            ("net.l1.res.weight", t(&[0.1, 0.2])),
            ("net.l2.conv.weight", t(&[-0.6, 0.9])),
        ]),
        ..Default::default()
    };
    (parent, donor, fresh)
}

/// The three states and the child made from them with `rule` and `shadows`.
fn mixed(
    rule: ShrinkPerturb,
    shadows: ShadowRule,
) -> (MemberState, MemberState, MemberState, MemberState) {
    let (parent, donor, fresh) = states();
    let child = inherit(&parent, &donor, &fresh, &transfer(rule, shadows)).unwrap();
    (parent, donor, fresh, child)
}

fn transfer(rule: ShrinkPerturb, shadows: ShadowRule) -> Transfer {
    Transfer {
        positions: vec!["net.l1".into(), "net.l2".into()],
        rule,
        shadows,
        reset_optimizer: true,
    }
}

#[test]
fn positions_match_at_dot_boundaries() {
    assert!(is_under("net.l1.weight", "net.l1"));
    assert!(is_under("net.l1", "net.l1"));
    assert!(!is_under("net.l10.weight", "net.l1"));
    assert!(!is_under("xnet.l1.weight", "net.l1"));
    assert!(is_under("anything", ""));
}

#[test]
fn shrink_perturb_values_are_exact() {
    let (parent, _, _, child) = mixed(ShrinkPerturb::PAPER, ShadowRule::CopyDonor);
    let names: Vec<&str> = child.weights.keys().map(String::as_str).collect();
    // Parent's l1 tensors (other option) are gone, donor's residual weight came in; l10 untouched.
    assert_eq!(
        names,
        [
            "net.l1.res.weight",
            "net.l10.weight",
            "net.l2.bn.num_batches",
            "net.l2.conv.weight"
        ]
    );
    // Task data (a replay buffer) is the parent's, untouched by the transfer.
    assert_eq!(
        vals(&child.data["replay.rewards"]),
        vals(&parent.data["replay.rewards"])
    );
    // 0.4 * donor + 0.1 * fresh, in f32 as PyTorch computes it.
    let sp = |d: f32, f: f32| d * 0.4f32 + f * 0.1f32;
    assert_eq!(
        vals(&child.weights["net.l1.res.weight"]),
        [sp(0.5, 0.1), sp(-0.25, 0.2)]
    );
    assert_eq!(
        vals(&child.weights["net.l2.conv.weight"]),
        [sp(0.3, -0.6), sp(0.7, 0.9)]
    );
    assert_eq!(
        vals(&child.weights["net.l2.conv.weight"]),
        [0.060000002, 0.37]
    );
    // Not a replaced position: the parent's, bit for bit.
    assert_eq!(vals(&child.weights["net.l10.weight"]), [5.0, 6.0]);
    // Integer tensors are copied from the donor.
    assert_eq!(
        child.weights["net.l2.bn.num_batches"]
            .to_vec1::<i64>()
            .unwrap(),
        [99]
    );
    // Shadows (EMA/target) of the donor, copied as-is.
    assert_eq!(vals(&child.shadows["net.l1.res.weight"]), [0.05, 0.025]);
    assert_eq!(vals(&child.shadows["net.l2.conv.weight"]), [0.03, 0.07]);
    assert!(!child.shadows.contains_key("net.l1.lin.weight"));
    // Optimizer state kept for unchanged names, reset for replaced ones.
    let opt: Vec<&str> = child.optimizers["g"].keys().map(String::as_str).collect();
    assert_eq!(opt, ["net.l10.weight"]);
    assert_eq!(child.optimizers["g"]["net.l10.weight"].step, 7);
    assert_eq!(child.meta, parent.meta);
}

#[test]
fn copy_and_reinit_ablations_are_bit_exact() {
    let (_, donor, fresh, copy) = mixed(ShrinkPerturb::COPY, ShadowRule::CopyDonor);
    for n in ["net.l1.res.weight", "net.l2.conv.weight"] {
        assert_eq!(vals(&copy.weights[n]), vals(&donor.weights[n]));
    }
    let reinit = mixed(ShrinkPerturb::REINIT, ShadowRule::CopyDonor).3;
    for n in ["net.l1.res.weight", "net.l2.conv.weight"] {
        assert_eq!(vals(&reinit.weights[n]), vals(&fresh.weights[n]));
    }
    // Reinit still copies integer tensors of the donor, and the donor's shadows.
    assert_eq!(
        reinit.weights["net.l2.bn.num_batches"]
            .to_vec1::<i64>()
            .unwrap(),
        [99]
    );
    assert_eq!(vals(&reinit.shadows["net.l2.conv.weight"]), [0.03, 0.07]);
}

#[test]
fn shadow_rules() {
    let f = mixed(ShrinkPerturb::REINIT, ShadowRule::Fresh).3;
    assert_eq!(vals(&f.shadows["net.l2.conv.weight"]), [-0.6, 0.9]);
    let k = mixed(ShrinkPerturb::PAPER, ShadowRule::Keep).3;
    assert_eq!(vals(&k.shadows["net.l2.conv.weight"]), [-7.0, -8.0]);
}

#[test]
fn missing_or_mismatched_fresh_tensors_are_errors() {
    let (parent, donor, mut fresh) = states();
    fresh.weights.remove("net.l1.res.weight");
    let e = inherit(
        &parent,
        &donor,
        &fresh,
        &transfer(ShrinkPerturb::PAPER, ShadowRule::CopyDonor),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("tensor 'net.l1.res.weight': the fresh weights"),
        "{e}"
    );
    fresh
        .weights
        .insert("net.l1.res.weight".into(), t(&[1.0, 2.0, 3.0]));
    let e = inherit(
        &parent,
        &donor,
        &fresh,
        &transfer(ShrinkPerturb::PAPER, ShadowRule::CopyDonor),
    )
    .unwrap_err();
    assert!(e.to_string().contains("differs from the fresh init"), "{e}");
}

#[test]
fn whole_member_shrink_perturb_with_empty_position() {
    let (parent, _, _) = states();
    let fresh = MemberState {
        weights: parent
            .weights
            .iter()
            .map(|(n, t)| (n.clone(), t.zeros_like().unwrap()))
            .collect(),
        ..Default::default()
    };
    let tr = Transfer {
        positions: vec![String::new()],
        rule: ShrinkPerturb::PAPER,
        shadows: ShadowRule::Keep,
        reset_optimizer: false,
    };
    let child = inherit(&parent, &parent, &fresh, &tr).unwrap();
    assert_eq!(
        vals(&child.weights["net.l10.weight"]),
        [5.0 * 0.4f32, 6.0 * 0.4f32]
    );
    assert_eq!(child.optimizers["g"].len(), 4);
    assert_eq!(child.shadows.len(), 2);
}

#[test]
fn searl_weight_mutation_is_seeded_and_touches_only_candidates() {
    let dev = Device::Cpu;
    let base: WeightMap = [
        (
            "a.weight".to_string(),
            Tensor::ones((40, 8), DType::F32, &dev).unwrap(),
        ),
        (
            "a.bias".to_string(),
            Tensor::ones(40, DType::F32, &dev).unwrap(),
        ),
        (
            "a.norm.weight".to_string(),
            Tensor::ones((40, 8), DType::F32, &dev).unwrap(),
        ),
        (
            "b.weight".to_string(),
            Tensor::ones((30, 4), DType::F32, &dev).unwrap(),
        ),
    ]
    .into();
    let mut changed_any = false;
    for seed in 0..30 {
        let mut w1 = base.clone();
        let mut w2 = base.clone();
        let c1 = searl_weight_mutation(&mut w1, seed).unwrap();
        let c2 = searl_weight_mutation(&mut w2, seed).unwrap();
        assert_eq!(c1, c2);
        assert!(!c1.is_empty() && c1.iter().all(|n| n == "a.weight" || n == "b.weight"));
        for (n, t) in &w1 {
            assert_eq!(vals(t), vals(&w2[n]), "seeded");
            if n == "a.bias" || n == "a.norm.weight" {
                assert_eq!(vals(t), vals(&base[n]));
            }
            let v = vals(t);
            changed_any |= v != vals(&base[n]);
            assert!(v.iter().all(|x| x.abs() <= 1e6));
        }
        // a.weight: at most ceil(0.1*40)-1 = 3 of 40 rows' worth: the rate is <= 3/40.
        let diff = vals(&w1["a.weight"]).iter().filter(|&&x| x != 1.0).count();
        assert!(diff <= 320, "{diff}");
    }
    assert!(changed_any);
}

/// Random search's whole-member shrink-perturb as the original: the RL target critic (a shadow in
/// the model state) is perturbed against the fresh member's, the GAN's EMA is kept.
#[test]
fn whole_model_state_shrink_perturb_follows_the_task() {
    let (parent, _, _) = states();
    let half = |m: &WeightMap| -> WeightMap {
        m.iter()
            .map(|(n, t)| (n.clone(), t.affine(0.5, 0.0).unwrap()))
            .collect()
    };
    let fresh = MemberState {
        weights: half(&parent.weights),
        shadows: half(&parent.shadows),
        ..Default::default()
    };
    let tr = Transfer {
        positions: vec![String::new()],
        rule: ShrinkPerturb::PAPER,
        shadows: ShadowRule::ModelState,
        reset_optimizer: false,
    };
    assert!(
        inherit(&parent, &parent, &fresh, &tr).is_err(),
        "unresolved"
    );
    let rl = inherit(&parent, &parent, &fresh, &tr.resolve(true)).unwrap();
    // 0.4·(−1, −2) + 0.1·(−0.5, −1), in f32 as the blend computes it.
    let sp = |x: f32| 0.4f32 * x + 0.1f32 * (0.5 * x);
    assert_eq!(vals(&rl.shadows["net.l1.lin.weight"]), [sp(-1.0), sp(-2.0)]);
    assert_eq!(vals(&rl.weights["net.l1.lin.weight"]), [sp(1.0), sp(2.0)]);
    let gan = inherit(&parent, &parent, &fresh, &tr.resolve(false)).unwrap();
    assert_eq!(vals(&gan.shadows["net.l1.lin.weight"]), [-1.0f32, -2.0]);
    assert_eq!(vals(&gan.weights["net.l1.lin.weight"]), [sp(1.0), sp(2.0)]);
}

/// SEARL's weight mutation draws `how_many` among the matrices of the model state: with the
/// shadows (RL: target critic in `model_state_dict`) the candidates are the weights' and the
/// shadows' matrices, and all of them can be chosen at once; without, the shadows never change.
#[test]
fn searl_weight_mutation_of_a_member_draws_among_its_model_state() {
    let dev = Device::Cpu;
    let ones = |r: usize, c: usize| Tensor::ones((r, c), DType::F32, &dev).unwrap();
    let state = MemberState {
        weights: [
            ("a.weight".to_string(), ones(40, 8)),
            ("b.weight".to_string(), ones(30, 4)),
        ]
        .into(),
        shadows: [("a.weight".to_string(), ones(40, 8))].into(),
        ..Default::default()
    };
    let mut most = 0;
    let mut shadow_chosen = 0;
    for seed in 0..200 {
        let mut with = state.clone();
        let chosen = searl_weight_mutation_state(&mut with, true, seed).unwrap();
        most = most.max(chosen.len());
        if chosen.iter().any(|n| n == "shadow:a.weight") {
            shadow_chosen += 1;
        }
        assert_eq!(with.shadows.len(), 1);
        assert_eq!(with.weights.len(), 2);
        let mut without = state.clone();
        let chosen = searl_weight_mutation_state(&mut without, false, seed).unwrap();
        assert!(chosen.iter().all(|n| !n.starts_with("shadow:")));
        assert_eq!(
            vals(&without.shadows["a.weight"]),
            vals(&state.shadows["a.weight"])
        );
    }
    assert_eq!(most, 3, "how_many reaches the three candidate matrices");
    // Each candidate is chosen with probability E[how_many]/3 = 2/3.
    assert!((110..160).contains(&shadow_chosen), "{shadow_chosen}");
}
