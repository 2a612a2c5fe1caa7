//! The DINOv2 features of FD-DINOv2 against a reference forward in PyTorch
//! (`scripts/fixtures/dinov2.py`, after facebookresearch/dinov2 and dgm-eval's preprocessing):
//! a small ViT/14 whose parameters are a closed-form formula on both sides, images resized by
//! Pillow's bicubic filter to a grid that makes the position embedding be interpolated.

use candle_core::{Device, Tensor};
use pbtnas_metrics::dinov2::synthetic_tensors;
use pbtnas_metrics::resize::pil_bicubic_f32;
use pbtnas_metrics::DinoV2;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dinov2.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    let mut out = Vec::new();
    let mut walk = vec![v];
    while let Some(v) = walk.pop() {
        match v {
            Value::Array(a) => walk.extend(a.iter().rev()),
            x => out.push(x.as_f64().unwrap() as f32),
        }
    }
    out
}

#[test]
fn pil_bicubic_resize_matches_pillow() {
    let f = fixture();
    let input = floats(&f["resize"]["input"]);
    let want = floats(&f["resize"]["output"]);
    let got = pil_bicubic_f32(&input, (5, 7), (9, 11));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-3, "{g} vs {w}");
    }
}

#[test]
fn features_match_the_pytorch_reference() {
    let f = fixture();
    let (dim, depth, grid, size) = ["dim", "depth", "grid", "size"]
        .map(|k| f[k].as_u64().unwrap() as usize)
        .into();
    let net = DinoV2::from_tensors(synthetic_tensors(dim, depth, grid).unwrap(), &Device::Cpu)
        .unwrap()
        .with_input_size(size);
    assert_eq!(net.dim(), dim);
    let pixels = floats(&f["images"]);
    let n = pixels.len() / (20 * 20 * 3);
    // The fixture's images are HWC uint8; the network takes NCHW values in 0..255.
    let images = Tensor::from_vec(pixels, (n, 20, 20, 3), &Device::Cpu)
        .unwrap()
        .permute((0, 3, 1, 2))
        .unwrap();
    let got = net
        .features(&images)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let want = floats(&f["features"]);
    assert_eq!(got.len(), want.len());
    let err = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0f32, f32::max);
    let scale = want.iter().map(|w| w.abs()).fold(0f32, f32::max);
    assert!(
        err < 2e-5 * scale.max(1.0),
        "max error {err} (features up to {scale})"
    );
}

#[test]
fn other_tensors_and_giant_models_are_refused() {
    let mut t = synthetic_tensors(128, 1, 4).unwrap();
    t.remove("cls_token");
    let e = DinoV2::from_tensors(t, &Device::Cpu).err().unwrap();
    assert!(e.to_string().contains("not a DINOv2"), "{e}");
    let mut t = synthetic_tensors(128, 1, 4).unwrap();
    t.insert(
        "blocks.0.mlp.w12.weight".into(),
        Tensor::zeros(1, candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    let e = DinoV2::from_tensors(t, &Device::Cpu).err().unwrap();
    assert!(e.to_string().contains("ViT-g"), "{e}");
    let e = DinoV2::load(
        std::path::Path::new("/nonexistent/d.safetensors"),
        &Device::Cpu,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("import-weights"), "{e}");
}
