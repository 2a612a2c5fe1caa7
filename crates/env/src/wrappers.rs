//! Owned, composable wrappers (DrQ-v2's, from the inside out: action repeat, action scaling,
//! pixels, frame stack), plus a time limit. Each is generic over the env it wraps.

use std::collections::VecDeque;

use crate::env::{check_action, Env, EnvError, Info, Space, Step};
use crate::render::Image;

/// Methods a wrapper passes straight to the env it wraps.
macro_rules! delegate {
    (observation_space) => {
        fn observation_space(&self) -> Space {
            self.env.observation_space()
        }
    };
    (action_space) => {
        fn action_space(&self) -> Space {
            self.env.action_space()
        }
    };
    (render) => {
        fn render(&mut self, width: usize, height: usize) -> Image {
            self.env.render(width, height)
        }
        fn renderer(&self) -> &'static str {
            self.env.renderer()
        }
    };
    ($($m:ident),+) => {
        $(delegate!($m);)+
    };
}

/// Repeats every action `n` times and sums the rewards; stops early when the episode ends.
pub struct ActionRepeat<E> {
    pub env: E,
    n: usize,
}

impl<E: Env> ActionRepeat<E> {
    pub fn new(env: E, n: usize) -> Self {
        Self { env, n: n.max(1) }
    }
}

impl<E: Env> Env for ActionRepeat<E> {
    type Obs = E::Obs;
    delegate!(observation_space, action_space, render);
    fn reset(&mut self, seed: Option<u64>) -> Result<(E::Obs, Info), EnvError> {
        self.env.reset(seed)
    }
    fn step(&mut self, action: &[f32]) -> Result<Step<E::Obs>, EnvError> {
        let mut total = 0.0;
        let mut last = None;
        for _ in 0..self.n {
            let s = self.env.step(action)?;
            total += s.reward;
            let done = s.terminated || s.truncated;
            last = Some(s);
            if done {
                break;
            }
        }
        let mut s = last.expect("n >= 1");
        s.reward = total;
        Ok(s)
    }
}

/// Exposes a `[-1, 1]` action box and maps it affinely onto the inner env's bounds.
pub struct ActionScale<E> {
    pub env: E,
}

impl<E: Env> Env for ActionScale<E> {
    type Obs = E::Obs;
    delegate!(observation_space, render);
    fn action_space(&self) -> Space {
        Space::uniform_box(self.env.action_space().size(), -1.0, 1.0)
    }
    fn reset(&mut self, seed: Option<u64>) -> Result<(E::Obs, Info), EnvError> {
        self.env.reset(seed)
    }
    fn step(&mut self, action: &[f32]) -> Result<Step<E::Obs>, EnvError> {
        let a = check_action(&self.action_space(), action)?;
        let Space::Box { low, high, .. } = self.env.action_space() else {
            unreachable!("action spaces are boxes")
        };
        let inner: Vec<f32> = a
            .iter()
            .enumerate()
            .map(|(i, &x)| low[i] + (x + 1.0) / 2.0 * (high[i] - low[i]))
            .collect();
        self.env.step(&inner)
    }
}

/// Replaces observations by rendered frames, u8 `[3, H, W]`, rendered once per step and at reset.
pub struct Pixels<E> {
    pub env: E,
    pub width: usize,
    pub height: usize,
}

impl<E: Env> Pixels<E> {
    fn frame(&mut self) -> Vec<u8> {
        let img = self.env.render(self.width, self.height);
        let plane = self.width * self.height;
        let mut chw = vec![0u8; 3 * plane];
        for (p, rgb) in img.data.chunks_exact(3).enumerate() {
            for c in 0..3 {
                chw[c * plane + p] = rgb[c];
            }
        }
        chw
    }
}

