//! The GAN task (docs/gan.md, "Training"): hinge loss, D every iteration and G every
//! `n_critic`-th with twice the batch, Adam(0, 0.9, eps 1e-4, lr 2e-4), an EMA of G's parameters
//! (0.999) after every G step, fitness from the EMA generator. The EMA generator is the member's
//! copy-as-is shadow.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor, Var};
use pbtnas_data::{ImageSet, Prefetcher};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_metrics::StatsAccumulator;
use pbtnas_nn::ops::soft_update;
use pbtnas_nn::{Adam, AdamConfig, MemberState, Params, PhaseTimer, WeightMap};
use pbtnas_task::{Evaluation, Metrics, StepContext, Task};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::fitness::{FitnessMetric, Scorer};
use crate::model::{Discriminator, Generator, GeneratorOptions, Geometry};

/// The built-in spaces.
pub const GAN_HARD_SPACE: &str = include_str!("../../../configs/spaces/gan_hard.yaml");
pub const GAN_SPACE: &str = include_str!("../../../configs/spaces/gan.yaml");

/// Model sizes in a config: `cifar`, `stl`, or explicit channels and bottom width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GeometryConfig {
    Named(String),
    Small { gf: usize, df: usize, bottom: usize },
}

/// The `task:` section for `kind: gan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GanConfig {
    pub kind: String,
    /// `sprites` (embedded), `cifar10`, `stl10`, `fashion-mnist`, `mnist`, `folder:<path>`.
    pub dataset: String,
    pub data_dir: PathBuf,
    pub geometry: GeometryConfig,
    /// D batch; G batches are twice as large.
    pub batch_size: usize,
    pub n_critic: usize,
    /// D iterations per PBT step (default 200 when `epochs_per_step` is not set).
    pub iters_per_step: Option<usize>,
    /// Or the step in epochs of the training set, as the paper (10): `ceil(epochs ·
    /// ceil(images / batch))` iterations, epochs as the original's data loader makes them: a
    /// short last batch (40 images on STL-10), and the G-step counter restarting each epoch
    /// (the paper's 1,250 iterations and 250 G steps per epoch on CIFAR-10, 821 and 165 on
    /// STL-10).
    pub epochs_per_step: Option<f64>,
    pub adam: AdamConfig,
    pub ema: f64,
    /// What members are ranked by: `fd-pixels8` (the CPU proxy, default) or `fid`.
    pub fitness: FitnessMetric,
    /// Generated images per evaluation (the paper: FID-5k during the search).
    pub eval_samples: usize,
    /// FID's reference statistics, e.g. published ones (TTUR / clean-fid `.npz` with `mu`,
    /// `sigma`); default `<data dir>/stats/<dataset>-inception.npz`. KID and precision/recall
    /// use the features `<stem>-features.npy` beside it when there are some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_stats: Option<PathBuf>,
    /// The SHA-256 `ref_stats` must have (lowercase hex): pins a downloaded published file, so a
    /// different or damaged one is refused instead of scored against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_stats_sha256: Option<String>,
    /// Reproduce the original generator's in-place skip add (default, for comparable numbers).
    pub inplace_skip_quirk: bool,
    /// The Gan space on STL-10 (`if_stl_projections`): two projections, z[0:60] to the bottom
    /// width and z[60:120] to twice it, instead of three.
    pub stl_projections: bool,
}

impl Default for GanConfig {
    fn default() -> Self {
        Self {
            kind: "gan".into(),
            dataset: "sprites".into(),
            data_dir: PathBuf::from("data"),
            geometry: GeometryConfig::Small {
                gf: 32,
                df: 32,
                bottom: 2,
            },
            batch_size: 32,
            n_critic: 5,
            iters_per_step: None,
            epochs_per_step: None,
            adam: AdamConfig {
                lr: 2e-4,
                beta1: 0.0,
                beta2: 0.9,
                eps: 1e-4,
                weight_decay: 0.0,
            },
            ema: 0.999,
            fitness: FitnessMetric::FdPixels8,
            eval_samples: 1000,
            ref_stats: None,
            ref_stats_sha256: None,
            inplace_skip_quirk: true,
            stl_projections: false,
        }
    }
}

