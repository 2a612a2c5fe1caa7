//! `PBTNAS_CANDLE_OPS` / `use_candle_ops`: each op group sent back to candle's own ops gives the
//! values and gradients of this crate's kernels, through a different graph. One test: the
//! setting is process-wide.

use candle_core::{Device, Tensor, Var};
use pbtnas_nn::ops::{
    batch_norm_train, candle_ops, candle_ops_from_env, conv2d, conv_transpose2d, relu_conv2d_bias,
    soft_update, upsample2x, use_candle_ops, ConvParams, OpGroup,
};
use pbtnas_nn::{layer_norm, Adam, AdamConfig};

fn pattern(seed: u64, shape: &[usize]) -> Tensor {
    // A fixed pseudo-random pattern in [-1, 1) (candle's CPU generator cannot be seeded).
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n as u64)
        .map(|i| {
            let x = (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)) % 1000;
            x as f32 / 500.0 - 1.0
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// Outputs and input gradients of `f` on `inputs` (loss `Σ y·u` per output), and the number of
/// nodes of the graph.
fn with_grads(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Vec<Tensor>) -> (Vec<Vec<f32>>, usize) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let xs: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let ys = f(&xs);
    let mut loss = Tensor::new(0f32, &Device::Cpu).unwrap();
    for (i, y) in ys.iter().enumerate() {
        let u = pattern(100 + i as u64, y.dims());
        loss = (loss + (y * u).unwrap().sum_all().unwrap()).unwrap();
    }
    let nodes = loss.sorted_nodes().len();
    let grads = loss.backward().unwrap();
    let mut out: Vec<Vec<f32>> = ys.iter().map(flat).collect();
    out.extend(xs.iter().map(|x| flat(grads.get(x).expect("a gradient"))));
    (out, nodes)
}

/// Adam's three steps and a soft update, their results.
fn updates() -> (Vec<Vec<f32>>, usize) {
    let p = Var::from_tensor(&pattern(1, &[5, 7])).unwrap();
    let mut adam = Adam::new(
        vec![("p".into(), p.clone())],
        AdamConfig {
            lr: 0.01,
            weight_decay: 0.1,
            ..AdamConfig::default()
        },
    );
    for s in 0..3 {
        let loss = (p.as_tensor() * pattern(10 + s, &[5, 7])).unwrap();
        adam.step(&loss.sum_all().unwrap().backward().unwrap())
            .unwrap();
    }
    let target = Var::from_tensor(&pattern(2, &[5, 7])).unwrap();
    soft_update(&target, p.as_tensor(), 0.3).unwrap();
    let moments = &adam.state().unwrap()["p"];
    let results = [p.as_tensor(), &moments.m, &moments.v, target.as_tensor()];
    (results.into_iter().map(flat).collect(), 0)
}

/// A convolution, the fused ReLU-conv-bias and a transposed convolution.
fn convs() -> (Vec<Vec<f32>>, usize) {
    let (x, w, b, wt) = (
        pattern(3, &[2, 8, 6, 6]),
        pattern(4, &[4, 8, 3, 3]),
        pattern(5, &[4]),
        pattern(6, &[8, 3, 4, 4]),
    );
    with_grads(&[x, w, b, wt], |t| {
        let p = ConvParams {
            padding: 1,
            ..ConvParams::default()
        };
        let up = ConvParams {
            stride: 2,
            padding: 1,
            ..ConvParams::default()
        };
        vec![
            conv2d(&t[0], &t[1], p).unwrap(),
            relu_conv2d_bias(&t[0], &t[1], &t[2], p).unwrap(),
            conv_transpose2d(&t[0], &t[3], up).unwrap(),
        ]
    })
}

/// Batch norm with its statistics, and layer norm.
fn norms() -> (Vec<Vec<f32>>, usize) {
    let inputs = [3, 7, 8].map(|s| pattern(s, &[8]));
    let (lg, lb) = (pattern(9, &[6]), pattern(10, &[6]));
    let x = pattern(11, &[2, 8, 6, 6]);
    let [g, b, _] = inputs;
    with_grads(&[x, g, b, lg, lb], |t| {
        let (y, mean, var) = batch_norm_train(&t[0], &t[1], &t[2], 1e-5).unwrap();
        let ln = layer_norm(&t[0], &t[3], &t[4], 1e-5).unwrap();
        vec![y, ln, mean, var]
    })
}

/// Bilinear and nearest ×2 upsampling.
fn upsamples() -> (Vec<Vec<f32>>, usize) {
    with_grads(&[pattern(12, &[2, 3, 5, 4])], |t| {
        vec![
            upsample2x(&t[0], true).unwrap(),
            upsample2x(&t[0], false).unwrap(),
        ]
    })
}

#[test]
fn every_op_group_on_candle_ops_gives_the_kernels_values_and_gradients() {
    // The environment is read at the first op, and a wrong name is an error.
    std::env::set_var("PBTNAS_CANDLE_OPS", " norm,update ");
    assert_eq!(candle_ops(), vec![OpGroup::Norm, OpGroup::Update]);
    std::env::set_var("PBTNAS_CANDLE_OPS", "all");
    assert_eq!(candle_ops_from_env().unwrap(), OpGroup::ALL.to_vec());
    std::env::set_var("PBTNAS_CANDLE_OPS", "conv,bn");
    let err = candle_ops_from_env().unwrap_err().to_string();
    assert!(err.contains("unknown op group \"bn\""), "{err}");
    assert!(
        err.contains("; the groups are conv, norm, upsample, update, or all"),
        "{err}"
    );

    type Case = fn() -> (Vec<Vec<f32>>, usize);
    let cases: [(OpGroup, Case); 4] = [
        (OpGroup::Conv, convs),
        (OpGroup::Norm, norms),
        (OpGroup::Upsample, upsamples),
        (OpGroup::Update, updates),
    ];
    for (group, case) in cases {
        use_candle_ops(&[]);
        let (ours, our_nodes) = case();
        use_candle_ops(&[group]);
        assert_eq!(candle_ops(), vec![group]);
        let (theirs, their_nodes) = case();
        assert_eq!(ours.len(), theirs.len());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a.len(), b.len(), "{group:?}, output {i}");
            let scale = a.iter().fold(1f32, |m, x| m.max(x.abs()));
            let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                diff <= 1e-5 * scale,
                "{group:?}, output {i}: differs by {diff}"
            );
        }
        // Composed candle ops leave more nodes in the graph than one custom op each.
        if group != OpGroup::Update {
            assert!(
                their_nodes > our_nodes,
                "{group:?}: {their_nodes} graph nodes with candle's ops, {our_nodes} with ours"
            );
        }
    }
    use_candle_ops(&[]);
}
