//! `pbtnas compare`: several runs side by side, grouped by config name (seeds of one config form
//! a group), with mean ± std (ddof 0, as the paper reports) and the one-sided Wilcoxon
//! signed-rank test of the first group against each other one, pairing runs by seed order.

use std::fmt::Write as _;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use plotters::prelude::*;

use crate::history::{fitness, fitness_series, median};
use crate::plots::{self, color, err};
use crate::wilcoxon::{signed_rank, Alternative, TestResult};
use crate::RunData;

/// Which number of a run is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Score {
    /// Best fitness of any member at any step (the paper's GAN `best_ever`).
    Best,
    /// Best fitness in the last generation (the paper's RL score).
    FinalBest,
    /// Median fitness in the last generation.
    FinalMedian,
    /// A number from the run's `eval.json` (`pbtnas eval`), e.g. `eval:fid`.
    Eval(String),
}

impl FromStr for Score {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "best" => Score::Best,
            "final-best" => Score::FinalBest,
            "final-median" => Score::FinalMedian,
            _ => match s.strip_prefix("eval:") {
                Some(key) => Score::Eval(key.to_string()),
                None => {
                    bail!("unknown score {s:?}: use best, final-best, final-median or eval:<key>")
                }
            },
        })
    }
}

/// One run's score and its best-so-far curve.
#[derive(Debug, Clone)]
pub struct RunScore {
    pub run: String,
    pub group: String,
    pub seed: u64,
    pub score: f64,
    pub best_so_far: Vec<Option<f64>>,
}

/// Summary of a group of runs.
#[derive(Debug, Clone)]
pub struct GroupStats {
    pub group: String,
    pub n: usize,
    pub mean: f64,
    /// Population standard deviation (ddof 0).
    pub std: f64,
}

/// The first group against another.
#[derive(Debug, Clone)]
pub struct PairedTest {
    pub group: String,
    pub result: Result<TestResult, String>,
}

/// Everything `compare` prints and plots.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub runs: Vec<RunScore>,
    pub groups: Vec<GroupStats>,
    pub tests: Vec<PairedTest>,
    pub higher_is_better: bool,
}

/// Mean and population std (ddof 0).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// A run's score.
pub fn run_score(run: &RunData, score: &Score) -> Result<f64> {
    let last = run
        .generations()
        .checked_sub(1)
        .ok_or_else(|| anyhow!("{} has no trials", run.name()))?;
    let final_values: Vec<f64> = run
        .trials
        .iter()
        .filter(|t| t.spec.generation == last)
        .filter_map(fitness)
        .collect();
    let value = match score {
        Score::Best => run.trials.iter().filter_map(fitness).reduce(f64::max),
        Score::FinalBest => final_values.iter().copied().reduce(f64::max),
        Score::FinalMedian => median(&final_values),
        Score::Eval(key) => eval_value(run, key)?,
    };
    value.ok_or_else(|| anyhow!("run {} has no {score:?} score", run.name()))
}

/// `key` of the run's `eval.json`, or of the file another metric's `pbtnas eval` wrote
/// (`eval_fd_classifier.json` for `fd_classifier`, …).
fn eval_value(run: &RunData, key: &str) -> Result<Option<f64>> {
    let mut found = false;
    for file in ["eval.json".to_string(), format!("eval_{key}.json")] {
        let Ok(text) = std::fs::read_to_string(run.dir.join(&file)) else {
            continue;
        };
        found = true;
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{} of {}", file, run.name()))?;
        if let Some(v) = json.get(key).and_then(|v| v.as_f64()) {
            return Ok(Some(v));
        }
    }
    if !found {
        bail!(
            "{} has no eval.json: run `pbtnas eval {}` first",
            run.name(),
            run.dir.display()
        );
    }
    Ok(None)
}