/// A member: G and D over one parameter store, their optimizers, and the EMA of G.
pub struct Member {
    params: Params,
    genome: Genome,
    gen: Generator,
    disc: Discriminator,
    opt_g: Adam,
    opt_d: Adam,
    /// The EMA of G's trainable tensors, updated in place (copies, never G's own storage).
    ema: BTreeMap<String, Var>,
    iters: u64,
}

impl Member {
    /// The trainable parameters (no batch-norm statistics or spectral-norm vectors).
    pub fn trainable(&self) -> Result<WeightMap> {
        let mut w = self.params.weights()?;
        w.retain(|n, _| !is_buffer(n));
        Ok(w)
    }
}

/// The GAN task.
pub struct GanTask {
    cfg: GanConfig,
    geo: Geometry,
    space: SearchSpace,
    data: Arc<ImageSet>,
    scorer: Scorer,
    device: Device,
    /// D iterations per PBT step.
    iters: usize,
    /// Batches per epoch when the step is counted in epochs.
    epoch_batches: Option<usize>,
}

/// Copies of a member's EMA tensors (the live ones change in place at every G step).
fn shadows(m: &Member) -> Result<WeightMap> {
    m.ema
        .iter()
        .map(|(n, v)| Ok((n.clone(), v.as_tensor().detach().copy()?)))
        .collect()
}

fn is_buffer(name: &str) -> bool {
    name.ends_with("running_mean")
        || name.ends_with("running_var")
        || name.ends_with("weight_u")
        || name.ends_with("weight_v")
}

fn noise(n: usize, d: usize, seed: u64, device: &Device) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f32> = (0..n * d)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    Ok(Tensor::from_vec(v, (n, d), device)?)
}

