//! A cheap CPU fitness proxy, **not FID**: the Fréchet distance between Gaussian fits of real and
//! generated images average-pooled to 8×8 (192 dimensions), "FD-pixels8". It tracks sample
//! quality coarsely (colours, layout) and costs milliseconds; real FID/IS come with the metrics
//! work and the Inception network.

use nalgebra::{DMatrix, DVector};

/// Mean and covariance of a set of feature vectors.
#[derive(Debug, Clone)]
pub struct Stats {
    pub mu: DVector<f64>,
    pub sigma: DMatrix<f64>,
}

/// `(N, 3, S, S)` images in [-1, 1] → `(N, 192)` features: 8×8 average pools per channel.
pub fn features(images: &[f32], n: usize, size: usize) -> Vec<Vec<f64>> {
    let cell = size / 8;
    (0..n)
        .map(|i| {
            let img = &images[i * 3 * size * size..(i + 1) * 3 * size * size];
            let mut f = Vec::with_capacity(192);
            for c in 0..3 {
                for by in 0..8 {
                    for bx in 0..8 {
                        let mut s = 0.0;
                        for y in by * cell..(by + 1) * cell {
                            for x in bx * cell..(bx + 1) * cell {
                                s += img[(c * size + y) * size + x] as f64;
                            }
                        }
                        f.push(s / (cell * cell) as f64);
                    }
                }
            }
            f
        })
        .collect()
}

impl Stats {
    /// Mean and (unbiased) covariance, as numpy's `np.cov(rowvar=False)`.
    pub fn of(features: &[Vec<f64>]) -> Stats {
        let n = features.len();
        let d = features[0].len();
        let mu = DVector::from_fn(d, |j, _| {
            features.iter().map(|f| f[j]).sum::<f64>() / n as f64
        });
        let mut sigma = DMatrix::zeros(d, d);
        for f in features {
            let c = DVector::from_fn(d, |j, _| f[j] - mu[j]);
            sigma += &c * c.transpose();
        }
        Stats {
            mu,
            sigma: sigma / (n as f64 - 1.0).max(1.0),
        }
    }
}

/// `|μ1−μ2|² + tr Σ1 + tr Σ2 − 2 tr √(√Σ1 Σ2 √Σ1)` with symmetric eigendecompositions.
pub fn frechet_distance(a: &Stats, b: &Stats) -> f64 {
    let sqrt_psd = |m: &DMatrix<f64>| {
        let e = m.clone().symmetric_eigen();
        let d = DMatrix::from_diagonal(&e.eigenvalues.map(|v| v.max(0.0).sqrt()));
        &e.eigenvectors * d * e.eigenvectors.transpose()
    };
    let s1 = sqrt_psd(&a.sigma);
    let inner = &s1 * &b.sigma * &s1;
    let inner = (&inner + inner.transpose()) * 0.5;
    let tr_sqrt: f64 = inner
        .symmetric_eigen()
        .eigenvalues
        .iter()
        .map(|v| v.max(0.0).sqrt())
        .sum();
    (&a.mu - &b.mu).norm_squared() + a.sigma.trace() + b.sigma.trace() - 2.0 * tr_sqrt
}
