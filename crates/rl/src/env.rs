//! The environment an agent acts in: a DMC task with action repeat and `[-1, 1]` actions,
//! observed as single frames (pixels `[3, H, W]`, or the state vector as bytes). Frames are
//! stacked by the replay buffer, which stores each once.

use anyhow::Result;
use pbtnas_env::render::Image;
use pbtnas_env::wrappers::{ActionRepeat, ActionScale, Pixels};
use pbtnas_env::{DmcEnv, Env};

use crate::config::{ObsKind, Renderer, RlConfig};
use crate::obs::ObsShape;

type Scaled = ActionScale<ActionRepeat<DmcEnv>>;

/// A DMC task wrapped as DrQ-v2 wraps it, minus the frame stack.
pub enum AgentEnv {
    Pixels(Pixels<Scaled>),
    State(Scaled),
}

/// A step's frame and reward, and whether the episode is over.
pub struct Transition {
    pub frame: Vec<u8>,
    pub reward: f64,
    pub done: bool,
}

fn state_bytes(s: &[f32]) -> Vec<u8> {
    s.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl AgentEnv {
    pub fn new(cfg: &RlConfig) -> Result<Self> {
        let mut dmc = match cfg.renderer {
            Renderer::Raycast => DmcEnv::new(&cfg.env)?,
            Renderer::Mujoco => DmcEnv::with_mujoco_renderer(&cfg.env)?,
        };
        let camera = cfg
            .camera
            .unwrap_or(if cfg.env.contains("quadruped") { 2 } else { 0 });
        if camera != 0 {
            dmc.task_mut().set_camera(camera)?;
        }
        let scaled = ActionScale {
            env: ActionRepeat::new(dmc, cfg.action_repeat),
        };
        Ok(match cfg.obs {
            ObsKind::Pixels => AgentEnv::Pixels(Pixels {
                env: scaled,
                width: cfg.image_size,
                height: cfg.image_size,
            }),
            ObsKind::State => AgentEnv::State(scaled),
        })
    }

    /// The shape of one stored frame.
    pub fn frame_shape(&self) -> ObsShape {
        match self {
            AgentEnv::Pixels(p) => ObsShape::Pixels {
                c: 3,
                h: p.height,
                w: p.width,
            },
            AgentEnv::State(s) => ObsShape::State(s.observation_space().size()),
        }
    }

    pub fn action_dim(&self) -> usize {
        match self {
            AgentEnv::Pixels(p) => p.action_space().size(),
            AgentEnv::State(s) => s.action_space().size(),
        }
    }

    /// Starts an episode; returns its first frame.
    pub fn reset(&mut self, seed: Option<u64>) -> Result<Vec<u8>> {
        Ok(match self {
            AgentEnv::Pixels(p) => p.reset(seed)?.0,
            AgentEnv::State(s) => state_bytes(&s.reset(seed)?.0),
        })
    }

    pub fn step(&mut self, action: &[f32]) -> Result<Transition> {
        let (frame, reward, done) = match self {
            AgentEnv::Pixels(p) => {
                let s = p.step(action)?;
                (s.obs, s.reward, s.terminated || s.truncated)
            }
            AgentEnv::State(e) => {
                let s = e.step(action)?;
                (state_bytes(&s.obs), s.reward, s.terminated || s.truncated)
            }
        };
        Ok(Transition {
            frame,
            reward,
            done,
        })
    }

    /// The current frame from the task's camera, for videos.
    pub fn render(&mut self, size: usize) -> Image {
        match self {
            AgentEnv::Pixels(p) => p.render(size, size),
            AgentEnv::State(s) => s.render(size, size),
        }
    }
}
