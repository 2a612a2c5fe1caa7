//! The Gymnasium-style environment API: `reset(seed) -> (obs, info)`, `step(action) -> Step`,
//! spaces, `render()`. Close to Gymnasium's so Python users feel at home; owned and `Send`, so
//! wrappers compose without lifetimes and one env runs per thread.

use crate::render::Image;

/// An observation or action space.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    /// A bounded box of f32 values (Gymnasium's `Box`).
    Box {
        shape: Vec<usize>,
        low: Vec<f32>,
        high: Vec<f32>,
    },
    /// u8 images, channels first `[C, H, W]`.
    Image { shape: [usize; 3] },
}

impl Space {
    /// A box with the same bounds in every dimension.
    pub fn uniform_box(n: usize, low: f32, high: f32) -> Self {
        Space::Box {
            shape: vec![n],
            low: vec![low; n],
            high: vec![high; n],
        }
    }

    /// Number of scalar elements.
    pub fn size(&self) -> usize {
        match self {
            Space::Box { shape, .. } => shape.iter().product(),
            Space::Image { shape } => shape.iter().product(),
        }
    }
}

/// Side information of a step (small and allocation-free, unlike a per-step dict).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Info {
    /// Control steps taken in the episode so far.
    pub steps: u64,
    /// Set when the physics diverged and the episode was ended early.
    pub diverged: bool,
}

/// What `step` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<O> {
    pub obs: O,
    pub reward: f64,
    /// The episode ended in a terminal state (bootstrapping must stop).
    pub terminated: bool,
    /// The episode was cut by a time limit (bootstrapping may continue).
    pub truncated: bool,
    pub info: Info,
}

/// Errors of the environment API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    #[error("action has {got} values, the action space has {expected}")]
    ActionShape { expected: usize, got: usize },
    #[error("action value {index} is {value}: actions must be finite")]
    NonFiniteAction { index: usize, value: f32 },
    #[error("step called before reset, or after the episode ended")]
    NeedsReset,
    #[error("unknown task '{0}' (available: {1})")]
    UnknownTask(String, String),
    #[error("{0}")]
    Backend(String),
}

/// A Gymnasium-style environment.
pub trait Env: Send {
    type Obs: Clone + Send;
    fn observation_space(&self) -> Space;
    fn action_space(&self) -> Space;
    /// Starts an episode; a seed makes it (and everything after, until the next seeded reset)
    /// reproducible.
    fn reset(&mut self, seed: Option<u64>) -> Result<(Self::Obs, Info), EnvError>;
    /// Applies an action. Out-of-range values are clipped to the action space (as MuJoCo clamps
    /// limited controls); wrong lengths and non-finite values are errors.
    fn step(&mut self, action: &[f32]) -> Result<Step<Self::Obs>, EnvError>;
    /// The current frame from the task's default camera.
    fn render(&mut self, width: usize, height: usize) -> Image;
    /// Which renderer draws the frames (`raycast` or `mujoco-egl`); record it with results.
    fn renderer(&self) -> &'static str;
}

/// Checks an action against a box space and clips it into the bounds.
pub fn check_action(space: &Space, action: &[f32]) -> Result<Vec<f32>, EnvError> {
    let Space::Box { low, high, .. } = space else {
        unreachable!("action spaces are boxes")
    };
    if action.len() != low.len() {
        return Err(EnvError::ActionShape {
            expected: low.len(),
            got: action.len(),
        });
    }
    action
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            if !a.is_finite() {
                return Err(EnvError::NonFiniteAction { index: i, value: a });
            }
            Ok(a.clamp(low[i], high[i]))
        })
        .collect()
}
