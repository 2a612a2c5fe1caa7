//! The Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² between two feature
//! sets with the polynomial kernel `k(x, y) = (xᵀy / d + 1)³`, averaged over random subsets as
//! torch-fidelity does (docs/metrics.md, "KID"). Unbiased, so usable with a few hundred
//! samples; a "KID" only on Inception features (name it after the extractor otherwise, e.g.
//! KD-pixels8).

use anyhow::{bail, Result};
use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::mean_std;

/// Subsets of the KID estimate.
#[derive(Debug, Clone, Copy)]
pub struct KidOptions {
    /// How many random subsets (torch-fidelity: 100).
    pub subsets: usize,
    /// Samples per subset, drawn without replacement from each set (torch-fidelity: 1000).
    pub subset_size: usize,
    pub seed: u64,
}

impl Default for KidOptions {
    fn default() -> Self {
        Self {
            subsets: 100,
            subset_size: 1000,
            seed: 0,
        }
    }
}

/// `(mean, std)` over the subsets of the unbiased MMD² between feature sets `a` and `b` (rows
/// of `d` values).
pub fn kernel_distance(a: &[f32], b: &[f32], d: usize, opts: KidOptions) -> Result<(f64, f64)> {
    if d == 0 || !a.len().is_multiple_of(d) || !b.len().is_multiple_of(d) {
        bail!("feature sets are not rows of {d} values");
    }
    let (na, nb, m) = (a.len() / d, b.len() / d, opts.subset_size);
    if m < 2 || na < m || nb < m {
        bail!(
            "KID subsets of {m} need at least that many samples in each set (have {na} and {nb})"
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let pick = |rng: &mut ChaCha8Rng, x: &[f32], n: usize| {
        let idx = rand::seq::index::sample(rng, n, m);
        Mat::from_fn(m, d, |i, j| x[idx.index(i) * d + j] as f64)
    };
    let mmds: Vec<f64> = (0..opts.subsets)
        .map(|_| {
            let (x, y) = (pick(&mut rng, a, na), pick(&mut rng, b, nb));
            let k = |p: &Mat<f64>, q: &Mat<f64>| {
                let g = p * q.transpose();
                Mat::from_fn(m, m, |i, j| (g[(i, j)] / d as f64 + 1.0).powi(3))
            };
            let off_diag = |k: &Mat<f64>| {
                let mut s = 0.0;
                for i in 0..m {
                    for j in 0..m {
                        if i != j {
                            s += k[(i, j)];
                        }
                    }
                }
                s
            };
            let kxy = k(&x, &y);
            let sum_xy: f64 = (0..m)
                .flat_map(|i| (0..m).map(move |j| (i, j)))
                .map(|ij| kxy[ij])
                .sum();
            let mf = m as f64;
            (off_diag(&k(&x, &x)) + off_diag(&k(&y, &y))) / (mf * (mf - 1.0))
                - 2.0 * sum_xy / (mf * mf)
        })
        .collect();
    Ok(mean_std(&mmds))
}
