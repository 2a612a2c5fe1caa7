//! The lineage graph: trials as nodes (generation × slot), parent edges solid, donor edges
//! dashed and labelled with the genes taken from the donor; the best-ever member's line bold.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::history::{ancestry, donor_slot, fitness};
use crate::run_data::trial_id;
use crate::RunData;

/// One edge into a trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// (0-based generation, slot) of the source trial.
    pub from: (u32, usize),
    pub to: (u32, usize),
    pub donor: bool,
    /// Gene indices the donor edge carried.
    pub genes: Vec<usize>,
}

/// Every parent and donor edge of the run.
pub fn edges(run: &RunData) -> Vec<Edge> {
    let mut out = Vec::new();
    for t in run.trials.iter().filter(|t| t.spec.generation > 0) {
        let to = (t.spec.generation, t.spec.slot);
        let prev = t.spec.generation - 1;
        if let Some(p) = t.spec.plan.parent {
            out.push(Edge {
                from: (prev, p),
                to,
                donor: false,
                genes: Vec::new(),
            });
        }
        if let Some(d) = donor_slot(t) {
            out.push(Edge {
                from: (prev, d),
                to,
                donor: true,
                genes: t.spec.plan.replaced.clone(),
            });
        }
    }
    out
}

/// The trials on the best-ever member's line, as (generation, slot).
pub fn best_line(run: &RunData) -> HashSet<(u32, usize)> {
    run.best()
        .map(|b| {
            ancestry(run, b.rated())
                .iter()
                .map(|t| (t.spec.generation, t.spec.slot))
                .collect()
        })
        .unwrap_or_default()
}

/// A colour from blue (worst) to yellow (best) for a value in [0, 1].
pub fn ramp(x: f64) -> (u8, u8, u8) {
    let x = x.clamp(0.0, 1.0);
    let stops = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let pos = x * (stops.len() - 1) as f64;
    let i = (pos.floor() as usize).min(stops.len() - 2);
    let f = pos - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    (
        mix(stops[i].0, stops[i + 1].0),
        mix(stops[i].1, stops[i + 1].1),
        mix(stops[i].2, stops[i + 1].2),
    )
}

/// Fitness scaled to [0, 1] over all finished trials of the run (`None` if it did not finish).
pub fn fitness_scale(run: &RunData) -> impl Fn(&pbtnas_orchestrator::store::Trial) -> Option<f64> {
    let values: Vec<f64> = run.trials.iter().filter_map(fitness).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    move |t| fitness(t).map(|f| if hi > lo { (f - lo) / (hi - lo) } else { 1.0 })
}

/// The lineage as Graphviz DOT (`dot -Tsvg lineage.dot > lineage.svg`).
pub fn dot(run: &RunData) -> String {
    let scale = fitness_scale(run);
    let best = best_line(run);
    let mut out = String::from(
        "digraph lineage {\n  rankdir=LR;\n  node [shape=box, style=filled, fontname=\"Helvetica\"];\n",
    );
    for g in 0..run.generations() {
        let _ = write!(out, "  {{ rank=same;");
        for t in run.trials.iter().filter(|t| t.spec.generation == g) {
            let _ = write!(out, " {};", trial_id(t));
        }
        let _ = writeln!(out, " }}");
    }
    for t in &run.trials {
        let (r, g, b) = scale(t).map_or((200, 200, 200), ramp);
        let fit = t
            .fitness
            .map_or("failed".to_string(), |f| format!("{f:.4}"));
        let pen = if best.contains(&(t.spec.generation, t.spec.slot)) {
            3
        } else {
            1
        };
        let font = if scale(t).unwrap_or(0.0) > 0.6 {
            "black"
        } else {
            "white"
        };
        let _ = writeln!(
            out,
            "  {} [label=\"gen {} slot {}\\n{fit}\", fillcolor=\"#{r:02x}{g:02x}{b:02x}\", fontcolor={font}, penwidth={pen}];",
            trial_id(t),
            t.spec.generation + 1,
            t.spec.slot
        );
    }
    for e in edges(run) {
        let id = |(g, s): (u32, usize)| format!("g{:03}_s{s:02}", g + 1);
        let on_best = best.contains(&e.from) && best.contains(&e.to) && !e.donor;
        let style = if e.donor {
            let names: Vec<&str> = e
                .genes
                .iter()
                .map(|&g| run.space.genes[g].name.as_str())
                .collect();
            format!(
                "style=dashed, color=\"#d95f02\", label=\"{}\"",
                names.join("\\n")
            )
        } else if on_best {
            "penwidth=3".to_string()
        } else {
            String::new()
        };
        let _ = writeln!(out, "  {} -> {} [{style}];", id(e.from), id(e.to));
    }
    out.push_str("}\n");
    out
}
