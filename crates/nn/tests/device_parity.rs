//! The same op on another device gives the same values and gradients: the composed depthwise
//! transposed convolution (used where no fused kernel exists) against the CPU kernel, and, when a
//! CUDA device is present (`--features cuda` on a GPU machine), every op and the in-place
//! parameter updates on CUDA against the CPU.

use candle_core::{Device, Result, Tensor, Var};
use pbtnas_nn::ops::{
    batch_norm_train, conv2d, conv2d_bias_relu, conv_transpose2d, depthwise_conv_transpose2d,
    relu_conv2d, soft_update, upsample2x, ConvParams,
};
use pbtnas_nn::{layer_norm, spectral_norm, Adam, AdamConfig};

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = b
        .flatten_all()
        .unwrap()
        .to_device(&Device::Cpu)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(&b)
        .fold(0.0, |m, (x, y)| m.max((x - y).abs() / scale))
}

/// Output and gradients of `f(inputs)` (loss: sum of output times a fixed random tensor).
fn run(
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    weights: &Tensor,
    dev: &Device,
) -> Vec<Tensor> {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(&t.to_device(dev).unwrap()).unwrap())
        .collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts).unwrap();
    let loss = (&y * weights.to_device(dev).unwrap())
        .unwrap()
        .sum_all()
        .unwrap();
    let grads = loss.backward().unwrap();
    // Inputs without a gradient (spectral norm's u and v) are compared as zeros.
    let mut out = vec![y];
    out.extend(vars.iter().map(|v| {
        grads
            .get(v)
            .cloned()
            .unwrap_or_else(|| v.as_tensor().zeros_like().unwrap())
    }));
    out
}

fn check(name: &str, a: &[Tensor], b: &[Tensor], tol: f32) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = max_rel_diff(x, y);
        assert!(
            d < tol,
            "{name}: output/gradient {i} differs by {d} (relative to its max)"
        );
    }
}

type Case = (
    &'static str,
    Box<dyn Fn(&[Tensor]) -> Result<Tensor>>,
    Vec<Tensor>,
);

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap()
}

