//! The domain classifier of the CPU proxy **FD-classifier** (docs/metrics.md, "CPU proxies":
//! the Fréchet distance in the feature space of a small classifier the project trains on the
//! dataset, as TF-GAN's `mnist_frechet_distance`): three strided 3×3 convolutions (32, 64, 128
//! channels, ReLU), a global average (the 128 features) and a linear head over the dataset's
//! classes. It trains in a minute or two on a CPU; its distances compare only within the project
//! and one classifier file, and are never called FID.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, D};
use pbtnas_nn::ops::{conv2d_bias_relu, ConvParams};
use pbtnas_nn::{Adam, AdamConfig, Init, Params};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Feature width.
pub const FEATURES: usize = 128;
const WIDTHS: [usize; 3] = [32, 64, 128];

/// How [`Classifier::train`] trains.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch: 32,
            lr: 3e-3,
            seed: 0,
        }
    }
}

/// A trained (or loaded) classifier.
pub struct Classifier {
    params: Params,
    classes: usize,
}

impl Classifier {
    fn new(classes: usize, seed: u64, device: &Device) -> Result<Self> {
        let c = Self {
            params: Params::new(seed, device),
            classes,
        };
        c.forward(&Tensor::zeros((1, 3, 8, 8), DType::F32, device)?)?;
        Ok(c)
    }

    /// Trains on `images` (`(N, 3, S, S)` in [-1, 1]) with `labels` (0..classes) by Adam on the
    /// cross-entropy, in shuffled mini-batches; `progress` gets each epoch's mean loss.
    pub fn train(
        images: &Tensor,
        labels: &[u8],
        classes: usize,
        opts: TrainOptions,
        mut progress: impl FnMut(usize, f64),
    ) -> Result<Self> {
        let n = images.dim(0)?;
        if labels.len() != n || labels.iter().any(|&l| l as usize >= classes) {
            bail!("{n} images need {n} labels in 0..{classes}");
        }
        let net = Self::new(classes, opts.seed, images.device())?;
        let mut adam = Adam::new(
            net.params.vars(),
            AdamConfig {
                lr: opts.lr,
                ..Default::default()
            },
        );
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut order: Vec<usize> = (0..n).collect();
        for epoch in 0..opts.epochs {
            order.shuffle(&mut rng);
            let mut total = 0.0;
            for chunk in order.chunks(opts.batch.max(1)) {
                let idx = Tensor::from_vec(
                    chunk.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                    chunk.len(),
                    images.device(),
                )?;
                let x = images.index_select(&idx, 0)?;
                let y: Vec<u8> = chunk.iter().map(|&i| labels[i]).collect();
                let loss = net.loss(&x, &y)?;
                adam.step(&loss.backward()?)?;
                total += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            }
            progress(epoch + 1, total / n as f64);
        }
        Ok(net)
    }

    fn loss(&self, x: &Tensor, labels: &[u8]) -> Result<Tensor> {
        let (_, logits) = self.forward(x)?;
        let one_hot: Vec<f32> = labels
            .iter()
            .flat_map(|&l| (0..self.classes).map(move |k| (k == l as usize) as u8 as f32))
            .collect();
        let one_hot = Tensor::from_vec(one_hot, (labels.len(), self.classes), x.device())?;
        let max = logits.max_keepdim(D::Minus1)?.detach();
        let lse = (logits
            .broadcast_sub(&max)?
            .exp()?
            .sum_keepdim(D::Minus1)?
            .log()?
            + max)?;
        let picked = (&logits * one_hot)?.sum_keepdim(D::Minus1)?;
        Ok((lse - picked)?.mean_all()?)
    }

    /// Features `(N, 128)` and logits `(N, classes)` of images `(N, 3, S, S)` in [-1, 1].
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut h = x.clone();
        let mut cin = 3;
        for (i, &cout) in WIDTHS.iter().enumerate() {
            let p = self.params.pp(format!("conv{i}"));
            let init = Init::TorchDefault { fan_in: cin * 9 };
            let w = p.get((cout, cin, 3, 3), "weight", init)?;
            let b = p.get(cout, "bias", init)?;
            let stride = if i == 0 { 1 } else { 2 };
            let conv = ConvParams {
                stride,
                padding: 1,
                ..Default::default()
            };
            h = conv2d_bias_relu(&h, &w, &b, conv)?;
            cin = cout;
        }
        let features = h.mean(D::Minus1)?.mean(D::Minus1)?;
        let p = self.params.pp("head");
        let init = Init::TorchDefault { fan_in: FEATURES };
        let w = p.get((self.classes, FEATURES), "weight", init)?;
        let b = p.get(self.classes, "bias", init)?;
        let logits = features.matmul(&w.t()?)?.broadcast_add(&b)?;
        Ok((features, logits))
    }

    /// Features `(N, 128)` of images `(N, 3, S, S)` in [-1, 1].
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward(x)?.0)
    }

    /// Fraction of `images` whose predicted class is their label.
    pub fn accuracy(&self, images: &Tensor, labels: &[u8]) -> Result<f64> {
        let (_, logits) = self.forward(images)?;
        let pred = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
        let right = pred
            .iter()
            .zip(labels)
            .filter(|(p, l)| **p == **l as u32)
            .count();
        Ok(right as f64 / labels.len().max(1) as f64)
    }

    /// Writes the weights (safetensors).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let weights: std::collections::HashMap<String, Tensor> =
            self.params.weights()?.into_iter().collect();
        candle_core::safetensors::save(&weights, path)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Reads weights written by [`Classifier::save`]; the class count is the head's.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let weights: BTreeMap<String, Tensor> = candle_core::safetensors::load(path, device)
            .with_context(|| format!("reading the classifier {}", path.display()))?
            .into_iter()
            .collect();
        let classes = weights
            .get("head.bias")
            .context("not a classifier file (no head.bias)")?
            .dim(0)?;
        let net = Self {
            params: Params::from_weights(&weights, 0, device)?,
            classes,
        };
        net.forward(&Tensor::zeros((1, 3, 8, 8), DType::F32, device)?)?;
        net.params
            .check_matches(&weights)
            .with_context(|| format!("{} is not a classifier file", path.display()))?;
        Ok(net)
    }
}
