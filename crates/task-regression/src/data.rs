//! The procedural dataset: x ~ U(-1, 1)^4, y = sin(2.5·x0)·cos(1.5·x1) + 0.5·x2·x3 − 0.3·x3² + ε,
//! ε ~ N(0, noise²). Generated from a seed, nothing to download.

use candle_core::{Device, Result, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

/// Input dimension of the dataset.
pub const INPUTS: usize = 4;

/// Sizes, noise and seed of the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    pub train: usize,
    pub test: usize,
    pub noise: f64,
    pub seed: u64,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            train: 2048,
            test: 512,
            noise: 0.05,
            seed: 7,
        }
    }
}

/// The target function without noise.
pub fn target(x: &[f32]) -> f32 {
    (2.5 * x[0]).sin() * (1.5 * x[1]).cos() + 0.5 * x[2] * x[3] - 0.3 * x[3] * x[3]
}

/// Inputs `(n, 4)` and targets `(n, 1)`.
pub struct Split {
    pub x: Tensor,
    pub y: Tensor,
}

/// Train and test splits.
pub struct Dataset {
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Generates the dataset on `device`.
    pub fn generate(cfg: &DataConfig, device: &Device) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let noise = Normal::new(0.0, cfg.noise.max(0.0)).map_err(candle_core::Error::wrap)?;
        let mut split = |n: usize, with_noise: bool| -> Result<Split> {
            let mut xs = Vec::with_capacity(n * INPUTS);
            let mut ys = Vec::with_capacity(n);
            for _ in 0..n {
                let x: Vec<f32> = (0..INPUTS)
                    .map(|_| rng.random_range(-1.0f32..1.0))
                    .collect();
                let eps = if with_noise {
                    noise.sample(&mut rng) as f32
                } else {
                    0.0
                };
                ys.push(target(&x) + eps);
                xs.extend(x);
            }
            Ok(Split {
                x: Tensor::from_vec(xs, (n, INPUTS), device)?,
                y: Tensor::from_vec(ys, (n, 1), device)?,
            })
        };
        let train = split(cfg.train, true)?;
        let test = split(cfg.test, false)?;
        Ok(Self { train, test })
    }
}