impl GanTask {
    /// Builds the task: loads the dataset and what the fitness needs.
    pub fn new(section: &serde_json::Value, space: SearchSpace, device: &Device) -> Result<Self> {
        let cfg: GanConfig =
            serde_json::from_value(section.clone()).context("in the task section (kind: gan)")?;
        let geo = match &cfg.geometry {
            GeometryConfig::Named(n) if n == "cifar" => Geometry::CIFAR,
            GeometryConfig::Named(n) if n == "stl" => Geometry::STL,
            GeometryConfig::Named(n) => {
                anyhow::bail!("unknown geometry '{n}' (cifar, stl, or {{gf, df, bottom}})")
            }
            GeometryConfig::Small { gf, df, bottom } => Geometry::small(*gf, *df, *bottom),
        };
        let size = geo.image_size();
        let data = pbtnas_data::load(&cfg.dataset, &cfg.data_dir, size)?.to_rgb();
        anyhow::ensure!(
            data.h == size && data.w == size,
            "dataset {} has {}×{} images, the geometry makes {size}×{size}",
            cfg.dataset,
            data.h,
            data.w
        );
        let iters = match (cfg.iters_per_step, cfg.epochs_per_step) {
            (Some(_), Some(_)) => {
                anyhow::bail!("set either iters_per_step or epochs_per_step, not both")
            }
            (None, Some(e)) if e > 0.0 => {
                (e * data.len().div_ceil(cfg.batch_size.max(1)) as f64).ceil() as usize
            }
            (None, Some(e)) => anyhow::bail!("epochs_per_step must be positive, got {e}"),
            (Some(i), None) => i,
            (None, None) => 200,
        };
        anyhow::ensure!(
            cfg.batch_size > 0 && cfg.n_critic > 0 && iters > 0,
            "batch_size, n_critic and the step's iterations must be at least 1"
        );
        if let Some(h) = &cfg.ref_stats_sha256 {
            anyhow::ensure!(
                cfg.ref_stats.is_some(),
                "task.ref_stats_sha256 pins the file task.ref_stats names, but ref_stats is not set"
            );
            anyhow::ensure!(
                h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()),
                "task.ref_stats_sha256 must be 64 hex digits, got '{h}'"
            );
        }
        let scorer = Scorer::new(
            cfg.fitness,
            &data,
            (&cfg.data_dir, &cfg.dataset),
            cfg.ref_stats
                .as_deref()
                .map(|p| (p, cfg.ref_stats_sha256.as_deref())),
            device,
        )?;
        let (cfg_epochs, data_len, batch_size) =
            (cfg.epochs_per_step.is_some(), data.len(), cfg.batch_size);
        Ok(Self {
            cfg,
            geo,
            space,
            data: Arc::new(data),
            scorer,
            device: device.clone(),
            iters,
            epoch_batches: cfg_epochs.then(|| data_len.div_ceil(batch_size)),
        })
    }

    /// The built-in GanHard space.
    pub fn default_space() -> SearchSpace {
        SearchSpace::from_yaml(GAN_HARD_SPACE, "configs/spaces/gan_hard.yaml")
            .expect("the built-in space is valid")
    }

    /// D iterations per PBT step.
    pub fn iters_per_step(&self) -> usize {
        self.iters
    }

    fn gen_options(&self) -> GeneratorOptions {
        GeneratorOptions {
            inplace_skip_quirk: self.cfg.inplace_skip_quirk,
            stl_projections: self.cfg.stl_projections,
        }
    }

    fn build(&self, genome: &Genome, params: Params) -> Result<Member> {
        let gen = Generator::new(&self.space, genome, self.geo, &params, self.gen_options())?;
        let disc = Discriminator::new(&self.space, genome, self.geo, &params)?;
        let split = |prefix: &str| {
            params
                .vars()
                .into_iter()
                .filter(|(n, _)| n.starts_with(prefix) && !is_buffer(n))
                .collect::<Vec<_>>()
        };
        let opt_g = Adam::new(split("gen."), self.cfg.adam);
        let opt_d = Adam::new(split("disc."), self.cfg.adam);
        let ema = params
            .vars()
            .into_iter()
            .filter(|(n, _)| n.starts_with("gen.") && !is_buffer(n))
            .map(|(n, v)| Ok((n, Var::from_tensor(&v.as_tensor().detach())?)))
            .collect::<Result<_>>()?;
        Ok(Member {
            params,
            genome: genome.clone(),
            gen,
            disc,
            opt_g,
            opt_d,
            ema,
            iters: 0,
        })
    }

    /// The fitness metric's distance (FD-pixels8 or FID, see [`GanConfig::fitness`]) of
    /// `samples` images of the EMA generator from noise seeded by `seed`, their Inception Score
    /// by `is_protocol` when the Inception weights have the classifier head (10 splits, fewer
    /// below 10 samples), and (`with_kid`, costlier) KID against the real features `ref-stats`
    /// kept; `progress` gets the number of images done after every chunk (the paper's IS samples
    /// count after the distance's).
    pub fn sample_metrics(
        &self,
        m: &Member,
        samples: usize,
        seed: u64,
        with_kid: bool,
        is_protocol: IsProtocol,
        mut progress: impl FnMut(usize),
    ) -> Result<SampleMetrics> {
        let mut acc = StatsAccumulator::new(self.scorer.dim());
        let mut logits = Vec::new();
        let real = self.scorer.real_features().filter(|_| with_kid);
        let mut kept = Vec::new();
        let mut done = 0;
        while done < samples {
            let n = (samples - done).min(self.scorer.chunk());
            let z = noise(n, self.geo.latent, seed ^ done as u64, &self.device)?;
            let (feats, l) = self.scorer.features(&self.ema_images(m, &z)?)?;
            acc.add(&feats)?;
            if real.is_some() {
                kept.extend_from_slice(&feats);
            }
            logits.extend(l.unwrap_or_default());
            done += n;
            progress(done);
        }
        let mut opts = pbtnas_metrics::IsOptions {
            splits: samples.min(10),
            ..Default::default()
        };
        if is_protocol == IsProtocol::Paper && !logits.is_empty() {
            // A second set of samples, as the original's evaluate_final_gan_inception draws.
            logits.clear();
            let total = pbtnas_metrics::PAPER_IS_SAMPLES;
            let mut done = 0;
            while done < total {
                let n = (total - done).min(self.scorer.chunk());
                let z = noise(n, self.geo.latent, !seed ^ done as u64, &self.device)?;
                let l = self.scorer.uint8_logits(&self.ema_images(m, &z)?)?;
                logits.extend(l.unwrap_or_default());
                done += n;
                progress(samples + done);
            }
            opts = pbtnas_metrics::IsOptions::torchmetrics(seed);
        }
        let is = if logits.is_empty() {
            None
        } else {
            Some(pbtnas_metrics::inception_score(
                &logits,
                pbtnas_metrics::inception::CLASSES,
                opts,
            )?)
        };
        // Subsets of up to 1,000 from each side; an unbiased estimate needs at least 2.
        let d = self.scorer.dim();
        let kid = match real.map(|r| (r, 1000.min(r.len() / d).min(samples))) {
            Some((real, subset_size)) if subset_size >= 2 => {
                let opts = pbtnas_metrics::KidOptions {
                    subset_size,
                    ..Default::default()
                };
                Some(pbtnas_metrics::kernel_distance(real, &kept, d, opts)?)
            }
            _ => None,
        };
        let prdc = match real {
            Some(real) if kid.is_some() && samples > 5 && real.len() / d > 5 => {
                let cap = PRDC_SAMPLES * d;
                Some(pbtnas_metrics::prdc(
                    &real[..real.len().min(cap)],
                    &kept[..kept.len().min(cap)],
                    d,
                    Default::default(),
                )?)
            }
            _ => None,
        };
        Ok(SampleMetrics {
            distance: self.scorer.distance(&acc)?,
            is,
            kid,
            prdc,
        })
    }

    /// The fitness metric's name in the run's metrics (`eval/<name>`).
    /// SHA-256 of FID's reference statistics file (FID fitness only).
    pub fn reference_sha256(&self) -> Option<&str> {
        self.scorer.reference_sha256()
    }

    pub fn metric_name(&self) -> &'static str {
        self.scorer.name()
    }

    fn ema_images(&self, m: &Member, z: &Tensor) -> Result<Tensor> {
        let mut w = m.params.weights()?;
        w.retain(|n, _| n.starts_with("gen."));
        w.extend(shadows(m)?);
        let p = Params::from_weights(&w, 0, &self.device)?;
        let g = Generator::new(&self.space, &m.genome, self.geo, &p, self.gen_options())?;
        g.forward(z, false, 0)
    }

    /// `iters` training iterations of `m` (a member-step trains `self.iters`).
    fn train_iterations(&self, m: &mut Member, ctx: &StepContext, iters: usize) -> Result<Metrics> {
        let c = &self.cfg;

        // In epochs, as the original's loader: a short last batch, G steps counted per epoch.
        let batches = Prefetcher::new(
            self.data.clone(),
            c.batch_size,
            ctx.seed,
            4,
            self.epoch_batches.is_some(),
        );
        let size = self.geo.image_size();
        // Losses stay on the device until the end: reading one every iteration would make every
        // iteration wait for the GPU.
        let (mut d_last, mut g_last) = (None, None);
        let g_params: Vec<(String, Var)> = m
            .params
            .vars()
            .into_iter()
            .filter(|(n, _)| m.ema.contains_key(n))
            .collect();
        let mut prof = PhaseTimer::from_env(&self.device);
        let mut g_steps = 0usize;
        for it in 0..iters {
            ctx.progress.set(it as u64, iters as u64);
            let seed = ctx.seed.wrapping_add(it as u64 * 7919);
            let in_epoch = self.epoch_batches.map_or(it, |nb| it % nb);
            let images = batches.next_batch();
            let n = images.len() / (3 * size * size);
            let real = Tensor::from_vec(images, (n, 3, size, size), &self.device)?;
            prof.mark("batch")?;
            let fake = m
                .gen
                .forward(&noise(n, self.geo.latent, seed, &self.device)?, true, seed)?
                .detach();
            prof.mark("g_sample")?;
            let d_loss = ((1.0 - m.disc.forward(&real, true)?)?.relu()?.mean_all()?
                + (1.0 + m.disc.forward(&fake, true)?)?.relu()?.mean_all()?)?;
            prof.mark("d_forward")?;
            let grads = d_loss.backward()?;
            prof.mark("d_backward")?;
            m.opt_d.step(&grads)?;
            prof.mark("d_adam")?;
            // Detached: the loss would otherwise keep the step's whole graph alive.
            d_last = Some(d_loss.detach());
            if in_epoch.is_multiple_of(c.n_critic) {
                let fake = m.gen.forward(
                    &noise(2 * n, self.geo.latent, seed ^ 1, &self.device)?,
                    true,
                    seed ^ 1,
                )?;
                let g_loss = m.disc.forward(&fake, true)?.mean_all()?.neg()?;
                prof.mark("g_forward")?;
                let grads = g_loss.backward()?;
                prof.mark("g_backward")?;
                m.opt_g.step(&grads)?;
                prof.mark("g_adam")?;
                g_last = Some(g_loss.detach());
                g_steps += 1;
                for (name, var) in &g_params {
                    soft_update(&m.ema[name], var.as_tensor(), 1.0 - c.ema)?;
                }
                prof.mark("ema")?;
            }
            m.iters += 1;
            // Freed device memory returns to the pool at synchronisation points; without one per
            // iteration the pool grows with every iteration of the step.
            self.device.synchronize()?;
        }
        let scalar = |t: Option<Tensor>| -> Result<f64> {
            Ok(t.map(|t| t.to_scalar::<f32>())
                .transpose()?
                .map_or(0.0, f64::from))
        };
        let mut out: Metrics = [
            ("train/d_loss".to_string(), scalar(d_last)?),
            ("train/g_loss".to_string(), scalar(g_last)?),
            ("train/iters".to_string(), m.iters as f64),
            ("train/g_steps".to_string(), g_steps as f64),
        ]
        .into();
        out.extend(prof.metrics(iters));
        Ok(out)
    }
}

