//! `pbtnas report`: a static HTML page (no server, no scripts from elsewhere) with the run's
//! figures, lineage, best architecture, its schedule, samples or videos, and the flat exports.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pbtnas_orchestrator::run_dir::RunDir;
use pbtnas_orchestrator::store::describe_plan;
use pbtnas_orchestrator::store::Trial;

use crate::history::{ancestry, fitness, fitness_series};
use crate::run_data::trial_id;
use crate::{export, lineage, plots, RunData};

/// Section ids of the page, in order (tests look for them).
pub const SECTIONS: [&str; 9] = [
    "summary",
    "fitness",
    "best-so-far",
    "lineage",
    "block-history",
    "genes",
    "best-architecture",
    "best-schedule",
    "media",
];

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_fitness(v: Option<f64>) -> String {
    v.map_or("–".into(), |f| format!("{f:.5}"))
}

/// The best architecture as a table: gene, option, the layers it owns, the initial member it
/// descends from.
fn architecture(run: &RunData, best: &Trial) -> String {
    let mut out = String::from(
        "<table><tr><th>#</th><th>gene</th><th>option</th><th>layers</th><th>from initial member</th></tr>\n",
    );
    for (i, gene) in run.space.genes.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td>{i}</td><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td></tr>",
            escape(&gene.name),
            escape(run.space.option(&best.spec.plan.genome, i)),
            escape(&gene.positions.join(", ")),
            best.spec
                .origin
                .get(i)
                .map_or("–".into(), |o| o.to_string()),
        );
    }
    out + "</table>\n"
}

/// Every member made with a donor: its parent, its donor and the genes (with their options) the
/// donor gave.
fn donor_table(run: &RunData) -> String {
    let mut rows = String::new();
    for e in lineage::edges(run).into_iter().filter(|e| e.donor) {
        let Some(child) = run.trial(e.to.0, e.to.1) else {
            continue;
        };
        let genes: Vec<String> = e
            .genes
            .iter()
            .map(|&g| {
                format!(
                    "{}={}",
                    run.space.genes[g].name,
                    run.space.option(&child.spec.plan.genome, g)
                )
            })
            .collect();
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.to.0 + 1,
            e.to.1,
            child.spec.plan.parent.map_or("–".into(), |p| p.to_string()),
            e.from.1,
            escape(&genes.join(", "))
        );
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<details><summary>Members made with a donor, and the genes it gave</summary><table><tr><th>generation</th><th>slot</th><th>parent</th><th>donor</th><th>genes from the donor</th></tr>\n{rows}</table></details>\n"
    )
}

