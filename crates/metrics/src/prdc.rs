//! Precision and recall of generated samples (Kynkäänniemi et al. 2019, "Improved precision and
//! recall metric", k = 3) and density and coverage (Naeem et al. 2020, "Reliable fidelity and
//! diversity metrics", k = 5), from k-nearest-neighbour balls in feature space. Unlike the
//! Fréchet distance they separate fidelity (precision, density) from diversity (recall,
//! coverage): a mode-collapsed generator keeps a high precision and loses recall and coverage.
//!
//! Conventions (docs/metrics.md, "Precision, recall, density, coverage"): a sample's radius is
//! the distance to its k-th nearest neighbour in its own set, itself excluded; precision and
//! recall count a point inside a ball when its distance is `<=` the radius (the paper's code and
//! torch-fidelity), density and coverage when it is `<` (the `prdc` package).

use anyhow::{bail, Result};
use faer::Mat;

/// Neighbourhood sizes of the two papers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrdcOptions {
    /// k of precision and recall (Kynkäänniemi et al.: 3).
    pub k_precision_recall: usize,
    /// k of density and coverage (Naeem et al.: 5).
    pub k_density_coverage: usize,
}

impl Default for PrdcOptions {
    fn default() -> Self {
        Self {
            k_precision_recall: 3,
            k_density_coverage: 5,
        }
    }
}

/// The four scores of generated features against real ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prdc {
    pub precision: f64,
    pub recall: f64,
    pub density: f64,
    pub coverage: f64,
}

/// Rows per block of the pairwise distances: memory stays at a block × the other set.
const BLOCK: usize = 1024;

/// Calls `visit(i, distances)` for each row `i` of `x` with its Euclidean distances to every row
/// of `y`.
fn for_each_row(x: &Mat<f64>, y: &Mat<f64>, mut visit: impl FnMut(usize, &[f64])) {
    let sq = |m: &Mat<f64>| -> Vec<f64> {
        (0..m.nrows())
            .map(|i| (0..m.ncols()).map(|j| m[(i, j)] * m[(i, j)]).sum())
            .collect()
    };
    let (nx, ny) = (sq(x), sq(y));
    let mut row = vec![0.0; y.nrows()];
    for start in (0..x.nrows()).step_by(BLOCK) {
        let rows = BLOCK.min(x.nrows() - start);
        let g = x.subrows(start, rows) * y.transpose();
        for i in 0..rows {
            for (j, out) in row.iter_mut().enumerate() {
                *out = (nx[start + i] + ny[j] - 2.0 * g[(i, j)]).max(0.0).sqrt();
            }
            visit(start + i, &row);
        }
    }
}

/// Each row's distance to its k-th and k2-th nearest other rows of the same set.
fn radii(x: &Mat<f64>, k: usize, k2: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut b) = (vec![0.0; x.nrows()], vec![0.0; x.nrows()]);
    for_each_row(x, x, |i, row| {
        let mut row = row.to_vec();
        // Position k after sorting is the k-th neighbour: position 0 is the row itself.
        a[i] = *row.select_nth_unstable_by(k, f64::total_cmp).1;
        b[i] = *row.select_nth_unstable_by(k2, f64::total_cmp).1;
    });
    (a, b)
}

fn matrix(rows: &[f32], d: usize) -> Mat<f64> {
    Mat::from_fn(rows.len() / d, d, |i, j| rows[i * d + j] as f64)
}

/// Precision, recall, density and coverage of `fake` against `real` (rows of `d` features).
pub fn prdc(real: &[f32], fake: &[f32], d: usize, opts: PrdcOptions) -> Result<Prdc> {
    if d == 0 || !real.len().is_multiple_of(d) || !fake.len().is_multiple_of(d) {
        bail!("feature sets are not rows of {d} values");
    }
    let (nr, nf) = (real.len() / d, fake.len() / d);
    let (k_pr, k_dc) = (opts.k_precision_recall, opts.k_density_coverage);
    if k_pr == 0 || k_dc == 0 {
        bail!("the neighbourhood sizes must be at least 1");
    }
    let k_max = k_pr.max(k_dc);
    if nr <= k_max || nf <= k_max {
        bail!(
            "k = {k_max} nearest neighbours need more than {k_max} samples in each set \
             (have {nr} real, {nf} generated)"
        );
    }
    let (r, f) = (matrix(real, d), matrix(fake, d));
    let (r_pr, r_dc) = radii(&r, k_pr, k_dc);
    let (f_pr, _) = radii(&f, k_pr, k_pr);
    let (mut recall, mut coverage) = (0usize, 0usize);
    let mut precise = vec![false; nf];
    let mut inside = 0usize;
    for_each_row(&r, &f, |i, row| {
        recall += row.iter().zip(&f_pr).any(|(d, rad)| d <= rad) as usize;
        coverage += row.iter().any(|&d| d < r_dc[i]) as usize;
        for (j, &d) in row.iter().enumerate() {
            precise[j] |= d <= r_pr[i];
            inside += (d < r_dc[i]) as usize;
        }
    });
    let precision = precise.iter().filter(|&&p| p).count();
    Ok(Prdc {
        precision: precision as f64 / nf as f64,
        recall: recall as f64 / nr as f64,
        density: inside as f64 / (k_dc as f64 * nf as f64),
        coverage: coverage as f64 / nr as f64,
    })
}
