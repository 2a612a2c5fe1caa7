//! The report's figures as SVG strings (plotters' SVG backend: no fonts or system libraries).

use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::history::{block_history, fitness, fitness_series, option_shares};
use crate::lineage::{best_line, edges, fitness_scale, ramp};
use crate::RunData;

pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

const FONT: &str = "sans-serif";

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a plot: {e:?}")
}

/// A colour per initial member or option, distinct for the first dozens.
pub(crate) fn color(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// A tick label: `3` for whole numbers, otherwise up to 3 decimals without trailing zeros.
fn tick(v: &f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `(lo, hi)` of the values with a 5% margin (a unit range around a single value).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

/// Draws one chart into an SVG string: `draw` gets the chart with its mesh already drawn and
/// returns whether its series have legend labels to show.
pub(crate) fn svg(
    size: (u32, u32),
    caption: &str,
    x: (f64, f64),
    y: (f64, f64),
    labels: (&str, &str),
    draw: impl FnOnce(&mut Chart) -> Result<bool>,
) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(labels.0)
            .y_desc(labels.1)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        if draw(&mut chart)? {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font((FONT, 13))
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

fn generation_range(run: &RunData) -> (f64, f64) {
    (0.5, run.generations().max(1) as f64 + 0.5)
}

/// Every member's fitness per generation (grey segments follow parent edges), the generation's
/// median and best, and the best so far.
pub fn fitness_svg(run: &RunData) -> Result<String> {
    let s = fitness_series(run);
    let y = padded(run.trials.iter().filter_map(fitness));
    let x = generation_range(run);
    svg(
        (860, 420),
        "Fitness of every member",
        x,
        y,
        ("generation", "fitness"),
        |c| {
            for t in run.trials.iter().filter(|t| t.spec.generation > 0) {
                let (Some(p), Some(f)) = (t.spec.plan.parent, fitness(t)) else {
                    continue;
                };
                let Some(pf) = run.trial(t.spec.generation - 1, p).and_then(fitness) else {
                    continue;
                };
                let g = t.spec.generation as f64 + 1.0;
                c.draw_series(LineSeries::new([(g - 1.0, pf), (g, f)], BLACK.mix(0.15)))
                    .map_err(err)?;
            }
            c.draw_series(run.trials.iter().filter_map(|t| {
                let f = fitness(t).filter(|f| f.is_finite())?;
                let g = t.spec.generation as f64 + 1.0;
                Some(Circle::new((g, f), 3, color(t.spec.slot).filled()))
            }))
            .map_err(err)?;
            let line = |v: &[Option<f64>]| -> Vec<(f64, f64)> {
                v.iter()
                    .enumerate()
                    .filter_map(|(g, f)| f.map(|f| (g as f64 + 1.0, f)))
                    .collect()
            };
            for (name, values, style) in [
                ("median", &s.median, ShapeStyle::from(&BLUE).stroke_width(2)),
                (
                    "best so far",
                    &s.best_so_far,
                    ShapeStyle::from(&BLACK).stroke_width(3),
                ),
                (
                    "best of generation",
                    &s.best,
                    ShapeStyle::from(&GREEN).stroke_width(2),
                ),
            ] {
                c.draw_series(LineSeries::new(line(values), style))
                    .map_err(err)?
                    .label(name)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            }
            Ok(true)
        },
    )
}

/// Best fitness so far against wall-clock hours since the run started.
pub fn best_so_far_svg(run: &RunData) -> Result<String> {
    let start = run
        .trials
        .iter()
        .filter_map(|t| t.started_at)
        .fold(f64::INFINITY, f64::min);
    let mut done: Vec<(f64, f64)> = run
        .trials
        .iter()
        .filter_map(|t| Some(((t.finished_at? - start) / 3600.0, fitness(t)?)))
        .filter(|(_, f)| f.is_finite())
        .collect();
    done.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best = f64::NEG_INFINITY;
    let mut steps = Vec::new();
    for (h, f) in done {
        if f > best {
            if best.is_finite() {
                steps.push((h, best));
            }
            best = f;
            steps.push((h, f));
        }
    }
    if let Some(&(_, f)) = steps.last() {
        let end = run
            .trials
            .iter()
            .filter_map(|t| t.finished_at)
            .fold(start, f64::max);
        steps.push(((end - start) / 3600.0, f));
    }
    let x = padded(steps.iter().map(|p| p.0).chain([0.0]));
    let y = padded(steps.iter().map(|p| p.1));
    svg(
        (860, 320),
        "Best fitness so far",
        x,
        y,
        ("hours", "fitness"),
        |c| {
            c.draw_series(LineSeries::new(steps, BLACK.stroke_width(2)))
                .map_err(err)?;
            Ok(false)
        },
    )
}

/// The lineage as a generation × slot grid: nodes coloured by fitness (blue worst, yellow best),
/// parent edges grey, donor edges dashed orange, the best-ever member's line thick.
pub fn lineage_svg(run: &RunData) -> Result<String> {
    let n = run.population().max(1);
    let x = generation_range(run);
    let y = (-0.5, n as f64 - 0.5);
    let height = (120 + 28 * n as u32).min(1400);
    let scale = fitness_scale(run);
    let best = best_line(run);
    svg(
        (860, height),
        "Lineage",
        x,
        y,
        ("generation", "slot"),
        |c| {
            let at = |(g, s): (u32, usize)| (g as f64 + 1.0, s as f64);
            for e in edges(run) {
                let pts = [at(e.from), at(e.to)];
                if e.donor {
                    let style = ShapeStyle::from(&RGBColor(217, 95, 2)).stroke_width(2);
                    c.draw_series(DashedLineSeries::new(pts, 5, 4, style))
                        .map_err(err)?;
                } else {
                    let thick = best.contains(&e.from) && best.contains(&e.to);
                    let style = if thick {
                        BLACK.stroke_width(4)
                    } else {
                        BLACK.mix(0.45).stroke_width(1)
                    };
                    c.draw_series(LineSeries::new(pts, style)).map_err(err)?;
                }
            }
            c.draw_series(run.trials.iter().map(|t| {
                let fill = scale(t).map_or(RGBColor(200, 200, 200), |v| {
                    let (r, g, b) = ramp(v);
                    RGBColor(r, g, b)
                });
                Circle::new(at((t.spec.generation, t.spec.slot)), 7, fill.filled())
            }))
            .map_err(err)?;
            Ok(false)
        },
    )
}

/// Stacked bands along a generation axis: `shares[g][k]` of band `k` in generation `g`.
fn stack(
    c: &mut Chart,
    shares: &[Vec<f64>],
    label: impl Fn(usize) -> Option<String>,
) -> Result<()> {
    let bands = shares.first().map_or(0, |s| s.len());
    let mut below = vec![0.0; shares.len()];
    for k in 0..bands {
        let above: Vec<f64> = below.iter().zip(shares).map(|(b, s)| b + s[k]).collect();
        let mut poly: Vec<(f64, f64)> = above
            .iter()
            .enumerate()
            .map(|(g, &v)| (g as f64 + 1.0, v))
            .collect();
        poly.extend(
            below
                .iter()
                .enumerate()
                .rev()
                .map(|(g, &v)| (g as f64 + 1.0, v)),
        );
        if shares.len() == 1 {
            // One generation: a bar instead of a line.
            poly = vec![
                (0.6, below[0]),
                (1.4, below[0]),
                (1.4, above[0]),
                (0.6, above[0]),
            ];
        }
        let fill = color(k);
        let series = c
            .draw_series(std::iter::once(Polygon::new(poly, fill.mix(0.85).filled())))
            .map_err(err)?;
        if let Some(name) = label(k) {
            series
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 8, y + 4)], fill.filled()));
        }
        below = above;
    }
    Ok(())
}

