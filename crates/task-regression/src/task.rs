//! The regression task: config, members, and its `Task` implementation.

use anyhow::{Context, Result};
use candle_core::{Device, Module, Tensor};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::{Adam, AdamConfig, MemberState, Params};
use pbtnas_task::{Evaluation, Metrics, StepContext, Task};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{DataConfig, Dataset};
use crate::model::Mlp;

/// The built-in search space (`configs/spaces/regression-mlp.yaml`).
pub const DEFAULT_SPACE: &str = include_str!("../../../configs/spaces/regression-mlp.yaml");

/// The `task:` section of a run config for `kind: regression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegressionConfig {
    pub kind: String,
    /// Width of every hidden layer.
    pub width: usize,
    /// Adam iterations per PBT step.
    pub iters_per_step: usize,
    pub batch_size: usize,
    pub adam: AdamConfig,
    pub data: DataConfig,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        Self {
            kind: "regression".into(),
            width: 32,
            iters_per_step: 100,
            batch_size: 64,
            adam: AdamConfig {
                lr: 3e-3,
                ..Default::default()
            },
            data: DataConfig::default(),
        }
    }
}

/// One member: its model over its parameters, and its optimizer.
pub struct Member {
    params: Params,
    model: Mlp,
    opt: Adam,
    iters: u64,
}

/// A candle MLP regression task whose layer ops and activations are searched.
pub struct RegressionTask {
    cfg: RegressionConfig,
    space: SearchSpace,
    data: Dataset,
    device: Device,
}

const OPTIMIZER: &str = "net";

impl RegressionTask {
    /// Builds the task from its config section and a search space.
    pub fn new(section: &serde_json::Value, space: SearchSpace, device: &Device) -> Result<Self> {
        let cfg: RegressionConfig = serde_json::from_value(section.clone())
            .context("in the task section (kind: regression)")?;
        anyhow::ensure!(
            cfg.batch_size > 0 && cfg.width > 0,
            "batch_size and width must be positive"
        );
        let device = device.clone();
        let data = Dataset::generate(&cfg.data, &device)?;
        Ok(Self {
            cfg,
            space,
            data,
            device,
        })
    }

    /// The built-in search space.
    pub fn default_space() -> SearchSpace {
        SearchSpace::from_yaml(DEFAULT_SPACE, "configs/spaces/regression-mlp.yaml")
            .expect("the built-in space is valid")
    }

    fn model(&self, genome: &Genome, params: &Params) -> Result<Mlp> {
        Mlp::new(&self.space, genome, self.cfg.width, params)
    }

    fn mse(&self, member: &Member, x: &Tensor, y: &Tensor) -> Result<f64> {
        let pred = member.model.forward(x)?;
        Ok((pred - y)?.sqr()?.mean_all()?.to_scalar::<f32>()? as f64)
    }
}

impl Task for RegressionTask {
    type Member = Member;

    fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn init(&self, genome: &Genome, seed: u64) -> Result<Member> {
        let params = Params::new(seed, &self.device);
        let model = self.model(genome, &params)?;
        let opt = Adam::new(params.vars(), self.cfg.adam);
        Ok(Member {
            params,
            model,
            opt,
            iters: 0,
        })
    }

    fn load(&self, genome: &Genome, state: MemberState) -> Result<Member> {
        let mut state = state.to_device(&self.device)?;
        let params = Params::from_weights(&state.weights, 0, &self.device)?;
        let model = self.model(genome, &params)?;
        params.check_matches(&state.weights)?;
        let saved = state.optimizers.remove(OPTIMIZER).unwrap_or_default();
        let (opt, _fresh) = Adam::with_state(params.vars(), self.cfg.adam, saved)?;
        let iters = state.meta["iters"].as_u64().unwrap_or(0);
        Ok(Member {
            params,
            model,
            opt,
            iters,
        })
    }

    fn save(&self, m: &Member) -> Result<MemberState> {
        Ok(MemberState {
            weights: m.params.weights()?,
            shadows: Default::default(),
            optimizers: [(OPTIMIZER.to_string(), m.opt.state()?)].into(),
            meta: serde_json::json!({ "iters": m.iters }),
            data: Default::default(),
        })
    }

    fn train_step(&self, m: &mut Member, ctx: &StepContext) -> Result<Metrics> {
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let n = self.data.train.x.dim(0)? as u32;
        let mut last = 0.0;
        for i in 0..self.cfg.iters_per_step {
            ctx.progress.set(i as u64, self.cfg.iters_per_step as u64);
            let idx: Vec<u32> = (0..self.cfg.batch_size)
                .map(|_| rng.random_range(0..n))
                .collect();
            let idx = Tensor::new(idx.as_slice(), &self.device)?;
            let x = self.data.train.x.index_select(&idx, 0)?;
            let y = self.data.train.y.index_select(&idx, 0)?;
            let loss = (m.model.forward(&x)? - y)?.sqr()?.mean_all()?;
            m.opt.step(&loss.backward()?)?;
            last = loss.to_scalar::<f32>()? as f64;
            m.iters += 1;
        }
        Ok([
            ("train/loss".to_string(), last),
            ("train/iters".to_string(), m.iters as f64),
        ]
        .into())
    }

    fn evaluate(&self, m: &mut Member, _ctx: &StepContext) -> Result<Evaluation> {
        let mse = self.mse(m, &self.data.test.x, &self.data.test.y)?;
        let var = {
            let y = &self.data.test.y;
            y.broadcast_sub(&y.mean_all()?)?
                .sqr()?
                .mean_all()?
                .to_scalar::<f32>()? as f64
        };
        let metrics = [
            ("eval/mse".to_string(), mse),
            ("eval/r2".to_string(), 1.0 - mse / var),
        ]
        .into();
        Ok(Evaluation {
            fitness: -mse,
            metrics,
        })
    }
}
