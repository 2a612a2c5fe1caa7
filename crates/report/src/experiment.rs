//! `pbtnas experiment report`: an experiment's table as the paper prints it (mean ± std with
//! ddof 0 over seeds, the one-sided Wilcoxon signed-rank test of the baseline against each
//! other entry, paired by seed), the best-so-far curves per entry with a ±std band, in Markdown,
//! JSON, CSV and HTML. A partly finished experiment gives the table of its finished runs and lists
//! what is missing.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use pbtnas_orchestrator::experiment::{run_dir, Experiment};

use crate::compare::{
    mean_std, run_score, svg, Comparison, GroupStats, PairedTest, RunScore, Score,
};
use crate::history::fitness_series;
use crate::html::{escape, head};
use crate::wilcoxon::{signed_rank, Alternative};
use crate::RunData;

/// What became of one run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// No run directory yet.
    NotStarted,
    /// Started, not complete: generations done of those planned.
    Unfinished { generations: u32 },
    /// Complete, with its score.
    Done(f64),
    /// Complete or not, it cannot be scored (e.g. no `eval.json` for an `eval:` score).
    Unscored(String),
}

/// One cell of the grid.
#[derive(Debug, Clone)]
pub struct GridRun {
    pub entry: String,
    pub seed: u64,
    pub state: RunState,
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub entry: String,
    /// Finished runs of the seeds planned.
    pub n: usize,
    pub planned: usize,
    pub mean: f64,
    pub std: f64,
    /// The baseline against this entry; `None` for the baseline itself.
    pub test: Option<Result<(f64, usize), String>>,
}

/// Everything the report prints.
#[derive(Debug, Clone)]
pub struct ExperimentReport {
    pub name: String,
    pub baseline: String,
    pub score: String,
    pub higher_is_better: bool,
    pub rows: Vec<Row>,
    pub grid: Vec<GridRun>,
    /// The finished runs as a comparison (for the curves).
    pub comparison: Comparison,
}

/// Reads every run of the experiment in `exp_dir` and computes the table.
pub fn build(exp: &Experiment, exp_dir: &Path) -> Result<ExperimentReport> {
    let score: Score = exp.score.parse()?;
    let higher = !exp.lower_is_better;
    let mut grid = Vec::new();
    let mut runs = Vec::new();
    // The baseline first, then the other entries in the file's order.
    let mut entries: Vec<&str> = vec![exp.baseline()];
    entries.extend(
        exp.entries
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| *n != exp.baseline()),
    );
    for entry in &entries {
        for &seed in &exp.seeds {
            let dir = run_dir(exp_dir, entry, seed);
            let state = if !dir.exists() {
                RunState::NotStarted
            } else {
                match RunData::load(&dir) {
                    Err(e) => RunState::Unscored(format!("{e:#}")),
                    Ok(run) if !run.complete => RunState::Unfinished {
                        generations: run.generations(),
                    },
                    Ok(run) => match run_score(&run, &score) {
                        Ok(v) => {
                            runs.push(RunScore {
                                run: run.name(),
                                group: entry.to_string(),
                                seed,
                                score: v,
                                best_so_far: fitness_series(&run).best_so_far,
                            });
                            RunState::Done(v)
                        }
                        Err(e) => RunState::Unscored(format!("{e:#}")),
                    },
                }
            };
            grid.push(GridRun {
                entry: entry.to_string(),
                seed,
                state,
            });
        }
    }
    let scores = |entry: &str| -> Vec<(u64, f64)> {
        grid.iter()
            .filter(|g| g.entry == entry)
            .filter_map(|g| match g.state {
                RunState::Done(v) => Some((g.seed, v)),
                _ => None,
            })
            .collect()
    };
    let alt = if higher {
        Alternative::Greater
    } else {
        Alternative::Less
    };
    let base = scores(exp.baseline());
    let mut rows = Vec::new();
    for entry in &entries {
        let mine = scores(entry);
        let values: Vec<f64> = mine.iter().map(|s| s.1).collect();
        let (mean, std) = if values.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            mean_std(&values)
        };
        let test = (*entry != exp.baseline()).then(|| {
            // Paired by seed: the seeds both have finished.
            let pairs: Vec<(f64, f64)> = base
                .iter()
                .filter_map(|(s, b)| mine.iter().find(|m| m.0 == *s).map(|m| (*b, m.1)))
                .collect();
            let (x, y): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
            signed_rank(&x, &y, alt)
                .map(|r| (r.p_value, pairs.len()))
                .map_err(|e| e.to_string())
        });
        rows.push(Row {
            entry: entry.to_string(),
            n: values.len(),
            planned: exp.seeds.len(),
            mean,
            std,
            test,
        });
    }
    let comparison = Comparison {
        groups: rows
            .iter()
            .filter(|r| r.n > 0)
            .map(|r| GroupStats {
                group: r.entry.clone(),
                n: r.n,
                mean: r.mean,
                std: r.std,
            })
            .collect(),
        tests: Vec::<PairedTest>::new(),
        runs,
        higher_is_better: higher,
    };
    Ok(ExperimentReport {
        name: exp.name.clone(),
        baseline: exp.baseline().to_string(),
        score: exp.score.clone(),
        higher_is_better: higher,
        rows,
        grid,
        comparison,
    })
}