/// Scores, groups and tests of the runs, in the order the groups first appear.
pub fn compare(runs: &[RunData], score: &Score, higher_is_better: bool) -> Result<Comparison> {
    let mut scores = Vec::new();
    for run in runs {
        let cfg: serde_json::Value = serde_norway::from_str(&run.config_yaml).unwrap_or_default();
        scores.push(RunScore {
            run: run.name(),
            group: cfg
                .get("name")
                .and_then(|v| v.as_str())
                .map_or_else(|| run.name(), String::from),
            seed: cfg.get("seed").and_then(|v| v.as_u64()).unwrap_or(0),
            score: run_score(run, score)?,
            best_so_far: fitness_series(run).best_so_far,
        });
    }
    let mut names: Vec<String> = Vec::new();
    for s in &scores {
        if !names.contains(&s.group) {
            names.push(s.group.clone());
        }
    }
    let members = |g: &str| -> Vec<f64> {
        let mut m: Vec<&RunScore> = scores.iter().filter(|s| s.group == g).collect();
        m.sort_by_key(|s| s.seed);
        m.iter().map(|s| s.score).collect()
    };
    let groups = names
        .iter()
        .map(|g| {
            let v = members(g);
            let (mean, std) = mean_std(&v);
            GroupStats {
                group: g.clone(),
                n: v.len(),
                mean,
                std,
            }
        })
        .collect();
    let alt = if higher_is_better {
        Alternative::Greater
    } else {
        Alternative::Less
    };
    let tests = names
        .iter()
        .skip(1)
        .map(|g| PairedTest {
            group: g.clone(),
            result: signed_rank(&members(&names[0]), &members(g), alt).map_err(|e| e.to_string()),
        })
        .collect();
    Ok(Comparison {
        runs: scores,
        groups,
        tests,
        higher_is_better,
    })
}

/// The comparison as a text table.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32} {:>4}  {:>22}",
        "group", "runs", "mean ± std (ddof 0)"
    );
    for g in &c.groups {
        let _ = writeln!(
            out,
            "{:<32} {:>4}  {:>22}",
            g.group,
            g.n,
            format!("{:.4} ± {:.4}", g.mean, g.std)
        );
    }
    if let Some(first) = c.groups.first() {
        let side = if c.higher_is_better {
            "greater"
        } else {
            "less"
        };
        for t in &c.tests {
            let _ = match &t.result {
                Ok(r) => writeln!(
                    out,
                    "Wilcoxon signed-rank, {} vs {} (one-sided, {side}): p = {:.4} (R+ = {}, {:?})",
                    first.group, t.group, r.p_value, r.r_plus, r.method
                ),
                Err(e) => writeln!(
                    out,
                    "Wilcoxon signed-rank, {} vs {}: not computed ({e})",
                    first.group, t.group
                ),
            };
        }
    }
    out
}

/// Mean best-so-far curve of each group with a ±std band.
pub fn svg(c: &Comparison) -> Result<String> {
    let gens = c
        .runs
        .iter()
        .map(|r| r.best_so_far.len())
        .max()
        .unwrap_or(1);
    let mut curves = Vec::new();
    for (i, g) in c.groups.iter().enumerate() {
        let mut pts = Vec::new();
        for k in 0..gens {
            let v: Vec<f64> = c
                .runs
                .iter()
                .filter(|r| r.group == g.group)
                .filter_map(|r| r.best_so_far.get(k).copied().flatten())
                .collect();
            if !v.is_empty() {
                let (m, s) = mean_std(&v);
                // A non-finite value would break the plot's axis range.
                if m.is_finite() && s.is_finite() {
                    pts.push((k as f64 + 1.0, m, s));
                }
            }
        }
        curves.push((i, g.group.clone(), pts));
    }
    let lo = curves
        .iter()
        .flat_map(|c| c.2.iter().map(|p| p.1 - p.2))
        .fold(f64::INFINITY, f64::min);
    let hi = curves
        .iter()
        .flat_map(|c| c.2.iter().map(|p| p.1 + p.2))
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let pad = 0.05 * (hi - lo);
    let x = (0.5, gens as f64 + 0.5);
    let caption = "Best fitness so far: mean ± std over runs";
    plots::svg(
        (860, 420),
        caption,
        x,
        (lo - pad, hi + pad),
        ("generation", "fitness"),
        |chart| {
            for (i, name, pts) in curves {
                let col = color(i);
                let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1 + p.2)).collect();
                band.extend(pts.iter().rev().map(|p| (p.0, p.1 - p.2)));
                chart
                    .draw_series(std::iter::once(Polygon::new(band, col.mix(0.2).filled())))
                    .map_err(err)?;
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|p| (p.0, p.1)),
                        col.stroke_width(2),
                    ))
                    .map_err(err)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], col.stroke_width(2))
                    });
            }
            Ok(true)
        },
    )
}
