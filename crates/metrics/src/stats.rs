//! Gaussian statistics of feature vectors: the mean and the unbiased covariance (numpy's
//! `np.cov(rowvar=False)`, divisor N−1) in f64, accumulated chunk by chunk so that 50,000
//! Inception features never need to be held at once. Saved and read as `.npz` with the keys
//! `mu` and `sigma`, the layout of TTUR's and clean-fid's reference statistics.

use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use faer::{Accum, Mat, Par};

/// Mean `mu` (d) and covariance `sigma` (d × d) of `n` feature vectors.
#[derive(Debug, Clone)]
pub struct FeatureStats {
    pub n: usize,
    pub mu: Vec<f64>,
    pub sigma: Mat<f64>,
}

/// Running sums for [`FeatureStats`]: Σx and Σxxᵀ in f64, the Gram part by one matrix product
/// per chunk. The sums are taken around a shift (the first row) so that the covariance does not
/// lose digits to a large mean.
#[derive(Debug, Clone)]
pub struct StatsAccumulator {
    d: usize,
    n: usize,
    shift: Vec<f64>,
    sum: Vec<f64>,
    gram: Mat<f64>,
}

impl StatsAccumulator {
    pub fn new(d: usize) -> Self {
        Self {
            d,
            n: 0,
            shift: Vec::new(),
            sum: vec![0.0; d],
            gram: Mat::zeros(d, d),
        }
    }

    /// Adds `rows.len() / d` feature vectors stored row by row.
    pub fn add(&mut self, rows: &[f32]) -> Result<()> {
        let d = self.d;
        if d == 0 || !rows.len().is_multiple_of(d) {
            bail!("{} values are not rows of {d} features", rows.len());
        }
        let m = rows.len() / d;
        if m == 0 {
            return Ok(());
        }
        if self.shift.is_empty() {
            self.shift = rows[..d].iter().map(|&v| v as f64).collect();
        }
        let x = Mat::from_fn(m, d, |i, j| rows[i * d + j] as f64 - self.shift[j]);
        for j in 0..d {
            self.sum[j] += (0..m).map(|i| x[(i, j)]).sum::<f64>();
        }
        faer::linalg::matmul::matmul(
            self.gram.as_mut(),
            Accum::Add,
            x.transpose(),
            x.as_ref(),
            1.0,
            Par::rayon(0),
        );
        self.n += m;
        Ok(())
    }

    /// Vectors added so far.
    pub fn count(&self) -> usize {
        self.n
    }

    pub fn finish(&self) -> Result<FeatureStats> {
        if self.n < 2 {
            bail!("statistics need at least 2 feature vectors, got {}", self.n);
        }
        let (n, d) = (self.n as f64, self.d);
        let mean_shifted: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let sigma = Mat::from_fn(d, d, |i, j| {
            (self.gram[(i, j)] - n * mean_shifted[i] * mean_shifted[j]) / (n - 1.0)
        });
        let mu = mean_shifted
            .iter()
            .zip(&self.shift)
            .map(|(m, s)| m + s)
            .collect();
        Ok(FeatureStats {
            n: self.n,
            mu,
            sigma,
        })
    }
}

impl FeatureStats {
    /// Statistics of `rows.len() / d` feature vectors stored row by row.
    pub fn of(rows: &[f32], d: usize) -> Result<Self> {
        let mut acc = StatsAccumulator::new(d);
        acc.add(rows)?;
        acc.finish()
    }

    pub fn dim(&self) -> usize {
        self.mu.len()
    }

    /// Writes `mu` and `sigma` (f64) to an `.npz` file.
    pub fn save_npz(&self, path: &Path) -> Result<()> {
        let d = self.dim();
        let mu = Tensor::from_slice(&self.mu, d, &Device::Cpu)?;
        let flat: Vec<f64> = (0..d * d).map(|k| self.sigma[(k / d, k % d)]).collect();
        let sigma = Tensor::from_vec(flat, (d, d), &Device::Cpu)?;
        Tensor::write_npz(&[("mu", &mu), ("sigma", &sigma)], path)
            .with_context(|| format!("writing statistics to {}", path.display()))
    }

    /// Reads an `.npz` with `mu` (d) and `sigma` (d × d), e.g. TTUR's `fid_stats_cifar10_train.npz`
    /// or clean-fid's `cifar10_legacy_tensorflow_train_32.npz` (which do not record n: it reads 0).
    pub fn load_npz(path: &Path) -> Result<Self> {
        let arrays = Tensor::read_npz(path)
            .with_context(|| format!("reading statistics from {}", path.display()))?;
        let get = |name: &str| {
            arrays
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, t)| t.to_dtype(candle_core::DType::F64))
                .with_context(|| format!("{}: no array '{name}'", path.display()))
        };
        let (mu, sigma) = (get("mu")??, get("sigma")??);
        let d = mu.elem_count();
        if mu.rank() != 1 || sigma.dims() != [d, d] {
            bail!(
                "{}: mu {:?} and sigma {:?} are not (d) and (d, d)",
                path.display(),
                mu.dims(),
                sigma.dims()
            );
        }
        let s = sigma.flatten_all()?.to_vec1::<f64>()?;
        Ok(Self {
            n: 0,
            mu: mu.to_vec1()?,
            sigma: Mat::from_fn(d, d, |i, j| s[i * d + j]),
        })
    }
}
