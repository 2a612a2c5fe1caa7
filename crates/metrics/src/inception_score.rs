//! The Inception Score from classifier logits: `exp(E_x KL(p(y|x) ‖ p(y)))` per split, mean and
//! standard deviation over the splits (docs/metrics.md, "Inception Score"). In f64 with a stable
//! log-softmax, over all classes given (1008 for the TF Inception, whose logits are taken without
//! the fc bias).

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::mean_std;

/// How the samples are split.
#[derive(Debug, Clone, Copy)]
pub struct IsOptions {
    /// Contiguous chunks `[i·N/splits, (i+1)·N/splits)` (10 in every reference).
    pub splits: usize,
    /// Shuffle the rows first with this seed (torch-fidelity and torchmetrics shuffle; the
    /// OpenAI code does not).
    pub shuffle_seed: Option<u64>,
    /// Delta degrees of freedom of the std over the splits: 0 (the OpenAI code, torch-fidelity)
    /// or 1 (torchmetrics' `InceptionScore`, which the paper used).
    pub ddof: usize,
}

impl Default for IsOptions {
    fn default() -> Self {
        Self {
            splits: 10,
            shuffle_seed: None,
            ddof: 0,
        }
    }
}

/// The images the paper's IS was computed on: the original's final evaluation feeds torchmetrics
/// 390 batches of 128 generated images (50,000 // 128), quantised to uint8.
pub const PAPER_IS_SAMPLES: usize = 390 * 128;

impl IsOptions {
    /// torchmetrics' `InceptionScore` as the paper ran it: the rows shuffled (with `seed`; torch's
    /// `randperm` draws cannot be reproduced), 10 splits, std with ddof 1.
    pub fn torchmetrics(seed: u64) -> Self {
        Self {
            splits: 10,
            shuffle_seed: Some(seed),
            ddof: 1,
        }
    }
}

/// `(mean, std)` of the split scores (std with `opts.ddof`) for `logits` of
/// `logits.len() / classes` samples stored row by row.
pub fn inception_score(logits: &[f32], classes: usize, opts: IsOptions) -> Result<(f64, f64)> {
    if classes == 0 || !logits.len().is_multiple_of(classes) {
        bail!("{} logits are not rows of {classes} classes", logits.len());
    }
    let n = logits.len() / classes;
    if opts.splits == 0 || n < opts.splits {
        bail!("{n} samples cannot make {} splits", opts.splits);
    }
    let mut order: Vec<usize> = (0..n).collect();
    if let Some(seed) = opts.shuffle_seed {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    // log p(y|x) per row.
    let log_p = |i: usize| -> Vec<f64> {
        let row = &logits[i * classes..(i + 1) * classes];
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let lse = max
            + row
                .iter()
                .map(|&v| (v as f64 - max).exp())
                .sum::<f64>()
                .ln();
        row.iter().map(|&v| v as f64 - lse).collect()
    };
    let scores: Vec<f64> = (0..opts.splits)
        .map(|s| {
            let rows: Vec<Vec<f64>> = order[s * n / opts.splits..(s + 1) * n / opts.splits]
                .iter()
                .map(|&i| log_p(i))
                .collect();
            let m = rows.len() as f64;
            let log_mean: Vec<f64> = (0..classes)
                .map(|y| (rows.iter().map(|r| r[y].exp()).sum::<f64>() / m).ln())
                .collect();
            let kl: f64 = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .zip(&log_mean)
                        .map(|(lp, lm)| lp.exp() * (lp - lm))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / m;
            kl.exp()
        })
        .collect();
    let (mean, std) = mean_std(&scores);
    let k = scores.len() as f64;
    Ok(match opts.ddof {
        0 => (mean, std),
        d if (d as f64) < k => (mean, std * (k / (k - d as f64)).sqrt()),
        d => bail!("std with ddof {d} needs more than {d} splits"),
    })
}
