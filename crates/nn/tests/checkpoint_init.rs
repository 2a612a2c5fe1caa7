use candle_core::{Device, Tensor};
use pbtnas_nn::checkpoint::{decode, encode, sha256_hex};
use pbtnas_nn::{Init, MemberState, ParamState, Params};

#[test]
fn checkpoint_round_trip_is_bit_exact() {
    let dev = Device::Cpu;
    let p = Params::new(3, &dev);
    p.pp("net")
        .pp("l1")
        .get((4, 3), "weight", Init::Normal { std: 1.0 })
        .unwrap();
    p.get(5, "count_like", Init::Const(2.0)).unwrap();
    let mut state = MemberState {
        weights: p.weights().unwrap(),
        meta: serde_json::json!({"iters": 12}),
        ..Default::default()
    };
    state
        .weights
        .insert("n.num_batches".into(), Tensor::new(&[4i64], &dev).unwrap());
    state.shadows.insert(
        "net.l1.weight".into(),
        Tensor::new(&[[1.5f32, 2.5]], &dev).unwrap(),
    );
    state.data.insert(
        "replay.frames".into(),
        Tensor::new(&[[7u8, 255]], &dev).unwrap(),
    );
    let m = Tensor::new(&[0.25f32; 12], &dev)
        .unwrap()
        .reshape((4, 3))
        .unwrap();
    state.optimizers.entry("gen".into()).or_default().insert(
        "net.l1.weight".into(),
        ParamState {
            m: m.clone(),
            v: (&m * 3.0).unwrap(),
            step: 41,
        },
    );
    let header = serde_json::json!({"genome": "abc:012"});
    let bytes = encode(&state, &header).unwrap();
    assert_eq!(
        sha256_hex(&bytes),
        sha256_hex(&encode(&state, &header).unwrap()),
        "deterministic bytes"
    );
    let (back, h) = decode(&bytes, &dev).unwrap();
    assert_eq!(h, header);
    assert_eq!(back.meta, state.meta);
    assert_eq!(
        back.weights.keys().collect::<Vec<_>>(),
        state.weights.keys().collect::<Vec<_>>()
    );
    for (n, t) in &state.weights {
        let a = t
            .flatten_all()
            .unwrap()
            .to_dtype(candle_core::DType::F64)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let b = back.weights[n]
            .flatten_all()
            .unwrap()
            .to_dtype(candle_core::DType::F64)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        assert_eq!(a, b, "{n}");
        assert_eq!(t.dtype(), back.weights[n].dtype());
    }
    let data = &back.data["replay.frames"];
    assert_eq!(data.dtype(), candle_core::DType::U8);
    assert_eq!(data.to_vec2::<u8>().unwrap(), vec![vec![7u8, 255]]);
    let s = &back.optimizers["gen"]["net.l1.weight"];
    assert_eq!(s.step, 41);
    assert_eq!(
        s.v.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![0.75f32; 12]
    );
    assert_eq!(
        back.shadows["net.l1.weight"].to_vec2::<f32>().unwrap(),
        [[1.5, 2.5]]
    );
    let e = decode(b"garbage", &dev).unwrap_err();
    assert!(!e.to_string().is_empty());
}

#[test]
fn params_are_seeded_by_name_not_by_creation_order() {
    let dev = Device::Cpu;
    let a = Params::new(11, &dev);
    let a1 = a
        .pp("x")
        .get((3, 2), "w", Init::TorchDefault { fan_in: 2 })
        .unwrap();
    let a2 = a
        .pp("y")
        .get((3, 2), "w", Init::TorchDefault { fan_in: 2 })
        .unwrap();
    let b = Params::new(11, &dev);
    let b2 = b
        .pp("y")
        .get((3, 2), "w", Init::TorchDefault { fan_in: 2 })
        .unwrap();
    b.pp("z").get(100, "w", Init::Normal { std: 1.0 }).unwrap();
    let b1 = b
        .pp("x")
        .get((3, 2), "w", Init::TorchDefault { fan_in: 2 })
        .unwrap();
    let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(v(&a1), v(&b1));
    assert_eq!(v(&a2), v(&b2));
    assert_ne!(v(&a1), v(&a2));
    let bound = 1.0 / 2f32.sqrt();
    assert!(v(&a1).iter().all(|x| x.abs() <= bound));
    let c = Params::new(12, &dev)
        .pp("x")
        .get((3, 2), "w", Init::TorchDefault { fan_in: 2 })
        .unwrap();
    assert_ne!(v(&a1), v(&c));
    // The same name returns the same parameter; a different shape is an error naming it.
    assert_eq!(
        v(&a.pp("x").get((3, 2), "w", Init::Const(0.0)).unwrap()),
        v(&a1)
    );
    let e = a.pp("x").get((2, 3), "w", Init::Const(0.0)).unwrap_err();
    assert!(e.to_string().contains("parameter 'x.w' has shape"), "{e}");
    // Loaded weights win over the init, and are copies.
    let loaded = Params::from_weights(&a.weights().unwrap(), 99, &dev).unwrap();
    assert_eq!(
        v(&loaded.pp("x").get((3, 2), "w", Init::Const(0.0)).unwrap()),
        v(&a1)
    );
    assert_eq!(a.pp("x").vars().len(), 1);
    let n = Params::new(5, &dev)
        .get(20_000, "n", Init::Normal { std: 2.0 })
        .unwrap();
    let n = v(&n);
    let mean = n.iter().sum::<f32>() / n.len() as f32;
    let var = n.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n.len() as f32;
    assert!(
        mean.abs() < 0.05 && (var.sqrt() - 2.0).abs() < 0.05,
        "{mean} {var}"
    );
}

#[test]
fn orthogonal_init_has_orthonormal_rows_or_columns_times_gain() {
    let dev = Device::Cpu;
    let p = Params::new(5, &dev);
    // Wide (rows < cols): W Wᵀ = gain² I. Tall: Wᵀ W = gain² I. A conv kernel flattens to 2-d.
    for (shape, gain) in [
        (vec![3, 7], 1.0),
        (vec![7, 3], 2f64.sqrt()),
        (vec![4, 2, 3, 3], 2f64.sqrt()),
    ] {
        let rows = shape[0];
        let w = p
            .get(
                shape.as_slice(),
                &format!("w{}", shape.len() * 10 + rows),
                Init::Orthogonal { rows, gain },
            )
            .unwrap()
            .reshape((rows, ()))
            .unwrap();
        let cols = w.dim(1).unwrap();
        let g = if rows <= cols {
            w.matmul(&w.t().unwrap())
        } else {
            w.t().unwrap().matmul(&w)
        }
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
        for (i, row) in g.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                let want = if i == j { gain * gain } else { 0.0 };
                assert!((*x as f64 - want).abs() < 1e-5, "{shape:?} [{i},{j}] = {x}");
            }
        }
    }
}
