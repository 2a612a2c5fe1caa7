//! The Wilcoxon signed-rank test, as `scipy.stats.wilcoxon` computes it with its defaults
//! (zero differences dropped; exact null distribution without ties or zeros; an exact sign-flip
//! permutation test with ties or zeros up to 13 pairs; otherwise the normal approximation with
//! tie correction and no continuity correction). PBT-NAS's `plot/stat_test.py` uses the one-sided
//! form to compare PBT-NAS with each baseline.

use anyhow::{bail, Result};

/// The alternative hypothesis about the differences `x - y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    /// `x` tends to be larger.
    Greater,
    /// `x` tends to be smaller.
    Less,
    TwoSided,
}

/// How the p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Exact,
    Permutation,
    Asymptotic,
}

/// Result of [`signed_rank`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// Sum of the ranks of the positive differences.
    pub r_plus: f64,
    pub p_value: f64,
    pub method: Method,
}

/// Ranks of the values (1-based), ties getting their average rank.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && values[idx[j + 1]] == values[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Complementary error function: series for small arguments, continued fraction for large ones
/// (relative error about 1e-14).
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.5 {
        // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
        }
        return 1.0 - sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), Lentz.
    let tiny = 1e-300;
    let mut f = x;
    let (mut c, mut d) = (x, 0.0);
    for k in 1..300 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / f
}

/// Upper tail of the standard normal.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn tails(p_ge: f64, p_le: f64, alt: Alternative) -> f64 {
    match alt {
        Alternative::Greater => p_ge,
        Alternative::Less => p_le,
        Alternative::TwoSided => (2.0 * p_ge.min(p_le)).min(1.0),
    }
}

/// The paired test on `x - y`.
pub fn signed_rank(x: &[f64], y: &[f64], alt: Alternative) -> Result<TestResult> {
    if x.len() != y.len() {
        bail!(
            "the Wilcoxon signed-rank test pairs samples: got {} and {} values",
            x.len(),
            y.len()
        );
    }
    let all: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let d: Vec<f64> = all.iter().copied().filter(|&v| v != 0.0).collect();
    let n = d.len();
    if n == 0 {
        bail!("every paired difference is zero: the test is undefined");
    }
    let abs: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    let ranks = average_ranks(&abs);
    let r_plus: f64 = d
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let mut sorted = abs.clone();
    sorted.sort_by(f64::total_cmp);
    let ties = sorted.windows(2).any(|w| w[0] == w[1]);
    let zeros = all.len() - n;

    if !ties && zeros == 0 {
        // Counts of subsets of {1..n} by their sum.
        let max = n * (n + 1) / 2;
        let mut counts = vec![0.0f64; max + 1];
        counts[0] = 1.0;
        for k in 1..=n {
            for s in (k..=max).rev() {
                counts[s] += counts[s - k];
            }
        }
        let total = 2f64.powi(n as i32);
        let t = r_plus.round() as usize;
        let p_ge = counts[t..].iter().sum::<f64>() / total;
        let p_le = counts[..=t].iter().sum::<f64>() / total;
        return Ok(TestResult {
            r_plus,
            p_value: tails(p_ge, p_le, alt),
            method: Method::Exact,
        });
    }
    if all.len() <= 13 {
        // Every sign flip of the nonzero differences, equally likely under the null.
        let gamma = 1e-14 * r_plus.abs();
        let (mut ge, mut le) = (0u64, 0u64);
        for mask in 0u64..(1 << n) {
            let s: f64 = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| ranks[i])
                .sum();
            ge += (s >= r_plus - gamma) as u64;
            le += (s <= r_plus + gamma) as u64;
        }
        let total = (1u64 << n) as f64;
        return Ok(TestResult {
            r_plus,
            p_value: tails(ge as f64 / total, le as f64 / total, alt),
            method: Method::Permutation,
        });
    }
    let nf = n as f64;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let j = (i..n).take_while(|&j| sorted[j] == sorted[i]).count();
        tie_term += (j * j * j - j) as f64;
        i += j;
    }
    let mean = nf * (nf + 1.0) / 4.0;
    let se = ((nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie_term / 2.0) / 24.0).sqrt();
    let z = (r_plus - mean) / se;
    Ok(TestResult {
        r_plus,
        p_value: tails(normal_sf(z), normal_sf(-z), alt),
        method: Method::Asymptotic,
    })
}
