//! Orchestration overhead and worker scaling, measured on a task whose member-step is a timed
//! sleep: the wall time beyond `generations × rounds × step` is everything but training
//! (leases, checkpoint writes and reads, inheritance, planning, the store).
//!
//! `cargo run --release --example orchestration -- [--store postgres://…] [--svg FILE]`
//! (`scripts/bench/orchestration.sh` runs it on SQLite and PostgreSQL.)

use std::time::{Duration, Instant};

use anyhow::Result;
use candle_core::Device;
use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::progress::Output;
use pbtnas_orchestrator::{RunConfig, RunOptions};
use pbtnas_task::toy::ToyTask;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let store = flag("--store");
    let space =
        SearchSpace::from_yaml(pbtnas_task_regression::DEFAULT_SPACE, "regression-mlp.yaml")?;
    let (population, generations, step) = (24usize, 4u32, Duration::from_millis(500));
    let task = ToyTask {
        space,
        step,
        width: 4096,
    };
    println!(
        "store {}: population {population}, {generations} generations, member-step = sleep {:.1} s",
        store.as_deref().map_or(
            "SQLite".into(),
            pbtnas_orchestrator::store::postgres::redacted
        ),
        step.as_secs_f64()
    );
    println!(
        "{:>8} {:>10} {:>10} {:>16} {:>12}",
        "workers", "wall s", "ideal s", "overhead/gen ms", "of a 60 s step"
    );
    let mut points = Vec::new();
    for workers in [1usize, 2, 4, 8, 24] {
        let dir = tempfile::tempdir()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let cfg = RunConfig::from_yaml(&format!(
            "name: overhead-{workers}-{nanos}\npopulation: {population}\nsteps: {generations}\nworkers: {workers}\nstrategy: {{kind: pbt-nas}}\ntask: {{kind: toy}}\n"
        ))?;
        let opts = RunOptions {
            run_dir: dir.path().to_path_buf(),
            output: Output::Quiet,
            device: Device::Cpu,
            after_generation: None,
            lease_seconds: 60.0,
            store: store.clone(),
            allow_large: false,
            yield_at_barrier: false,
        };
        let start = Instant::now();
        pbtnas_orchestrator::run(&task, &cfg, &opts)?;
        let wall = start.elapsed().as_secs_f64();
        let rounds = population.div_ceil(workers) as f64;
        let ideal = generations as f64 * rounds * step.as_secs_f64();
        let per_gen = (wall - ideal) / generations as f64;
        println!(
            "{workers:>8} {wall:>10.2} {ideal:>10.2} {:>16.1} {:>11.3}%",
            per_gen * 1e3,
            per_gen / 60.0 * 100.0
        );
        points.push((workers as f64, wall, ideal));
    }
    if let Some(path) = flag("--svg") {
        std::fs::write(&path, scaling_svg(&points)?)?;
        println!("wrote {path}");
    }
    Ok(())
}

/// Wall time against workers, measured and ideal, log-log.
fn scaling_svg(points: &[(f64, f64, f64)]) -> Result<String> {
    use plotters::prelude::*;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 400)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<std::io::Error>| anyhow::anyhow!("{e:?}");
        root.fill(&WHITE).map_err(e)?;
        let hi = points.iter().map(|p| p.1.max(p.2)).fold(1.0, f64::max) * 1.3;
        let lo = points.iter().map(|p| p.2).fold(f64::MAX, f64::min) * 0.7;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "24 members, sleep steps: wall time vs workers",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d((0.8f64..30.0).log_scale(), (lo..hi).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("workers")
            .y_desc("wall seconds")
            .draw()
            .map_err(e)?;
        for (name, col, f) in [("measured", RED, 1usize), ("ideal", BLUE, 2)] {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.0, if f == 1 { p.1 } else { p.2 }))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(e)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], col.stroke_width(2)));
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, col.filled())))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE)
            .border_style(BLACK)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(out)
}