/// How [`GanTask::sample_metrics`] computes the Inception Score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsProtocol {
    /// On the distance's own samples: contiguous splits, std with ddof 0 (the OpenAI code,
    /// torch-fidelity); no extra images.
    SameSamples,
    /// As the paper reported it: torchmetrics' `InceptionScore` over 390 × 128 = 49,920 further
    /// samples quantised to uint8, shuffled, 10 splits, std with ddof 1.
    Paper,
}

/// Samples of each side in precision/recall/density/coverage (the papers' 10k; quadratic cost).
const PRDC_SAMPLES: usize = 10_000;

/// What [`GanTask::sample_metrics`] measures on a member's samples.
#[derive(Debug, Clone, Copy)]
pub struct SampleMetrics {
    /// The fitness metric's distance (FID with `fitness: fid`).
    pub distance: f64,
    /// Inception Score `(mean, std)` over 10 splits, when the weights have the classifier head.
    pub is: Option<(f64, f64)>,
    /// KID `(mean, std)` over 100 subsets of up to 1,000, when `ref-stats` kept real features.
    pub kid: Option<(f64, f64)>,
    /// Precision, recall, density and coverage of up to 10,000 samples against up to 10,000
    /// real features, with KID.
    pub prdc: Option<pbtnas_metrics::Prdc>,
}

