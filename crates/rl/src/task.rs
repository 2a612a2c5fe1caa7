//! DrQ-v2 as a PBT-NAS task (docs/rl.md): a member is an agent and its replay buffer; a PBT step
//! is `frames_per_step` frames of acting and updating; fitness is the mean return of
//! `eval_episodes` deterministic episodes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use candle_core::Device;
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::{derive_seed, AdamConfig, MemberState, Params, PhaseTimer};
use pbtnas_task::{Evaluation, Metrics, StepContext, Task};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::agent::{stddev, Agent, AgentSpec};
use crate::config::{ChildReplay, ReplayMode, RlConfig};
use crate::env::AgentEnv;
use crate::nets::{Arch, ObsShape};
use crate::replay_buffer::{Episode, Recorder, ReplayBuffer};

/// The built-in 36-gene DrQ-v2 space.
pub const RL_SPACE: &str = include_str!("../../../configs/spaces/rl.yaml");

/// Seed purposes within a member-step.
const EPISODE: u64 = 1;
const EVAL: u64 = 2;

/// A member: the agent, its own episodes, and its life's counters.
pub struct Member {
    pub agent: Agent,
    pub replay: ReplayBuffer,
    /// Agent steps taken (frames / action repeat): drives exploration and the stddev schedule.
    pub steps: u64,
    pub updates: u64,
}

pub struct RlTask {
    cfg: RlConfig,
    space: SearchSpace,
    device: Device,
    /// The shape of one stored frame.
    frame: ObsShape,
    action_dim: usize,
    /// The run's shared pool (`replay: shared`).
    pool: Option<Mutex<ReplayBuffer>>,
    population: usize,
}

impl RlTask {
    pub fn new(section: &serde_json::Value, space: SearchSpace, device: &Device) -> Result<Self> {
        let cfg: RlConfig =
            serde_json::from_value(section.clone()).context("in the task section (kind: rl)")?;
        ensure!(
            cfg.action_repeat > 0
                && cfg.frame_stack > 0
                && cfg.batch_size > 0
                && cfg.nstep > 0
                && cfg.update_every > 0,
            "action_repeat, frame_stack, batch_size, nstep and update_every must be at least 1"
        );
        ensure!(
            cfg.frames_per_step >= cfg.action_repeat as u64,
            "frames_per_step ({}) is less than one agent step",
            cfg.frames_per_step
        );
        stddev(&cfg.stddev_schedule, 0)?;
        let probe = AgentEnv::new(&cfg)?;
        let (frame, action_dim) = (probe.frame_shape(), probe.action_dim());
        let pool = (cfg.replay == ReplayMode::Shared).then(|| {
            Mutex::new(ReplayBuffer::new(
                frame,
                cfg.frame_stack,
                action_dim,
                cfg.replay_size,
            ))
        });
        let task = Self {
            cfg,
            space,
            device: device.clone(),
            frame,
            action_dim,
            pool,
            population: 1,
        };
        // Fail on a space that is not the DrQ-v2 one now, not in the first member.
        if task.cfg.original.is_none() {
            let genome = task.space.genome(vec![0; task.space.len()])?;
            Arch::from_genome(&task.space, &genome)?;
        }
        Ok(task)
    }

    /// The built-in DrQ-v2 space.
    pub fn default_space() -> SearchSpace {
        SearchSpace::from_yaml(RL_SPACE, "configs/spaces/rl.yaml")
            .expect("the built-in space is valid")
    }

    pub fn config(&self) -> &RlConfig {
        &self.cfg
    }

    fn arch(&self, genome: &Genome) -> Result<Arch> {
        match self.cfg.original {
            Some(feature_dim) => Ok(Arch::original(feature_dim)),
            None => Arch::from_genome(&self.space, genome),
        }
    }