fn cases() -> Vec<Case> {
    let p = |stride, padding, dilation, groups, output_padding| ConvParams {
        stride,
        padding,
        dilation,
        groups,
        output_padding,
        padding_w: None,
    };
    vec![
        (
            "conv2d 3x3 s1",
            Box::new(move |t: &[Tensor]| conv2d(&t[0], &t[1], p(1, 1, 1, 1, 0))),
            vec![randn(&[2, 8, 9, 9]), randn(&[6, 8, 3, 3])],
        ),
        (
            "conv2d 3x3 s2 dil2",
            Box::new(move |t: &[Tensor]| conv2d(&t[0], &t[1], p(2, 2, 2, 1, 0))),
            vec![randn(&[2, 8, 9, 9]), randn(&[6, 8, 3, 3])],
        ),
        (
            "relu then conv2d",
            Box::new(move |t: &[Tensor]| relu_conv2d(&t[0], &t[1], p(2, 1, 1, 1, 0))),
            vec![randn(&[2, 8, 9, 9]), randn(&[6, 8, 3, 3])],
        ),
        (
            "conv2d + bias + relu",
            Box::new(move |t: &[Tensor]| conv2d_bias_relu(&t[0], &t[1], &t[2], p(1, 1, 1, 1, 0))),
            vec![randn(&[2, 8, 9, 9]), randn(&[6, 8, 3, 3]), randn(&[6])],
        ),
        (
            "conv2d 1x7, padding (0, 3)",
            Box::new(move |t: &[Tensor]| {
                let q = ConvParams {
                    padding: 0,
                    padding_w: Some(3),
                    ..Default::default()
                };
                conv2d(&t[0], &t[1], q)
            }),
            vec![randn(&[2, 8, 9, 9]), randn(&[6, 8, 1, 7])],
        ),
        (
            "conv_transpose2d 3x1 s2, padding (1, 0)",
            Box::new(move |t: &[Tensor]| {
                let q = ConvParams {
                    stride: 2,
                    padding: 1,
                    padding_w: Some(0),
                    ..Default::default()
                };
                conv_transpose2d(&t[0], &t[1], q)
            }),
            vec![randn(&[2, 8, 5, 5]), randn(&[8, 6, 3, 1])],
        ),
        (
            "conv_transpose2d k4 s2",
            Box::new(move |t: &[Tensor]| conv_transpose2d(&t[0], &t[1], p(2, 1, 1, 1, 0))),
            vec![randn(&[2, 8, 5, 5]), randn(&[8, 6, 4, 4])],
        ),
        (
            "depthwise conv2d 5x5 (sep conv)",
            Box::new(move |t: &[Tensor]| conv2d(&t[0], &t[1], p(1, 2, 1, 8, 0))),
            vec![randn(&[2, 8, 9, 9]), randn(&[8, 1, 5, 5])],
        ),
        (
            "conv2d 3x3 s2, 2 groups",
            Box::new(move |t: &[Tensor]| conv2d(&t[0], &t[1], p(2, 1, 1, 2, 0))),
            vec![randn(&[2, 8, 9, 9]), randn(&[6, 4, 3, 3])],
        ),
        (
            "conv_transpose2d k3 s2 op1, 2 groups",
            Box::new(move |t: &[Tensor]| conv_transpose2d(&t[0], &t[1], p(2, 1, 1, 2, 1))),
            vec![randn(&[2, 8, 5, 5]), randn(&[8, 3, 3, 3])],
        ),
        (
            "depthwise conv_transpose2d k3 s2 op1",
            Box::new(move |t: &[Tensor]| conv_transpose2d(&t[0], &t[1], p(2, 1, 1, 8, 1))),
            vec![randn(&[2, 8, 5, 5]), randn(&[8, 1, 3, 3])],
        ),
        (
            "batch norm train",
            Box::new(|t: &[Tensor]| Ok(batch_norm_train(&t[0], &t[1], &t[2], 1e-5)?.0)),
            vec![randn(&[4, 6, 5, 5]), randn(&[6]), randn(&[6])],
        ),
        (
            "batch norm train, more elements per channel than a CUDA block has threads",
            Box::new(|t: &[Tensor]| Ok(batch_norm_train(&t[0], &t[1], &t[2], 1e-5)?.0)),
            vec![randn(&[8, 3, 9, 9]), randn(&[3]), randn(&[3])],
        ),
        (
            "batch norm train, 2-D input",
            Box::new(|t: &[Tensor]| Ok(batch_norm_train(&t[0], &t[1], &t[2], 1e-5)?.0)),
            vec![randn(&[16, 5]), randn(&[5]), randn(&[5])],
        ),
        (
            "layer norm",
            Box::new(|t: &[Tensor]| layer_norm(&t[0], &t[1], &t[2], 1e-5)),
            vec![randn(&[8, 50]), randn(&[50]), randn(&[50])],
        ),
        (
            "spectral norm",
            Box::new(|t: &[Tensor]| spectral_norm(&t[0], &t[1], &t[2], false)),
            vec![randn(&[6, 8, 3, 3]), randn(&[6]), randn(&[72])],
        ),
        (
            "avg pool, max pool",
            Box::new(|t: &[Tensor]| t[0].avg_pool2d(2)? + t[0].max_pool2d(2)?.detach()),
            vec![randn(&[2, 4, 8, 8])],
        ),
        (
            "nearest upsample",
            Box::new(|t: &[Tensor]| t[0].upsample_nearest2d(10, 10)),
            vec![randn(&[2, 4, 5, 5])],
        ),
        (
            "upsample2x nearest and bilinear",
            Box::new(|t: &[Tensor]| upsample2x(&t[0], false)? + upsample2x(&t[0], true)?),
            vec![randn(&[2, 4, 5, 3])],
        ),
        (
            "conv2d 3x3 s1 64 channels (Winograd on the CPU)",
            Box::new(move |t: &[Tensor]| conv2d(&t[0], &t[1], p(1, 1, 1, 1, 0))),
            vec![
                randn(&[2, 64, 6, 5]),
                (randn(&[64, 64, 3, 3]) * 0.1).unwrap(),
            ],
        ),
    ]
}

#[test]
fn composed_depthwise_transpose_matches_the_cpu_kernel() {
    for (stride, padding, output_padding, k, dilation) in [
        (2, 1, 1, 3, 1),
        (1, 1, 0, 3, 1),
        (2, 2, 0, 5, 1),
        (2, 2, 1, 3, 2),
    ] {
        let p = ConvParams {
            stride,
            padding,
            dilation,
            groups: 6,
            output_padding,
            padding_w: None,
        };
        let inputs = [randn(&[2, 6, 5, 7]), randn(&[6, 1, k, k])];
        let kernel = |t: &[Tensor]| conv_transpose2d(&t[0], &t[1], p);
        let composed = |t: &[Tensor]| depthwise_conv_transpose2d(&t[0], &t[1], p);
        let y = kernel(&inputs).unwrap();
        let w = randn(y.dims());
        check(
            &format!("{p:?}"),
            &run(&kernel, &inputs, &w, &Device::Cpu),
            &run(&composed, &inputs, &w, &Device::Cpu),
            1e-5,
        );
    }
}

