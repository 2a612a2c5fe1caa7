//! The FD-classifier proxy's classifier: it learns the sprites' shapes, survives a save/load
//! exactly, and its feature space separates real images from noise by far more than one real
//! sample from another.

use candle_core::{Device, Tensor};
use pbtnas_metrics::classifier::{TrainOptions, FEATURES};
use pbtnas_metrics::{frechet_distance, Classifier, FeatureStats};

fn sprites(n: usize) -> (Tensor, Vec<u8>) {
    let set = pbtnas_data::sprites::generate(n, 16, 7);
    let idx: Vec<usize> = (0..n).collect();
    let x = Tensor::from_vec(set.batch_f32(&idx), (n, 3, 16, 16), &Device::Cpu).unwrap();
    (x, set.labels.unwrap())
}

fn stats(net: &Classifier, x: &Tensor) -> FeatureStats {
    let f = net.features(x).unwrap().flatten_all().unwrap();
    FeatureStats::of(&f.to_vec1::<f32>().unwrap(), FEATURES).unwrap()
}

#[test]
fn classifier_learns_the_shapes_and_separates_real_from_noise() {
    let (x, labels) = sprites(2400);
    let train = x.narrow(0, 0, 2000).unwrap();
    let mut losses = Vec::new();
    let opts = TrainOptions::default();
    let net = Classifier::train(&train, &labels[..2000], 4, opts, |_, l| losses.push(l)).unwrap();
    assert!(
        losses[losses.len() - 1] < losses[0] * 0.5,
        "loss {losses:?}"
    );
    eprintln!("losses {losses:?}");
    let held_out = x.narrow(0, 2000, 400).unwrap();
    let acc = net.accuracy(&held_out, &labels[2000..]).unwrap();
    assert!(acc > 0.9, "held-out accuracy {acc} (chance 0.25)");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    net.save(&path).unwrap();
    let loaded = Classifier::load(&path, &Device::Cpu).unwrap();
    let (a, b) = (
        net.features(&held_out).unwrap(),
        loaded.features(&held_out).unwrap(),
    );
    let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
    assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);

    let real_a = stats(&net, &x.narrow(0, 0, 1000).unwrap());
    let real_b = stats(&net, &x.narrow(0, 1000, 1000).unwrap());
    let noise = Tensor::rand(-1f32, 1f32, (1000, 3, 16, 16), &Device::Cpu).unwrap();
    let noise = stats(&net, &noise);
    let (same, far) = (
        frechet_distance(&real_a, &real_b).unwrap(),
        frechet_distance(&real_a, &noise).unwrap(),
    );
    assert!(
        far > 20.0 * same,
        "real vs real {same}, real vs noise {far}"
    );
}

#[test]
fn other_files_are_not_classifiers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.safetensors");
    let t = Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap();
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("w".to_string(), t)]),
        &path,
    )
    .unwrap();
    let e = Classifier::load(&path, &Device::Cpu).err().unwrap();
    assert!(e.to_string().contains("not a classifier"), "{e}");
}