    fn spec(&self) -> AgentSpec {
        let obs = match self.frame {
            ObsShape::Pixels { c, h, w } => ObsShape::Pixels {
                c: c * self.cfg.frame_stack,
                h,
                w,
            },
            ObsShape::State(d) => ObsShape::State(d * self.cfg.frame_stack),
        };
        AgentSpec {
            obs,
            action_dim: self.action_dim,
            hidden_dim: self.cfg.hidden_dim,
            adam: AdamConfig {
                lr: self.cfg.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            critic_tau: self.cfg.critic_tau,
            stddev_clip: self.cfg.stddev_clip,
        }
    }

    /// The population sharing the pool (`replay: shared`): each member then keeps (and saves
    /// with its checkpoint) only its share `replay_size / population` of its own episodes, so
    /// the members' saved data together hold about one pool's worth.
    pub fn with_population(mut self, population: usize) -> Self {
        self.population = population.max(1);
        self
    }

    fn empty_replay(&self) -> ReplayBuffer {
        let capacity = match self.pool {
            Some(_) => self.cfg.replay_size.div_ceil(self.population),
            None => self.cfg.replay_size,
        };
        ReplayBuffer::new(self.frame, self.cfg.frame_stack, self.action_dim, capacity)
    }

    /// Stores a finished episode in the member's buffer and, if shared, in the pool.
    fn store(&self, m: &mut Member, e: Arc<Episode>) -> Result<()> {
        if let Some(pool) = &self.pool {
            pool.lock().expect("replay pool lock").push(e.clone())?;
        }
        m.replay.push(e)?;
        Ok(())
    }

    fn stacked(&self, m: &Member, rec: &Recorder, buf: &mut Vec<f32>) {
        buf.clear();
        let e = rec.episode();
        m.replay.obs_into(e, e.len(), (0, 0), buf);
    }

    /// Runs `episodes` deterministic episodes; returns their returns and, if `video`, the
    /// frames of the first.
    pub fn evaluate_returns(
        &self,
        m: &Member,
        episodes: usize,
        seed: u64,
        video: bool,
    ) -> Result<(Vec<f64>, Vec<pbtnas_env::render::Image>)> {
        let mut env = AgentEnv::new(&self.cfg)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let std = stddev(&self.cfg.stddev_schedule, m.steps)?;
        let (mut returns, mut frames, mut obs) = (Vec::new(), Vec::new(), Vec::new());
        for ep in 0..episodes {
            let mut rec = Recorder::new(0, env.reset(Some(derive_seed(seed, &[ep as u64])))?);
            let record = video && ep == 0;
            if record {
                frames.push(env.render(self.cfg.image_size.max(64)));
            }
            let mut total = 0.0;
            loop {
                self.stacked(m, &rec, &mut obs);
                let a = m.agent.act(&obs, std, true, &mut rng)?;
                let t = env.step(&a)?;
                total += t.reward;
                if record {
                    frames.push(env.render(self.cfg.image_size.max(64)));
                }
                if t.done {
                    break;
                }
                rec.add(&a, t.reward, &t.frame);
            }
            returns.push(total);
        }
        Ok((returns, frames))
    }
}

impl Task for RlTask {
    /// A member's replay buffer at capacity: a frame, an action and a reward per transition.
    fn grown_state_bytes(&self) -> u64 {
        let capacity = self.empty_replay().capacity as u64;
        capacity * (self.frame.frame_bytes() + 4 * self.action_dim + 4) as u64
    }

    type Member = Member;

    fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn init(&self, genome: &Genome, seed: u64) -> Result<Member> {
        let agent = Agent::new(
            &self.arch(genome)?,
            self.spec(),
            Params::new(seed, &self.device),
            None,
            Default::default(),
        )?;
        Ok(Member {
            agent,
            replay: self.empty_replay(),
            steps: 0,
            updates: 0,
        })
    }

    fn load(&self, genome: &Genome, mut state: MemberState) -> Result<Member> {
        let data = std::mem::take(&mut state.data);
        let mut state = state.to_device(&self.device)?;
        let params = Params::from_weights(&state.weights, 0, &self.device)?;
        let target = (!state.shadows.is_empty())
            .then(|| Params::from_weights(&state.shadows, 0, &self.device))
            .transpose()?;
        let mut opt = |name: &str| state.optimizers.remove(name).unwrap_or_default();
        let states = [opt("encoder"), opt("actor"), opt("critic")];
        let agent = Agent::new(&self.arch(genome)?, self.spec(), params, target, states)?;
        agent.params.check_matches(&state.weights)?;
        if !state.shadows.is_empty() {
            agent.target.check_matches(&state.shadows)?;
        }
        let mut m = Member {
            agent,
            replay: self.empty_replay(),
            steps: state.meta["steps"].as_u64().unwrap_or(0),
            updates: state.meta["updates"].as_u64().unwrap_or(0),
        };
        m.replay.load_tensors(&data)?;
        if let Some(pool) = &self.pool {
            let mut pool = pool.lock().expect("replay pool lock");
            for e in m.replay.episodes() {
                pool.push(e.clone())?;
            }
        }
        Ok(m)
    }

    fn save(&self, m: &Member) -> Result<MemberState> {
        let [encoder, actor, critic] = m.agent.optimizer_states()?;
        Ok(MemberState {
            weights: m.agent.params.weights()?,
            shadows: m.agent.target_weights()?,
            optimizers: [
                ("encoder".to_string(), encoder),
                ("actor".to_string(), actor),
                ("critic".to_string(), critic),
            ]
            .into(),
            meta: serde_json::json!({ "steps": m.steps, "updates": m.updates }),
            data: m.replay.to_tensors()?,
        })
    }

    fn child_data_from_donor(&self) -> bool {
        self.cfg.child_replay == ChildReplay::Donor
    }

    /// The target critic is in the original's `model_state_dict`.
    fn shadows_in_model_state(&self) -> bool {
        true
    }