/// The best member's line, generation by generation: how each step's member was made, its
/// fitness, and which genes changed.
fn schedule(run: &RunData, best: &Trial) -> String {
    let mut out = String::from(
        "<table><tr><th>generation</th><th>slot</th><th>made by</th><th>fitness</th><th>genes changed</th></tr>\n",
    );
    let line = ancestry(run, best);
    for (i, t) in line.iter().enumerate() {
        let changed: Vec<String> = match i {
            0 => vec![],
            _ => run
                .space
                .genes
                .iter()
                .enumerate()
                .filter(|(g, _)| {
                    line[i - 1].spec.plan.genome.genes[*g] != t.spec.plan.genome.genes[*g]
                })
                .map(|(g, gene)| {
                    format!(
                        "{}: {} → {}",
                        gene.name,
                        run.space.option(&line[i - 1].spec.plan.genome, g),
                        run.space.option(&t.spec.plan.genome, g)
                    )
                })
                .collect(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            t.spec.generation + 1,
            t.spec.slot,
            escape(&describe_plan(&t.spec)),
            fmt_fitness(fitness(t)),
            escape(&changed.join("; "))
        );
    }
    out + "</table>\n"
}

/// Images the tasks left in `artifacts/`: each generation's best member's sample grid (GAN) or
/// evaluation GIF (RL), and `eval.gif` of `pbtnas eval`, as links from a page in `out`.
fn media(run: &RunData, out: &Path) -> Vec<(String, String)> {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let base = if out.parent().map(canonical) == Some(canonical(&run.dir)) {
        "..".to_string()
    } else {
        canonical(&run.dir).display().to_string()
    };
    let mut out = Vec::new();
    let art = RunDir(&run.dir).artifacts();
    for g in 0..run.generations() {
        let best = run
            .trials
            .iter()
            .filter(|t| t.spec.generation == g)
            .filter_map(|t| fitness(t).map(|f| (t, f)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((t, f)) = best else { continue };
        let stem = format!("gen{:03}_slot{:02}", g + 1, t.spec.slot);
        for (sub, ext) in [("samples", "png"), ("videos", "gif")] {
            if art.join(sub).join(format!("{stem}.{ext}")).exists() {
                out.push((
                    format!("{base}/{}/{sub}/{stem}.{ext}", RunDir::ARTIFACTS),
                    format!(
                        "generation {} best (slot {}, fitness {f:.4})",
                        g + 1,
                        t.spec.slot
                    ),
                ));
            }
        }
    }
    if run.dir.join("eval.gif").exists() {
        out.push((
            format!("{base}/eval.gif"),
            "pbtnas eval: best-ever member".into(),
        ));
    }
    out
}

/// The page's HTML for the folder `out`; figures are referenced as files next to it.
/// The start of a report page up to its heading: the shared style and `title` (HTML).
pub fn head(title: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 1040px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; font-size: 14px; }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
img {{ max-width: 100%; }} figure {{ display: inline-block; margin: 6px; }} figcaption {{ font-size: 12px; }}
pre {{ background: #f6f6f6; padding: 8px; overflow-x: auto; }}
</style></head>
<body>
<h1>{title}</h1>
"#
    )
}

pub fn page(run: &RunData, out: &Path) -> String {
    let s = fitness_series(run);
    let best = run.best();
    let done = run.trials.iter().filter(|t| fitness(t).is_some()).count();
    let failed = run
        .trials
        .iter()
        .filter(|t| t.status == pbtnas_orchestrator::store::TrialStatus::Failed)
        .count();
    let mut h = String::new();
    h.push_str(&head(&format!("pbtnas report: {}", escape(&run.name()))));
    let _ = write!(
        h,
        r#"<section id="summary"><h2>Summary</h2>
<table>
<tr><th>search space</th><td>{space} ({genes} genes, 10^{size:.1} architectures)</td></tr>
<tr><th>generations</th><td>{gens}{state}</td></tr>
<tr><th>population</th><td>{pop}</td></tr>
<tr><th>member-steps</th><td>{done} done, {failed} failed</td></tr>
<tr><th>best of first generation</th><td>{first}</td></tr>
<tr><th>best ever</th><td>{best}</td></tr>
</table></section>
"#,
        space = escape(&run.space.name),
        genes = run.space.genes.len(),
        size = run.space.log10_size(),
        gens = run.generations(),
        state = if run.complete {
            " (complete)"
        } else {
            " (running or stopped)"
        },
        pop = run.population(),
        first = fmt_fitness(s.best.first().copied().flatten()),
        best = best.map_or("–".into(), |b| format!(
            "{} at {} (<code>{}</code>)",
            fmt_fitness(Some(b.fitness())),
            escape(&b.describe()),
            escape(&describe_plan(&b.trial().spec))
        )),
    );
    for (id, title, file, note) in [
        ("fitness", "Fitness over generations", "fitness.svg", "Dots: members (colour = slot); grey segments follow parent edges."),
        ("best-so-far", "Best so far over time", "best_so_far.svg", ""),
        ("lineage", "Lineage", "lineage.svg", "Nodes: trials coloured by fitness (blue worst, yellow best). Grey: parent edges; dashed orange: donor edges (the genes each gave are listed below and in <a href=\"lineage.dot\">lineage.dot</a>); thick: the best-ever member's line."),
        ("block-history", "Block history", "block_history.svg", "Share of all layers descending from each initial member (colour = initial slot)."),
        ("genes", "Option frequencies per gene", "genes.svg", ""),
    ] {
        let extra = if id == "lineage" {
            donor_table(run)
        } else {
            String::new()
        };
        let _ = writeln!(
            h,
            "<section id=\"{id}\"><h2>{title}</h2><p>{note}</p><img src=\"{file}\" alt=\"{title}\">{extra}</section>"
        );
    }
    let _ = writeln!(
        h,
        "<section id=\"best-architecture\"><h2>Best architecture</h2>"
    );
    if let Some(b) = best {
        let t = b.trial();
        let _ = writeln!(
            h,
            "<p>Genome <code>{}</code> ({}).</p>",
            t.spec.plan.genome,
            trial_id(t)
        );
        h.push_str(&architecture(run, t));
    }
    h.push_str("</section>\n<section id=\"best-schedule\"><h2>The best member's line</h2>\n");
    if let Some(b) = best {
        h.push_str(&schedule(run, b.rated()));
    }
    h.push_str("</section>\n<section id=\"media\"><h2>Samples and videos</h2>\n");
    let media = media(run, out);
    if media.is_empty() {
        h.push_str("<p>The task left no images.</p>\n");
    }
    for (src, caption) in media {
        let _ = writeln!(
            h,
            "<figure><img src=\"{src}\" alt=\"{c}\"><figcaption>{c}</figcaption></figure>",
            c = escape(&caption)
        );
    }
    let _ = write!(
        h,
        r#"</section>
<section id="files"><h2>Files</h2><p><a href="metrics.jsonl">metrics.jsonl</a> (every metric of every trial) ·
<a href="population.csv">population.csv</a> (one row per trial) · <a href="lineage.dot">lineage.dot</a> (Graphviz) ·
TensorBoard: <code>tensorboard --logdir {dir}/tensorboard</code></p></section>
<section id="config"><h2>Config</h2><pre>{config}</pre></section>
<script>
window.addEventListener("load", () => {{
  const imgs = Array.from(document.images);
  document.body.dataset.images = imgs.length;
  document.body.dataset.broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).length;
}});
</script>
</body></html>
"#,
        dir = escape(&run.dir.display().to_string()),
        config = escape(&run.config_yaml),
    );
    h
}

/// Writes the report folder (`index.html`, figures, exports, DOT) and returns the page's path.
pub fn write(run: &RunData, out: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    type Figure = fn(&RunData) -> Result<String>;
    let figures: [(&str, Figure); 5] = [
        ("fitness.svg", plots::fitness_svg),
        ("best_so_far.svg", plots::best_so_far_svg),
        ("lineage.svg", plots::lineage_svg),
        ("block_history.svg", plots::block_history_svg),
        ("genes.svg", plots::genes_svg),
    ];
    for (file, draw) in figures {
        std::fs::write(
            out.join(file),
            draw(run).with_context(|| format!("drawing {file}"))?,
        )?;
    }
    std::fs::write(out.join("lineage.dot"), lineage::dot(run))?;
    export::write(run, out)?;
    let index = out.join("index.html");
    std::fs::write(&index, page(run, out))?;
    Ok(index)
}