/// The smallest one-sided p-value the exact signed-rank test reaches with `n` pairs: 2^-n.
pub fn min_p(n: usize) -> f64 {
    0.5f64.powi(n as i32)
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

fn p_cell(test: &Option<Result<(f64, usize), String>>) -> String {
    match test {
        None => "baseline".into(),
        Some(Ok((p, n))) => format!("{p:.4} (n={n})"),
        Some(Err(e)) => format!("– ({e})"),
    }
}

fn missing(r: &ExperimentReport) -> Vec<String> {
    r.grid
        .iter()
        .filter_map(|g| {
            let what = match &g.state {
                RunState::Done(_) => return None,
                RunState::NotStarted => "not started".to_string(),
                RunState::Unfinished { generations } => {
                    format!("unfinished ({generations} generations)")
                }
                RunState::Unscored(e) => format!("no score: {e}"),
            };
            Some(format!("{} seed {}: {what}", g.entry, g.seed))
        })
        .collect()
}

fn caveats(r: &ExperimentReport) -> Vec<String> {
    let mut out = vec![format!(
        "score: {} ({} is better); mean ± std with ddof 0 over seeds, as the paper; p: one-sided Wilcoxon signed-rank test that {} is better than the entry, paired by seed.",
        r.score,
        if r.higher_is_better { "higher" } else { "lower" },
        r.baseline
    )];
    let fewest = r
        .rows
        .iter()
        .filter_map(|row| match &row.test {
            Some(Ok((_, n))) => Some(*n),
            _ => None,
        })
        .min();
    if let Some(n) = fewest.filter(|&n| n < 5) {
        out.push(format!(
            "with {n} paired seeds the exact test's p cannot go below {} (2^-{n}); 5 seeds are needed to reach p < 0.05.",
            min_p(n)
        ));
    }
    out
}

/// The table in Markdown.
pub fn markdown(r: &ExperimentReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### {}\n", r.name);
    let _ = writeln!(
        s,
        "| entry | runs | {} (mean ± std) | p vs {} |",
        r.score, r.baseline
    );
    let _ = writeln!(s, "|---|---|---|---|");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {}/{} | {} ± {} | {} |",
            row.entry,
            row.n,
            row.planned,
            fmt(row.mean),
            fmt(row.std),
            p_cell(&row.test)
        );
    }
    s.push('\n');
    for c in caveats(r) {
        let _ = writeln!(s, "- {c}");
    }
    let miss = missing(r);
    if !miss.is_empty() {
        let _ = writeln!(s, "- missing ({}): {}", miss.len(), miss.join("; "));
    }
    s
}