impl Task for GanTask {
    type Member = Member;

    fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn init(&self, genome: &Genome, seed: u64) -> Result<Member> {
        self.build(genome, Params::new(seed, &self.device))
    }

    fn load(&self, genome: &Genome, state: MemberState) -> Result<Member> {
        let mut state = state.to_device(&self.device)?;
        let mut m = self.build(
            genome,
            Params::from_weights(&state.weights, 0, &self.device)?,
        )?;
        m.params.check_matches(&state.weights)?;
        for (name, t) in std::mem::take(&mut state.shadows) {
            if let Some(shadow) = m.ema.get_mut(&name) {
                *shadow = Var::from_tensor(&t.detach())?;
            }
        }
        let vars = |prefix: &str| {
            m.params
                .vars()
                .into_iter()
                .filter(|(n, _)| n.starts_with(prefix) && !is_buffer(n))
                .collect::<Vec<_>>()
        };
        m.opt_g = Adam::with_state(
            vars("gen."),
            self.cfg.adam,
            state.optimizers.remove("gen").unwrap_or_default(),
        )?
        .0;
        m.opt_d = Adam::with_state(
            vars("disc."),
            self.cfg.adam,
            state.optimizers.remove("disc").unwrap_or_default(),
        )?
        .0;
        m.iters = state.meta["iters"].as_u64().unwrap_or(0);
        Ok(m)
    }

