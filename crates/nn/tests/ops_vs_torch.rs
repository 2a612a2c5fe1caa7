//! The CPU kernels against PyTorch (fixtures from scripts/fixtures/torch-ops.py, computed in float64):
//! forward values and every gradient, for a grid of strides, paddings, dilations, groups, odd
//! sizes and batch 1. Also checked against candle's own ops where those are correct.

use candle_core::{DType, Device, Tensor, Var};
use pbtnas_nn::ops::{batch_norm_train, conv2d, conv_transpose2d, ConvParams};
use serde_json::Value;

fn fixtures() -> Value {
    let text = include_str!("fixtures/torch_ops.json");
    serde_json::from_str(text).unwrap()
}

fn vec(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn tensor(v: &Value, shape: &[usize]) -> Tensor {
    Tensor::from_vec(vec(v), shape, &Device::Cpu).unwrap()
}

/// max |got - want| relative to max |want|.
fn close(got: &Tensor, want: &Value, what: &str) {
    let g = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let w: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(g.len(), w.len(), "{what}: length");
    let scale = w.iter().fold(1e-6f64, |m, x| m.max(x.abs()));
    let err = g
        .iter()
        .zip(&w)
        .fold(0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
    assert!(
        err / scale < 2e-6,
        "{what}: max error {err} (scale {scale})"
    );
}

/// Variables `x`, `gamma`, `beta` of a normalisation case, and a check of the output and the three
/// gradients (upstream gradient `gy`) against the fixture.
fn norm_case(c: &Value, shape: &[usize], ch: usize) -> (Var, Var, Var) {
    (
        Var::from_tensor(&tensor(&c["x"], shape)).unwrap(),
        Var::from_tensor(&tensor(&c["gamma"], &[ch])).unwrap(),
        Var::from_tensor(&tensor(&c["beta"], &[ch])).unwrap(),
    )
}

fn check_norm_grads(c: &Value, y: Tensor, vars: &(Var, Var, Var), tag: &str) {
    close(&y, &c["y"], &format!("{tag} forward"));
    let grads = (&y * tensor(&c["gy"], y.dims()))
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for (v, key) in [(&vars.0, "gx"), (&vars.1, "ggamma"), (&vars.2, "gbeta")] {
        close(
            grads.get(v.as_tensor()).unwrap(),
            &c[key],
            &format!("{tag} {key}"),
        );
    }
}

fn params(c: &Value) -> ConvParams {
    let u = |k: &str| c[k].as_u64().unwrap() as usize;
    // `padding` is a number, or `[h, w]` when the two differ.
    let (padding, padding_w) = match c["padding"].as_array() {
        Some(hw) => (
            hw[0].as_u64().unwrap() as usize,
            hw[1].as_u64().map(|v| v as usize),
        ),
        None => (u("padding"), None),
    };
    ConvParams {
        stride: u("stride"),
        padding,
        padding_w,
        dilation: u("dilation"),
        groups: u("groups"),
        output_padding: u("output_padding"),
    }
}

fn check_conv(kind: &str, f: fn(&Tensor, &Tensor, ConvParams) -> candle_core::Result<Tensor>) {
    let fx = fixtures();
    for (i, c) in fx[kind].as_array().unwrap().iter().enumerate() {
        let what = format!("{kind} case {i}");
        let x = Var::from_tensor(&tensor(&c["x"], &dims(&c["x_shape"]))).unwrap();
        let w = Var::from_tensor(&tensor(&c["w"], &dims(&c["w_shape"]))).unwrap();
        let y = f(x.as_tensor(), w.as_tensor(), params(c)).unwrap();
        assert_eq!(
            y.dims(),
            dims(&c["y_shape"]).as_slice(),
            "{what}: output shape"
        );
        close(&y, &c["y"], &format!("{what} forward"));
        let gy = tensor(&c["gy"], y.dims());
        let grads = (y * gy).unwrap().sum_all().unwrap().backward().unwrap();
        close(
            grads.get(x.as_tensor()).unwrap(),
            &c["gx"],
            &format!("{what} grad input"),
        );
        close(
            grads.get(w.as_tensor()).unwrap(),
            &c["gw"],
            &format!("{what} grad weight"),
        );
    }
}

#[test]
fn conv2d_matches_pytorch() {
    check_conv("conv2d", conv2d);
}

#[test]
fn conv_transpose2d_matches_pytorch() {
    check_conv("conv_transpose2d", conv_transpose2d);
}

#[test]
fn winograd_convolutions_match_float64_convolutions() {
    // 3×3 stride-1 convolutions with 64+ channels take Winograd's F(2×2, 3×3) forward and for
    // the input gradient (the weight gradient stays im2col + GEMM); PyTorch fixtures at that
    // size would be megabytes, so the reference is candle's own convolution in f64 (the path
    // other dtypes take), forward and both gradients, for odd sizes, padding 0, 1, 2 and (1, 0),
    // and a 3×3 stride-1 transposed convolution.
    let dev = &Device::Cpu;
    // (transposed, input shape, output channels, padding, stride, width padding)
    type Case = (bool, [usize; 4], usize, usize, usize, Option<usize>);
    let cases: [Case; 5] = [
        // 5 images: the weight gradient's GEMMs take groups of images, the last one short.
        (false, [5, 64, 5, 4], 64, 1, 1, None),
        (false, [1, 64, 6, 5], 65, 0, 1, None),
        (false, [1, 65, 3, 3], 64, 2, 1, None),
        (false, [1, 64, 5, 6], 64, 1, 1, Some(0)),
        (true, [2, 64, 4, 5], 64, 1, 1, None),
    ];
    for (transpose, xs, out_ch, padding, stride, padding_w) in cases {
        let p = ConvParams {
            padding,
            padding_w,
            stride,
            ..Default::default()
        };
        let ws = if transpose {
            [xs[1], out_ch, 3, 3]
        } else {
            [out_ch, xs[1], 3, 3]
        };
        let f = if transpose { conv_transpose2d } else { conv2d };
        let x = Var::randn(0f32, 1., &xs[..], dev).unwrap();
        let w = Var::randn(0f32, 0.1, &ws[..], dev).unwrap();
        let run = |x: &Tensor, w: &Tensor| {
            let y = f(x, w, p).unwrap();
            let r = Tensor::randn(0f32, 1., y.dims(), dev)
                .unwrap()
                .to_dtype(x.dtype())
                .unwrap();
            (y.clone(), r.clone(), (y * r).unwrap().sum_all().unwrap())
        };
        let (y, r, loss) = run(x.as_tensor(), w.as_tensor());
        let g = loss.backward().unwrap();
        let (x64, w64) = (
            Var::from_tensor(&x.as_tensor().to_dtype(DType::F64).unwrap()).unwrap(),
            Var::from_tensor(&w.as_tensor().to_dtype(DType::F64).unwrap()).unwrap(),
        );
        let y64 = f(x64.as_tensor(), w64.as_tensor(), p).unwrap();
        let g64 = (&y64 * r.to_dtype(DType::F64).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let tag = format!("transpose={transpose} {xs:?} -> {out_ch}, {p:?}");
        for (got, want, what) in [
            (&y, &y64, "forward"),
            (g.get(&x).unwrap(), g64.get(&x64).unwrap(), "input gradient"),
            (
                g.get(&w).unwrap(),
                g64.get(&w64).unwrap(),
                "weight gradient",
            ),
        ] {
            let want = want.to_dtype(DType::F32).unwrap();
            let scale = want
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            let err = max_diff(got, &want);
            assert!(
                err <= 2e-6 * scale,
                "{tag}: {what} off by {err} (scale {scale})"
            );
        }
    }
}

#[test]
fn batch_norm_matches_pytorch() {
    let fx = fixtures();
    for (i, c) in fx["batch_norm"].as_array().unwrap().iter().enumerate() {
        let shape = dims(&c["shape"]);
        let v = norm_case(c, &shape, shape[1]);
        let eps = c["eps"].as_f64().unwrap();
        let (y, mean, var) =
            batch_norm_train(v.0.as_tensor(), v.1.as_tensor(), v.2.as_tensor(), eps).unwrap();
        close(&mean, &c["mean"], &format!("bn {i} mean"));
        close(&var, &c["var"], &format!("bn {i} var"));
        check_norm_grads(c, y, &v, &format!("bn {i}"));
    }
}

#[test]
fn input_gradient_is_skipped_for_data_and_ops_chain_with_candle() {
    // A conv on a plain input tensor (no Var behind it) gives no input gradient, only weights'.
    let x = Tensor::randn(0f32, 1., (2, 3, 8, 8), &Device::Cpu).unwrap();
    let w = Var::randn(0f32, 1., (4, 3, 3, 3), &Device::Cpu).unwrap();
    let y = conv2d(
        &x,
        w.as_tensor(),
        ConvParams {
            padding: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let grads = y.relu().unwrap().sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_none());
    assert!(grads.get(w.as_tensor()).is_some());
    // Same values as candle's own conv2d (which is correct, only slow) on a strided input.
    let xt = Tensor::randn(0f32, 1., (2, 8, 8, 3), &Device::Cpu)
        .unwrap()
        .permute((0, 3, 1, 2))
        .unwrap();
    let ours = conv2d(
        &xt,
        w.as_tensor(),
        ConvParams {
            padding: 1,
            stride: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let theirs = xt.conv2d(w.as_tensor(), 1, 2, 1, 1).unwrap();
    let diff = max_diff(&ours, &theirs);
    assert!(diff < 1e-4, "{diff}");
}

#[test]
fn bad_shapes_are_errors() {
    let x = Tensor::zeros((1, 3, 4, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
    let w = Tensor::zeros((2, 2, 3, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let e = conv2d(&x, &w, ConvParams::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("input has 3 channels"), "{e}");
    let w = Tensor::zeros((2, 3, 7, 7), candle_core::DType::F32, &Device::Cpu).unwrap();
    let e = conv2d(&x, &w, ConvParams::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("larger than the padded input"), "{e}");
}

#[test]
fn spectral_norm_matches_pytorch_including_u_v_updates() {
    let fx = fixtures();
    for (i, c) in fx["spectral_norm"].as_array().unwrap().iter().enumerate() {
        let shape = dims(&c["shape"]);
        let cols: usize = shape[1..].iter().product();
        let w = Var::from_tensor(&tensor(&c["w"], &shape)).unwrap();
        let u = Var::from_tensor(&tensor(&c["u"], &[shape[0]])).unwrap();
        let v = Var::from_tensor(&tensor(&c["v"], &[cols])).unwrap();
        let w_sn =
            pbtnas_nn::spectral_norm(w.as_tensor(), u.as_tensor(), v.as_tensor(), true).unwrap();
        close(&w_sn, &c["w_sn"], &format!("sn {i} weight"));
        close(u.as_tensor(), &c["u_new"], &format!("sn {i} u"));
        close(v.as_tensor(), &c["v_new"], &format!("sn {i} v"));
        let grads = (w_sn * tensor(&c["g"], &shape))
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        close(
            grads.get(w.as_tensor()).unwrap(),
            &c["gw"],
            &format!("sn {i} grad"),
        );
        assert!(
            grads.get(u.as_tensor()).is_none(),
            "u is a constant of the step"
        );
    }
}

#[test]
fn layer_norm_matches_pytorch_with_gradients() {
    let fx = fixtures();
    for (i, c) in fx["layer_norm"].as_array().unwrap().iter().enumerate() {
        let shape = dims(&c["shape"]);
        let v = norm_case(c, &shape, *shape.last().unwrap());
        let eps = c["eps"].as_f64().unwrap();
        let y =
            pbtnas_nn::layer_norm(v.0.as_tensor(), v.1.as_tensor(), v.2.as_tensor(), eps).unwrap();
        check_norm_grads(c, y, &v, &format!("ln {i}"));
    }
}

#[test]
fn fused_bias_add_relu_and_bias_relu_match_the_math_with_gradients() {
    // y = relu(x + b) on a strided input; dy/dx = [x + b > 0] (PyTorch's convention: 0 at the
    // kink, where candle's own ReLU passes the gradient), dy/db = its sum over all but dim 1.
    let dev = &Device::Cpu;
    let b = Var::randn(0f32, 1., 4, dev).unwrap();
    let bv = b.to_vec1::<f32>().unwrap();
    let mut xv = Tensor::randn(0f32, 1., 3 * 4 * 5 * 2, dev)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    xv[0] = -bv[0]; // exactly at the kink
    let x = Var::from_tensor(
        &Tensor::from_vec(xv, (3, 4, 5, 2), dev)
            .unwrap()
            .permute((0, 1, 3, 2))
            .unwrap(),
    )
    .unwrap();
    let r = Tensor::randn(0f32, 1., (3, 4, 2, 5), dev).unwrap();
    let (xt, bt) = (x.as_tensor(), b.as_tensor());
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    // The composed ops and the fused one.
    let composed = |x: &Tensor, b: &Tensor| pbtnas_nn::ops::relu(&pbtnas_kernels::bias_add(x, b)?);
    let fused = |x: &Tensor, b: &Tensor| pbtnas_nn::ops::bias_relu(x, b);
    for (name, f) in [
        (
            "composed",
            &composed as &dyn Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>,
        ),
        ("fused", &fused),
    ] {
        let y = f(xt, bt).unwrap();
        let g = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let (xs, rs) = (flat(xt), flat(&r));
        let pre: Vec<f32> = xs
            .iter()
            .enumerate()
            .map(|(i, v)| v + bv[i / 10 % 4])
            .collect();
        assert_eq!(pre[0], 0.0);
        let want_y: Vec<f32> = pre.iter().map(|v| v.max(0.0)).collect();
        let want_gx: Vec<f32> = pre
            .iter()
            .zip(&rs)
            .map(|(p, r)| if *p > 0.0 { *r } else { 0.0 })
            .collect();
        assert_eq!(flat(&y), want_y, "{name}: values");
        assert_eq!(flat(g.get(xt).unwrap()), want_gx, "{name}: input gradient");
        let gb = flat(g.get(bt).unwrap());
        for (c, got) in gb.iter().enumerate() {
            let want: f32 = (0..want_gx.len())
                .filter(|i| i / 10 % 4 == c)
                .map(|i| want_gx[i])
                .sum();
            assert!(
                (got - want).abs() < 1e-5,
                "{name}: bias gradient {c}: {got} vs {want}"
            );
        }
    }
    // Only the bias side of bias_add gets a gradient when the input is data.
    let data = Tensor::ones((2, 4, 3), candle_core::DType::F32, dev).unwrap();
    let g = pbtnas_nn::ops::bias_add(&data, bt)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(flat(g.get(bt).unwrap()), vec![6.0; 4]);
    assert!(g.get(&data).is_none());
}

#[test]
fn fused_conv_bias_relu_matches_the_composed_ops_with_gradients() {
    // The composed ops are each checked against PyTorch above; the fused op must agree with them
    // in value and in the gradients of input, weight and bias.
    let dev = &Device::Cpu;
    let p = ConvParams {
        stride: 2,
        padding: 1,
        padding_w: Some(0),
        ..Default::default()
    };
    let x = Var::randn(0f32, 1., (3, 4, 9, 8), dev).unwrap();
    let w = Var::randn(0f32, 1., (5, 4, 3, 3), dev).unwrap();
    let b = Var::randn(0f32, 1., 5, dev).unwrap();
    let (xt, wt, bt) = (x.as_tensor(), w.as_tensor(), b.as_tensor());
    let fused = pbtnas_nn::ops::conv2d_bias_relu(xt, wt, bt, p).unwrap();
    let composed =
        pbtnas_nn::ops::relu(&pbtnas_kernels::bias_add(&conv2d(xt, wt, p).unwrap(), bt).unwrap())
            .unwrap();
    let r = Tensor::randn(0f32, 1., fused.dims(), dev).unwrap();
    let grads = |y: &Tensor| (y * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let (gf, gc) = (grads(&fused), grads(&composed));
    assert_eq!(fused.dims(), composed.dims());
    assert!(max_diff(&fused, &composed) < 1e-6, "values");
    assert!(fused.min_all().unwrap().to_scalar::<f32>().unwrap() == 0.0);
    for (t, what) in [(xt, "input"), (wt, "weight"), (bt, "bias")] {
        let d = max_diff(gf.get(t).unwrap(), gc.get(t).unwrap());
        assert!(d < 1e-4, "{what} gradient differs by {d}");
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn relu_conv_matches_the_composed_ops_with_gradients() {
    // conv2d(relu(x)) with the ReLU folded into im2col: same values and gradients as the two
    // ops (each checked against PyTorch above), for a 3×3 stride-2 conv with per-dimension
    // padding, a dilated one, a 1×1 one and a 64-channel 3×3 one (Winograd), with inputs exactly
    // at the kink.
    let dev = &Device::Cpu;
    for (k, p) in [
        (
            3,
            ConvParams {
                stride: 2,
                padding: 1,
                padding_w: Some(0),
                ..Default::default()
            },
        ),
        (
            3,
            ConvParams {
                padding: 2,
                dilation: 2,
                ..Default::default()
            },
        ),
        (1, ConvParams::default()),
        // 64 channels: Winograd, the ReLU applied in its input transform.
        (
            3,
            ConvParams {
                padding: 1,
                ..Default::default()
            },
        ),
    ] {
        let (cin, cout) = if k == 3 && p.stride == 1 && p.dilation == 1 {
            (64, 64)
        } else {
            (4, 3)
        };
        let mut xv = Tensor::randn(0f32, 1., 2 * cin * 7 * 6, dev)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        xv[..5].fill(0.0);
        let x = Var::from_tensor(&Tensor::from_vec(xv, (2, cin, 7, 6), dev).unwrap()).unwrap();
        let w = Var::randn(0f32, 1., (cout, cin, k, k), dev).unwrap();
        let (xt, wt) = (x.as_tensor(), w.as_tensor());
        let b = Var::randn(0f32, 1., cout, dev).unwrap();
        let bt = b.as_tensor();
        let rectified = pbtnas_nn::ops::relu(xt).unwrap();
        // Without and with the bias folded in.
        for (fused, composed) in [
            (
                pbtnas_nn::ops::relu_conv2d(xt, wt, p).unwrap(),
                conv2d(&rectified, wt, p).unwrap(),
            ),
            (
                pbtnas_nn::ops::relu_conv2d_bias(xt, wt, bt, p).unwrap(),
                pbtnas_nn::ops::bias_add(&conv2d(&rectified, wt, p).unwrap(), bt).unwrap(),
            ),
        ] {
            assert_eq!(fused.dims(), composed.dims(), "{p:?}");
            assert!(max_diff(&fused, &composed) < 1e-5, "{p:?}: values");
            let r = Tensor::randn(0f32, 1., fused.dims(), dev).unwrap();
            let grads = |y: &Tensor| (y * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let (gf, gc) = (grads(&fused), grads(&composed));
            for (t, what) in [(xt, "input"), (wt, "weight"), (bt, "bias")] {
                match (gf.get(t), gc.get(t)) {
                    (Some(a), Some(c)) => {
                        let d = max_diff(a, c);
                        assert!(d < 1e-4, "{p:?}: {what} gradient differs by {d}");
                    }
                    (a, c) => assert_eq!(a.is_some(), c.is_some(), "{p:?}: {what}"),
                }
            }
        }
    }
}

#[test]
fn upsampling_matches_pytorch_and_the_composed_fallback() {
    // ×2 nearest and bilinear (align_corners=False) upsampling with its gradient, against
    // F.interpolate for odd sizes and single rows/columns; the composed ops other devices use
    // (run here in f64, which takes that path) give the same values and gradient.
    for c in fixtures()["upsample2x"].as_array().unwrap() {
        let shape = dims(&c["shape"]);
        let bilinear = c["bilinear"].as_bool().unwrap();
        let tag = format!("{shape:?} bilinear={bilinear}");
        let x = Var::from_tensor(&tensor(&c["x"], &shape)).unwrap();
        let y = pbtnas_nn::ops::upsample2x(x.as_tensor(), bilinear).unwrap();
        close(&y, &c["y"], &format!("{tag}: y"));
        let gy = tensor(&c["gy"], y.dims());
        let grads = (&y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
        close(grads.get(&x).unwrap(), &c["gx"], &format!("{tag}: gx"));

        let x64 = Var::from_tensor(&x.as_tensor().to_dtype(DType::F64).unwrap()).unwrap();
        let y64 = pbtnas_nn::ops::upsample2x(x64.as_tensor(), bilinear).unwrap();
        let gy64 = gy.to_dtype(DType::F64).unwrap();
        let g64 = (&y64 * &gy64)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (got, want, what) in [
            (&y64, &y, "y"),
            (g64.get(&x64).unwrap(), grads.get(&x).unwrap(), "gx"),
        ] {
            let got = got.to_dtype(DType::F32).unwrap();
            assert!(max_diff(&got, want) < 1e-5, "{tag}: composed {what}");
        }
    }
}

#[test]
fn released_terms_keep_the_graph_and_lose_their_data() {
    // An add's terms are freed after the add: the gradients through it are unchanged, the data
    // is gone (reading it panics), and views are refused.
    let dev = &Device::Cpu;
    let x = Var::randn(0f32, 1., (2, 3), dev).unwrap();
    let a = (x.as_tensor() * 2.0).unwrap();
    // (Not `exp`: its gradient reads its output.)
    let b = x.as_tensor().sqr().unwrap();
    let s = (&a + &b).unwrap();
    pbtnas_nn::ops::release(&a).unwrap();
    pbtnas_nn::ops::release(&b).unwrap();
    let y = (&s * &s).unwrap().sum_all().unwrap();
    let g = y.backward().unwrap();
    let xv = x.as_tensor().to_vec2::<f32>().unwrap();
    let sv = s.to_vec2::<f32>().unwrap();
    let gv = g.get(x.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
    for i in 0..2 {
        for j in 0..3 {
            let want = 2.0 * sv[i][j] * (2.0 + 2.0 * xv[i][j]);
            assert!((gv[i][j] - want).abs() <= 1e-5 * want.abs().max(1.0));
        }
    }
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.to_vec2::<f32>()));
    assert!(!matches!(read, Ok(Ok(_))), "released data was readable");
    let view = s.narrow(1, 1, 2).unwrap();
    assert!(pbtnas_nn::ops::release(&view).is_err());
}

/// `F.interpolate(x, scale_factor=4, mode='bilinear', align_corners=False)` and its backward
/// for an upstream gradient `arange/10`, as PyTorch 2.15 printed them (dyadic values, exact in
/// f32). Two ×2 steps give 0.75 where PyTorch's peak is 0.875.
#[test]
fn bilinear_x4_is_one_interpolation_as_pytorch() {
    use pbtnas_nn::ops::{upsample2x, upsample_bilinear};
    let x = [0., 1., 0., 2., 1., -1., 3., 0.5f32];
    let want_row0 = [
        0.0, 0.0, 0.125, 0.375, 0.625, 0.875, 0.875, 0.625, 0.375, 0.125, 0.25, 0.75, 1.25, 1.75,
        2.0, 2.0,
    ];
    let want_row4 = [
        0.625, 0.625, 0.515625, 0.296875, 0.078125, -0.140625, 0.015625, 0.546875, 1.078125,
        1.609375, 1.773438, 1.570312, 1.367188, 1.164062, 1.0625, 1.0625,
    ];
    let want_grad = [45.9, 52.0, 58.4, 64.5, 138.7, 144.8, 151.2, 157.3];
    let x = Var::from_vec(x.to_vec(), (1, 1, 2, 4), &Device::Cpu).unwrap();
    let y = upsample_bilinear(&x, 4).unwrap();
    assert_eq!(y.dims(), &[1, 1, 8, 16]);
    let rows = y
        .squeeze(0)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    for (got, want) in [(&rows[0], &want_row0), (&rows[4], &want_row4)] {
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
    }
    let twice = upsample2x(&upsample2x(&x, true).unwrap(), true).unwrap();
    let twice = twice.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(twice[5], 0.75, "two ×2 steps are another interpolation");
    let up = (Tensor::arange(0f32, 128., &Device::Cpu).unwrap() / 10.).unwrap();
    let up = up.reshape((1, 1, 8, 16)).unwrap();
    let grads = (&y * &up).unwrap().sum_all().unwrap().backward().unwrap();
    let g = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap();
    for (g, w) in g.to_vec1::<f32>().unwrap().iter().zip(want_grad) {
        assert!((g - w).abs() < 1e-3, "{g} vs {w}");
    }
    // ×2 through the general path equals the ×2 kernel.
    let a = upsample_bilinear(&x, 2)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let b = upsample2x(&x, true)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a, b);
}
