//! The embedded DMC tasks (pure Rust): dynamics re-derived from the suite's XMLs and stepped as
//! MuJoCo steps them, DMC's initialisation and rewards, 1000-step episodes ending by truncation.

mod cartpole;
mod pendulum;
mod reacher;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::env::{check_action, Env, EnvError, Info, Space, Step};
use crate::render::{render, Image, Scene};

pub use cartpole::Cartpole;
pub use pendulum::Pendulum;
pub use reacher::Reacher;

/// One control task: its physics state, how an episode starts, its reward and its scene.
pub trait ControlTask: Send {
    /// Actuator control range per action dimension.
    fn ctrl_range(&self) -> Vec<(f64, f64)>;
    /// Sets the initial state of an episode.
    fn initialize(&mut self, rng: &mut ChaCha8Rng);
    /// One control step with clamped controls.
    fn step(&mut self, ctrl: &[f64]);
    /// DMC's reward for the current state and last control.
    fn reward(&self) -> f64;
    /// DMC's state observation, flattened in DMC's key order.
    fn observation(&self) -> Vec<f32>;
    /// The scene seen from the task's DrQ-v2 camera.
    fn scene(&self) -> Scene;
    /// The current frame: the ray caster over [`ControlTask::scene`] unless the task has its own renderer.
    fn frame(&mut self, width: usize, height: usize) -> Image {
        render(&self.scene(), width, height)
    }
    /// Which renderer [`ControlTask::frame`] uses.
    fn renderer(&self) -> &'static str {
        "raycast"
    }
    /// Picks the camera frames are drawn from (default: DrQ-v2's). The embedded tasks model only
    /// their `fixed` camera, id 0.
    fn set_camera(&mut self, id: usize) -> Result<(), EnvError> {
        match id {
            0 => Ok(()),
            _ => Err(EnvError::Backend(format!(
                "camera {id}: this task has only camera 0"
            ))),
        }
    }
    /// Generalised positions and velocities.
    fn state(&self) -> (Vec<f64>, Vec<f64>);
    /// Overwrites positions and velocities (for replaying recorded states).
    fn set_state(&mut self, qpos: &[f64], qvel: &[f64]);
}

/// Control steps per DMC episode for every task here.
pub const EPISODE_STEPS: u64 = 1000;

/// The embedded task names.
pub const TASKS: [&str; 4] = [
    "cartpole_swingup",
    "cartpole_balance",
    "pendulum_swingup",
    "reacher_easy",
];

/// A task by name: an embedded one of [`TASKS`], or (with the `mujoco` feature) a `dmc/` one.
pub fn task(name: &str) -> Result<Box<dyn ControlTask>, EnvError> {
    if name.starts_with("dmc/") {
        #[cfg(feature = "mujoco")]
        return Ok(Box::new(crate::mujoco::MjTask::new(name)?));
        #[cfg(not(feature = "mujoco"))]
        return Err(EnvError::Backend(format!("task '{name}' runs on MuJoCo: build with `--features mujoco` after scripts/setup/mujoco.sh")));
    }
    Ok(match name {
        "cartpole_swingup" => Box::new(Cartpole::new(true)),
        "cartpole_balance" => Box::new(Cartpole::new(false)),
        "pendulum_swingup" => Box::new(Pendulum::default()),
        "reacher_easy" => Box::new(Reacher::new(0.05)),
        other => return Err(EnvError::UnknownTask(other.into(), TASKS.join(", "))),
    })
}

/// A DMC task as an [`Env`] with state observations.
pub struct DmcEnv {
    task: Box<dyn ControlTask>,
    rng: ChaCha8Rng,
    steps: u64,
    running: bool,
}

impl DmcEnv {
    /// The task called `name` (see [`task`]), drawn by the ray caster.
    pub fn new(name: &str) -> Result<Self, EnvError> {
        Ok(Self::from_task(task(name)?))
    }

    fn from_task(task: Box<dyn ControlTask>) -> Self {
        Self {
            task,
            rng: ChaCha8Rng::seed_from_u64(0),
            steps: 0,
            running: false,
        }
    }

    /// A `dmc/` task drawn by MuJoCo's own renderer (feature `mujoco-gl`): DMC's exact pixels.
    pub fn with_mujoco_renderer(name: &str) -> Result<Self, EnvError> {
        #[cfg(feature = "mujoco-gl")]
        {
            let mut t = crate::mujoco::MjTask::new(name)?;
            t.use_mujoco_renderer(true);
            Ok(Self::from_task(Box::new(t)))
        }
        #[cfg(not(feature = "mujoco-gl"))]
        Err(EnvError::Backend(format!(
            "MuJoCo's renderer for '{name}' needs `--features mujoco-gl`"
        )))
    }

    /// The task behind the env.
    pub fn task(&self) -> &dyn ControlTask {
        self.task.as_ref()
    }

    /// The task, mutably (to set states in tests and replays).
    pub fn task_mut(&mut self) -> &mut dyn ControlTask {
        self.task.as_mut()
    }
}

impl Env for DmcEnv {
    type Obs = Vec<f32>;

    fn observation_space(&self) -> Space {
        let n = self.task.observation().len();
        Space::uniform_box(n, f32::NEG_INFINITY, f32::INFINITY)
    }

    fn action_space(&self) -> Space {
        let r = self.task.ctrl_range();
        Space::Box {
            shape: vec![r.len()],
            low: r.iter().map(|x| x.0 as f32).collect(),
            high: r.iter().map(|x| x.1 as f32).collect(),
        }
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<f32>, Info), EnvError> {
        if let Some(s) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(s);
        }
        self.task.initialize(&mut self.rng);
        self.steps = 0;
        self.running = true;
        Ok((self.task.observation(), Info::default()))
    }

    fn step(&mut self, action: &[f32]) -> Result<Step<Vec<f32>>, EnvError> {
        if !self.running {
            return Err(EnvError::NeedsReset);
        }
        let a = check_action(&self.action_space(), action)?;
        let ctrl: Vec<f64> = a.iter().map(|&x| x as f64).collect();
        self.task.step(&ctrl);
        self.steps += 1;
        let (q, v) = self.task.state();
        let diverged = q.iter().chain(&v).any(|x| !x.is_finite());
        let truncated = self.steps >= EPISODE_STEPS;
        self.running = !(truncated || diverged);
        let reward = if diverged { 0.0 } else { self.task.reward() };
        Ok(Step {
            obs: self.task.observation(),
            reward,
            terminated: diverged,
            truncated,
            info: Info {
                steps: self.steps,
                diverged,
            },
        })
    }

    fn render(&mut self, width: usize, height: usize) -> Image {
        self.task.frame(width, height)
    }

    fn renderer(&self) -> &'static str {
        self.task.renderer()
    }
}
