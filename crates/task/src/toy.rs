//! A toy task for tests and benchmarks of everything around training: a member is one small
//! weight per searched position, a step sleeps for a set time (or not at all) and adds one to
//! every weight, and the fitness is a fixed function of the genome and the weights. Runs in
//! microseconds, deterministic, exercising inheritance (its weights live under the genes'
//! positions) like a real task.

use std::time::Duration;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::MemberState;
use serde::Deserialize;

use crate::erased::AnyTask;
use crate::kind::{BuildContext, TaskKind};
use crate::task::{Evaluation, Metrics, StepContext, Task};

/// The config section of `kind: toy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToyConfig {
    pub kind: String,
    /// Milliseconds each member-step sleeps (a stand-in for training time).
    #[serde(default)]
    pub step_ms: u64,
    /// Elements of each position's weight.
    #[serde(default = "default_width")]
    pub width: usize,
}

fn default_width() -> usize {
    4
}

/// The toy task over a search space.
pub struct ToyTask {
    pub space: SearchSpace,
    pub step: Duration,
    pub width: usize,
}

/// A toy member: its genome's options and its weights.
pub struct ToyMember {
    genes: Vec<u16>,
    state: MemberState,
}

impl Task for ToyTask {
    type Member = ToyMember;

    fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn init(&self, genome: &Genome, seed: u64) -> Result<ToyMember> {
        let mut state = MemberState::default();
        for (g, gene) in self.space.genes.iter().enumerate() {
            for p in &gene.positions {
                let values: Vec<f32> = (0..self.width)
                    .map(|i| ((seed as usize + 31 * g + i) % 97) as f32 / 97.0)
                    .collect();
                state.weights.insert(
                    format!("{p}.weight"),
                    Tensor::from_vec(values, self.width, &Device::Cpu)?,
                );
            }
        }
        self.load(genome, state)
    }

    fn load(&self, genome: &Genome, state: MemberState) -> Result<ToyMember> {
        Ok(ToyMember {
            genes: genome.genes.clone(),
            state,
        })
    }

    fn save(&self, member: &ToyMember) -> Result<MemberState> {
        Ok(member.state.clone())
    }

    fn train_step(&self, member: &mut ToyMember, _ctx: &StepContext) -> Result<Metrics> {
        std::thread::sleep(self.step);
        for w in member.state.weights.values_mut() {
            *w = (&*w + 1.0)?;
        }
        Ok(Metrics::new())
    }

    /// Fitness: the mean weight (it grows by one per step trained, so inheriting pays), plus a
    /// hundredth of the sum of the genome's option indices (so that the architecture matters),
    /// plus a millionth of the step's seed modulo 1000.
    fn evaluate(&self, member: &mut ToyMember, ctx: &StepContext) -> Result<Evaluation> {
        let mut sum = 0.0;
        let mut n = 0usize;
        for w in member.state.weights.values() {
            sum += w.sum_all()?.to_scalar::<f32>()? as f64;
            n += w.elem_count();
        }
        let mean = if n == 0 { 0.0 } else { sum / n as f64 };
        let genome = member.genes.iter().map(|&g| g as f64).sum::<f64>() * 0.01;
        let fitness = mean + genome + (ctx.seed % 1000) as f64 * 1e-6;
        Ok(Evaluation {
            fitness,
            metrics: Metrics::from([("mean_weight".to_string(), mean)]),
        })
    }
}

/// `kind: toy`: the [`ToyTask`] as an entry of a list of tasks.
pub struct Toy;

impl TaskKind for Toy {
    fn name(&self) -> &'static str {
        "toy"
    }

    fn default_space(&self) -> SearchSpace {
        SearchSpace::from_yaml(TOY_SPACE, "toy.yaml").expect("the toy space parses")
    }

    fn build(
        &self,
        section: &serde_json::Value,
        space: SearchSpace,
        _ctx: &BuildContext,
    ) -> Result<AnyTask> {
        let cfg: ToyConfig =
            serde_json::from_value(section.clone()).context("in the task section (kind: toy)")?;
        Ok(AnyTask::new(ToyTask {
            space,
            step: Duration::from_millis(cfg.step_ms),
            width: cfg.width,
        }))
    }
}

/// Three genes of two to three options over four positions.
pub const TOY_SPACE: &str = "\
name: toy
genes:
  - {name: a, positions: [net.a], options: [x, y]}
  - {name: b, positions: [net.b], options: [x, y, z]}
  - {name: c, positions: [net.c1, net.c2], options: [x, y]}
";