/// One line per run: entry, seed, state, score.
pub fn csv(r: &ExperimentReport) -> String {
    let mut s = String::from("entry,seed,state,score\n");
    for g in &r.grid {
        let (state, score) = match &g.state {
            RunState::Done(v) => ("done", format!("{v}")),
            RunState::NotStarted => ("not-started", String::new()),
            RunState::Unfinished { .. } => ("unfinished", String::new()),
            RunState::Unscored(_) => ("unscored", String::new()),
        };
        let _ = writeln!(s, "{},{},{state},{score}", g.entry, g.seed);
    }
    s
}

/// The HTML page: the table, the curves and what is missing.
pub fn html(r: &ExperimentReport) -> Result<String> {
    let mut h = String::new();
    h.push_str(&head(&format!("pbtnas experiment: {}", escape(&r.name))));
    let _ = write!(
        h,
        r#"<table>
<tr><th>entry</th><th>runs</th><th>{score} (mean ± std)</th><th>p vs {base}</th></tr>
"#,
        score = escape(&r.score),
        base = escape(&r.baseline)
    );
    for row in &r.rows {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}/{}</td><td>{} ± {}</td><td>{}</td></tr>",
            escape(&row.entry),
            row.n,
            row.planned,
            fmt(row.mean),
            fmt(row.std),
            escape(&p_cell(&row.test))
        );
    }
    h.push_str("</table>\n<ul>\n");
    for c in caveats(r) {
        let _ = writeln!(h, "<li>{}</li>", escape(&c));
    }
    h.push_str("</ul>\n");
    if !r.comparison.runs.is_empty() {
        h.push_str("<h2>Best fitness so far</h2>\n");
        h.push_str(&svg(&r.comparison)?);
    }
    let miss = missing(r);
    if !miss.is_empty() {
        let _ = writeln!(h, "<h2>Missing ({})</h2>\n<ul>", miss.len());
        for m in miss {
            let _ = writeln!(h, "<li>{}</li>", escape(&m));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// The table as JSON (full precision, for scripts): rows and runs.
pub fn json(r: &ExperimentReport) -> serde_json::Value {
    let num = |v: f64| {
        if v.is_finite() {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    let rows: Vec<serde_json::Value> = r
        .rows
        .iter()
        .map(|row| {
            let (p, pairs, error) = match &row.test {
                Some(Ok((p, n))) => (num(*p), serde_json::json!(n), serde_json::Value::Null),
                Some(Err(e)) => (serde_json::Value::Null, serde_json::Value::Null, e.as_str().into()),
                None => (serde_json::Value::Null, serde_json::Value::Null, serde_json::Value::Null),
            };
            serde_json::json!({"entry": row.entry, "runs": row.n, "planned": row.planned,
                "mean": num(row.mean), "std": num(row.std), "p": p, "pairs": pairs, "test_error": error})
        })
        .collect();
    let runs: Vec<serde_json::Value> = r
        .grid
        .iter()
        .map(|g| {
            let score = match g.state {
                RunState::Done(v) => num(v),
                _ => serde_json::Value::Null,
            };
            serde_json::json!({"entry": g.entry, "seed": g.seed, "score": score})
        })
        .collect();
    serde_json::json!({"name": r.name, "score": r.score, "higher_is_better": r.higher_is_better,
        "baseline": r.baseline, "rows": rows, "runs": runs})
}

/// Writes `report.md`, `report.json`, `runs.csv`, `report.html` and the curves alone
/// (`curves.svg`) into `out`; returns the Markdown.
pub fn write(r: &ExperimentReport, out: &Path) -> Result<String> {
    std::fs::create_dir_all(out)?;
    let md = markdown(r);
    std::fs::write(out.join("report.md"), &md)?;
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&json(r))?,
    )?;
    std::fs::write(out.join("runs.csv"), csv(r))?;
    std::fs::write(out.join("report.html"), html(r)?)?;
    if !r.comparison.runs.is_empty() {
        std::fs::write(out.join("curves.svg"), svg(&r.comparison)?)?;
    }
    Ok(md)
}
