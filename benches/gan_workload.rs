//! One GanHard member of the benchmark genome (`configs/gan/bench_genome.txt`) on the embedded
//! sprites at a given geometry, shared by the criterion bench (`benches/gan_step.rs`) and the
//! side-by-side timer (`examples/gan_step.rs`); `scripts/bench/gan_torch.py` builds the same networks in
//! PyTorch.

use std::sync::OnceLock;

use candle_core::Device;
use pbtnas_gan::task::Member;
use pbtnas_gan::GanTask;
use pbtnas_orchestrator::{Metrics, StepContext, Task};

pub const BENCH_GENOME: &str = include_str!("../configs/gan/bench_genome.txt");

/// A task training `iters` iterations per step at `geometry` (`cifar`, `stl` or `gf,df,bottom`)
/// with D batch `batch` and a G step every `n_critic`, and a member of the benchmark genome.
pub fn gan_member(
    geometry: &str,
    batch: usize,
    n_critic: usize,
    iters: usize,
    device: &Device,
) -> anyhow::Result<(GanTask, Member)> {
    let geometry = match geometry.split(',').collect::<Vec<_>>()[..] {
        [gf, df, bottom] => {
            serde_json::json!({"gf": gf.parse::<usize>()?, "df": df.parse::<usize>()?, "bottom": bottom.parse::<usize>()?})
        }
        _ => serde_json::json!(geometry),
    };
    let section = serde_json::json!({
        "kind": "gan", "dataset": "sprites", "geometry": geometry,
        "batch_size": batch, "n_critic": n_critic, "iters_per_step": iters, "eval_samples": 64,
    });
    let task = GanTask::new(&section, GanTask::default_space(), device)?;
    let genome = task.space().parse_genome(BENCH_GENOME)?;
    let member = task.init(&genome, 1)?;
    Ok((task, member))
}

/// Runs one PBT step (the task's `iters_per_step` iterations) inside a rayon pool, as the
/// runner's workers do (ops called from outside a pool pay a thread wake-up each); returns the
/// step's metrics.
pub fn step(task: &GanTask, member: &mut Member, seed: u64) -> anyhow::Result<Metrics> {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .build()
            .expect("thread pool")
    });
    let ctx = StepContext {
        generation: 0,
        slot: 0,
        seed,
        artifacts: std::env::temp_dir(),
        progress: Default::default(),
    };
    pool.install(|| task.train_step(member, &ctx))
}