/// PBT-NAS's block history: the share of layers descending from each initial member.
pub fn block_history_svg(run: &RunData) -> Result<String> {
    let shares = block_history(run);
    let x = (1.0, run.generations().max(2) as f64);
    let x = if run.generations() == 1 {
        (0.5, 1.5)
    } else {
        x
    };
    svg(
        (860, 360),
        "Block history: share of layers per initial member",
        x,
        (0.0, 1.0),
        ("generation", "share"),
        |c| {
            stack(c, &shares, |_| None)?;
            Ok(false)
        },
    )
}

/// Option shares of every gene over the generations, one small panel per gene.
pub fn genes_svg(run: &RunData) -> Result<String> {
    let genes = run.space.genes.len();
    let cols = 4usize;
    let rows = genes.div_ceil(cols).max(1);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1000, 190 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let x = if run.generations() <= 1 {
            (0.5, 1.5)
        } else {
            (1.0, run.generations() as f64)
        };
        for (i, area) in root
            .split_evenly((rows, cols))
            .iter()
            .enumerate()
            .take(genes)
        {
            let gene = &run.space.genes[i];
            let mut chart = ChartBuilder::on(area)
                .caption(format!("{i}: {}", gene.name), (FONT, 13))
                .margin(6)
                .x_label_area_size(18)
                .y_label_area_size(28)
                .build_cartesian_2d(x.0..x.1, 0.0..1.0)
                .map_err(err)?;
            chart
                .configure_mesh()
                .light_line_style(WHITE.mix(0.0))
                .x_labels(4)
                .y_labels(3)
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .label_style((FONT, 10))
                .draw()
                .map_err(err)?;
            let shares = option_shares(run, i);
            stack(&mut chart, &shares, |o| Some(gene.options[o].clone()))?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.7))
                .label_font((FONT, 9))
                .legend_area_size(12)
                .margin(2)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}