#[test]
fn every_op_on_cuda_matches_the_cpu() {
    let Ok(gpu) = Device::new_cuda(0) else {
        eprintln!("skipped: no CUDA device (build with --features cuda and run on a GPU machine)");
        return;
    };
    for (name, f, inputs) in cases() {
        let y = f(&inputs).unwrap();
        let w = randn(y.dims());
        // TF32 is off by default in candle's matmuls and in pbtnas's cuDNN convolutions; the
        // remaining differences are summation order.
        check(
            name,
            &run(&*f, &inputs, &w, &Device::Cpu),
            &run(&*f, &inputs, &w, &gpu),
            1e-4,
        );
        println!("{name}: CUDA matches CPU");
    }
}

/// Adam (moments and step updated in place, one kernel each on CUDA) and the soft update of a
/// target give the same parameters on CUDA as on the CPU.
#[test]
fn adam_and_soft_updates_on_cuda_match_the_cpu() {
    let Ok(gpu) = Device::new_cuda(0) else {
        eprintln!("skipped: no CUDA device (build with --features cuda and run on a GPU machine)");
        return;
    };
    let (w0, t0) = (randn(&[3, 700]), randn(&[3, 700]));
    let xs: Vec<Tensor> = (0..3).map(|_| randn(&[3, 700])).collect();
    let run = |dev: &Device| -> Vec<Tensor> {
        let w = Var::from_tensor(&w0.to_device(dev).unwrap()).unwrap();
        let target = Var::from_tensor(&t0.to_device(dev).unwrap()).unwrap();
        let cfg = AdamConfig {
            lr: 0.01,
            weight_decay: 0.1,
            ..Default::default()
        };
        let mut opt = Adam::new(vec![("w".into(), w.clone())], cfg);
        for x in &xs {
            // loss = Σ x·w²: a gradient that depends on w.
            let loss = (x.to_device(dev).unwrap() * w.as_tensor().sqr().unwrap())
                .unwrap()
                .sum_all()
                .unwrap();
            opt.step(&loss.backward().unwrap()).unwrap();
            soft_update(&target, w.as_tensor(), 0.1).unwrap();
        }
        let m = &opt.state().unwrap()["w"];
        vec![
            w.as_tensor().clone(),
            target.as_tensor().clone(),
            m.m.clone(),
            m.v.clone(),
        ]
    };
    check("adam + soft update", &run(&Device::Cpu), &run(&gpu), 1e-5);
    println!("adam + soft update: CUDA matches CPU");
}

/// Off the CPU f32 kernels (here: f64 on the CPU, which runs candle's convolutions), a padding
/// that differs between height and width is emulated by padding or cropping; it must agree
/// with the kernel.
#[test]
fn emulated_asymmetric_padding_matches_the_cpu_kernel() {
    let cases: [(bool, [usize; 4], [usize; 4], ConvParams); 3] = [
        (
            false,
            [2, 3, 7, 9],
            [4, 3, 1, 7],
            ConvParams {
                padding: 0,
                padding_w: Some(3),
                ..Default::default()
            },
        ),
        (
            false,
            [1, 3, 8, 6],
            [4, 3, 5, 3],
            ConvParams {
                stride: 2,
                padding: 2,
                padding_w: Some(0),
                ..Default::default()
            },
        ),
        (
            true,
            [2, 3, 5, 4],
            [3, 4, 3, 1],
            ConvParams {
                stride: 2,
                padding: 1,
                padding_w: Some(0),
                output_padding: 1,
                ..Default::default()
            },
        ),
    ];
    for (transpose, xs, ws, p) in cases {
        let (x, w) = (randn(&xs), randn(&ws));
        let f = if transpose { conv_transpose2d } else { conv2d };
        let kernel = f(&x, &w, p).unwrap();
        let to64 = |t: &Tensor| t.to_dtype(candle_core::DType::F64).unwrap();
        let emulated = f(&to64(&x), &to64(&w), p).unwrap();
        assert_eq!(kernel.dims(), emulated.dims(), "{p:?}: shape");
        let diff = (to64(&kernel) - emulated)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(diff.to_scalar::<f64>().unwrap() < 1e-4, "{p:?}: {diff}");
    }
}