impl<E: Env> Env for Pixels<E> {
    type Obs = Vec<u8>;
    delegate!(action_space, render);
    fn observation_space(&self) -> Space {
        Space::Image {
            shape: [3, self.height, self.width],
        }
    }
    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<u8>, Info), EnvError> {
        let (_, info) = self.env.reset(seed)?;
        Ok((self.frame(), info))
    }
    fn step(&mut self, action: &[f32]) -> Result<Step<Vec<u8>>, EnvError> {
        let s = self.env.step(action)?;
        Ok(Step {
            obs: self.frame(),
            reward: s.reward,
            terminated: s.terminated,
            truncated: s.truncated,
            info: s.info,
        })
    }
}

/// Concatenates the last `k` image observations along channels: `[k·C, H, W]`. At reset the
/// first frame fills the stack.
pub struct FrameStack<E> {
    pub env: E,
    k: usize,
    frames: VecDeque<Vec<u8>>,
}

impl<E: Env<Obs = Vec<u8>>> FrameStack<E> {
    pub fn new(env: E, k: usize) -> Self {
        Self {
            env,
            k: k.max(1),
            frames: VecDeque::new(),
        }
    }
    fn stacked(&self) -> Vec<u8> {
        self.frames.iter().flatten().copied().collect()
    }
}

impl<E: Env<Obs = Vec<u8>>> Env for FrameStack<E> {
    type Obs = Vec<u8>;
    delegate!(action_space, render);
    fn observation_space(&self) -> Space {
        match self.env.observation_space() {
            Space::Image { shape: [c, h, w] } => Space::Image {
                shape: [c * self.k, h, w],
            },
            other => other,
        }
    }
    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<u8>, Info), EnvError> {
        let (obs, info) = self.env.reset(seed)?;
        self.frames = std::iter::repeat_n(obs, self.k).collect();
        Ok((self.stacked(), info))
    }
    fn step(&mut self, action: &[f32]) -> Result<Step<Vec<u8>>, EnvError> {
        let s = self.env.step(action)?;
        self.frames.pop_front();
        self.frames.push_back(s.obs);
        Ok(Step {
            obs: self.stacked(),
            reward: s.reward,
            terminated: s.terminated,
            truncated: s.truncated,
            info: s.info,
        })
    }
}

/// Truncates episodes after `max_steps` calls to `step`.
pub struct TimeLimit<E> {
    pub env: E,
    max_steps: u64,
    count: u64,
}

impl<E: Env> TimeLimit<E> {
    pub fn new(env: E, max_steps: u64) -> Self {
        Self {
            env,
            max_steps,
            count: 0,
        }
    }
}

impl<E: Env> Env for TimeLimit<E> {
    type Obs = E::Obs;
    delegate!(observation_space, action_space, render);
    fn reset(&mut self, seed: Option<u64>) -> Result<(E::Obs, Info), EnvError> {
        self.count = 0;
        self.env.reset(seed)
    }
    fn step(&mut self, action: &[f32]) -> Result<Step<E::Obs>, EnvError> {
        let mut s = self.env.step(action)?;
        self.count += 1;
        s.truncated |= self.count >= self.max_steps;
        Ok(s)
    }
}

/// The DrQ-v2 pixel env: a DMC task with action repeat, `[-1, 1]` actions, `size × size` frames
/// and a stack of `frames`: observations are u8 `[3·frames, size, size]`.
pub type PixelEnv = FrameStack<Pixels<ActionScale<ActionRepeat<crate::DmcEnv>>>>;

/// Builds [`PixelEnv`] for a task (DrQ-v2 uses repeat 2, size 84, 3 frames), drawn by the ray
/// caster.
pub fn pixel_env(
    task: &str,
    action_repeat: usize,
    size: usize,
    frames: usize,
) -> Result<PixelEnv, EnvError> {
    Ok(wrap(crate::DmcEnv::new(task)?, action_repeat, size, frames))
}

/// DrQ-v2's wrappers around a [`crate::DmcEnv`] built by the caller (e.g. with MuJoCo's renderer).
pub fn wrap(env: crate::DmcEnv, action_repeat: usize, size: usize, frames: usize) -> PixelEnv {
    let inner = ActionScale {
        env: ActionRepeat::new(env, action_repeat),
    };
    FrameStack::new(
        Pixels {
            env: inner,
            width: size,
            height: size,
        },
        frames,
    )
}