    fn save(&self, m: &Member) -> Result<MemberState> {
        Ok(MemberState {
            weights: m.params.weights()?,
            shadows: shadows(m)?,
            optimizers: [
                ("gen".to_string(), m.opt_g.state()?),
                ("disc".to_string(), m.opt_d.state()?),
            ]
            .into(),
            meta: serde_json::json!({ "iters": m.iters }),
            data: Default::default(),
        })
    }

    fn train_step(&self, m: &mut Member, ctx: &StepContext) -> Result<Metrics> {
        self.train_iterations(m, ctx, self.iters)
    }

    /// A step's time from 4 timed iterations (after 2 to warm up) and one evaluation.
    fn probe_step_seconds(&self, m: &mut Member, ctx: &StepContext) -> Result<Option<f64>> {
        let timed = 4;
        self.train_iterations(m, ctx, 2)?;
        let t = std::time::Instant::now();
        self.train_iterations(m, ctx, timed)?;
        let per_iteration = t.elapsed().as_secs_f64() / timed as f64;
        let t = std::time::Instant::now();
        self.evaluate(m, ctx)?;
        Ok(Some(
            per_iteration * self.iters as f64 + t.elapsed().as_secs_f64(),
        ))
    }

    fn evaluate(&self, m: &mut Member, ctx: &StepContext) -> Result<Evaluation> {
        let sampled = self.sample_metrics(
            m,
            self.cfg.eval_samples,
            ctx.seed ^ 0xe7a1,
            false,
            IsProtocol::SameSamples,
            |_| {},
        )?;
        let (fd, is) = (sampled.distance, sampled.is);
        // A sample grid from a fixed noise, comparable across members and steps.
        let grid = self.ema_images(m, &noise(64, self.geo.latent, 0, &self.device)?)?;
        save_grid(
            &grid,
            &ctx.artifacts.join(format!(
                "samples/gen{:03}_slot{:02}.png",
                ctx.generation + 1,
                ctx.slot
            )),
        )?;
        Ok(Evaluation {
            fitness: -fd,
            // IS comes with FID when the Inception weights have the classifier head.
            metrics: [(format!("eval/{}", self.metric_name()), fd)]
                .into_iter()
                .chain(is.map(|(mean, _)| ("eval/is".to_string(), mean)))
                .collect(),
        })
    }
}

/// Writes `(64, 3, s, s)` images in [-1, 1] as an 8×8 PNG grid.
pub fn save_grid(images: &Tensor, path: &std::path::Path) -> Result<()> {
    let (n, _, s, _) = images.dims4()?;
    let v = images.flatten_all()?.to_vec1::<f32>()?;
    let data: Vec<u8> = v
        .iter()
        .map(|x| ((x + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8)
        .collect();
    let set = ImageSet {
        c: 3,
        h: s,
        w: s,
        data,
        labels: None,
    };
    let cols = 8.min(n);
    let (w, h, rgb) = set.grid(cols, n.div_ceil(cols));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    image::RgbImage::from_raw(w as u32, h as u32, rgb)
        .context("grid size")?
        .save(path)?;
    Ok(())
}