    fn train_step(&self, m: &mut Member, ctx: &StepContext) -> Result<Metrics> {
        let c = &self.cfg;
        let mut env = AgentEnv::new(c)?;
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let mut episodes = 0u64;
        let mut rec = Recorder::new(
            derive_seed(ctx.seed, &[EPISODE, 0]),
            env.reset(Some(ctx.seed))?,
        );
        let (mut ret, mut returns) = (0.0, Vec::new());
        let (mut t_env, mut t_act, mut t_sample, mut t_update) = (
            Duration::ZERO,
            Duration::ZERO,
            Duration::ZERO,
            Duration::ZERO,
        );
        let (mut info, mut n_updates) = (crate::agent::UpdateInfo::default(), 0u64);
        let mut obs = Vec::new();
        let mut prof = PhaseTimer::from_env(&self.device);
        let started = Instant::now();
        let agent_steps = c.frames_per_step / c.action_repeat as u64;
        for i in 0..agent_steps {
            ctx.progress.set(i, agent_steps);
            let t0 = Instant::now();
            let action: Vec<f32> = if m.steps < c.expl_steps {
                (0..self.action_dim)
                    .map(|_| rng.random_range(-1.0..=1.0))
                    .collect()
            } else {
                self.stacked(m, &rec, &mut obs);
                m.agent
                    .act(&obs, stddev(&c.stddev_schedule, m.steps)?, false, &mut rng)?
            };
            let t1 = Instant::now();
            let t = env.step(&action)?;
            rec.add(&action, t.reward, &t.frame);
            ret += t.reward;
            if t.done {
                episodes += 1;
                let first = env.reset(None)?;
                let done = std::mem::replace(
                    &mut rec,
                    Recorder::new(derive_seed(ctx.seed, &[EPISODE, episodes]), first),
                );
                self.store(m, done.finish())?;
                returns.push(ret);
                ret = 0.0;
            }
            let t2 = Instant::now();
            t_act += t1 - t0;
            t_env += t2 - t1;
            let learning = m.steps * c.action_repeat as u64 >= c.seed_frames;
            if learning && m.steps.is_multiple_of(c.update_every) {
                let batch = match &self.pool {
                    Some(pool) => {
                        let pool = pool.lock().expect("replay pool lock");
                        (!pool.is_empty()).then(|| {
                            pool.sample(c.batch_size, c.nstep, c.discount, c.aug_pad, &mut rng)
                        })
                    }
                    None => (!m.replay.is_empty()).then(|| {
                        m.replay
                            .sample(c.batch_size, c.nstep, c.discount, c.aug_pad, &mut rng)
                    }),
                }
                .transpose()?;
                let t3 = Instant::now();
                t_sample += t3 - t2;
                if let Some(batch) = batch {
                    prof.restart()?;
                    let sd = stddev(&c.stddev_schedule, m.steps)?;
                    info = m.agent.update_profiled(&batch, sd, &mut rng, &mut prof)?;
                    m.updates += 1;
                    n_updates += 1;
                    self.device.synchronize()?;
                }
                t_update += t3.elapsed();
            }
            m.steps += 1;
        }
        let wall = started.elapsed().as_secs_f64();
        let frames = c.frames_per_step as f64;
        let mean = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let mut out: Metrics = [
            ("train/frames", (m.steps * c.action_repeat as u64) as f64),
            ("train/updates", m.updates as f64),
            ("train/step_updates", n_updates as f64),
            ("train/episodes", episodes as f64),
            ("train/fps", frames / wall.max(1e-9)),
            ("time/env_s", t_env.as_secs_f64()),
            ("time/act_s", t_act.as_secs_f64()),
            ("time/sample_s", t_sample.as_secs_f64()),
            ("time/update_s", t_update.as_secs_f64()),
            ("replay/transitions", m.replay.len() as f64),
            (
                "replay/bytes_per_frame",
                m.replay.bytes() as f64
                    / (m.replay.len() + m.replay.episodes().count()).max(1) as f64,
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if !returns.is_empty() {
            out.insert("train/episode_return".into(), mean(&returns));
        }
        if n_updates > 0 {
            out.insert("train/critic_loss".into(), info.critic_loss);
            out.insert("train/actor_loss".into(), info.actor_loss);
            out.insert("train/q".into(), info.q);
        }
        out.extend(prof.metrics(n_updates as usize));
        Ok(out)
    }

    fn evaluate(&self, m: &mut Member, ctx: &StepContext) -> Result<Evaluation> {
        let seed = derive_seed(ctx.seed, &[EVAL]);
        let (returns, frames) =
            self.evaluate_returns(m, self.cfg.eval_episodes.max(1), seed, self.cfg.video)?;
        if !frames.is_empty() {
            let path = ctx.artifacts.join(format!(
                "videos/gen{:03}_slot{:02}.gif",
                ctx.generation + 1,
                ctx.slot
            ));
            std::fs::create_dir_all(path.parent().expect("has a parent"))?;
            pbtnas_env::video::write_gif(&frames, &path, 40)?;
        }
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
        Ok(Evaluation {
            fitness: mean,
            metrics: [
                ("eval/return".to_string(), mean),
                ("eval/return_std".to_string(), std),
            ]
            .into(),
        })
    }
}
