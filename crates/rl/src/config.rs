//! The `task:` section for `kind: rl`: every DrQ-v2 hyperparameter, flat and visible. Defaults
//! are DrQ-v2's and the PBT-NAS base config's (docs/rl.md, "Settings"), except the environment.

use serde::{Deserialize, Serialize};

/// What the agent observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObsKind {
    /// Rendered frames, stacked (DrQ-v2).
    Pixels,
    /// The task's state vector (the same agent without the conv encoder).
    State,
}

/// Whose replay buffer an agent samples from (docs/rl.md, "Replay").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayMode {
    /// Each member its own (quadruped run).
    PerMember,
    /// Every member of the run writes to and samples from one pool (walker, humanoid run).
    Shared,
}

/// Which parent's replay data a child of two parents starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChildReplay {
    /// The donor's, the worse parent (the original code copies its work dir; docs/rl.md,
    /// "Replay").
    Donor,
    /// The better parent's, whose weights the child mostly has.
    Parent,
}

/// What draws the pixel observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Renderer {
    /// pbtnas's ray caster over the task's geoms: no GPU or OpenGL, any machine; silhouettes
    /// match MuJoCo's closely (IoU, `crates/env`), with flat shading and no reflections, shadows
    /// or skybox texture.
    #[default]
    Raycast,
    /// MuJoCo's own OpenGL renderer (`dmc/` tasks, feature `mujoco-gl`): dm_control's pixels, as
    /// the paper trained on.
    Mujoco,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RlConfig {
    pub kind: String,
    /// `cartpole_swingup`, … (built in) or `dmc/walker_run`, … (feature `mujoco`).
    pub env: String,
    pub obs: ObsKind,
    pub action_repeat: usize,
    pub frame_stack: usize,
    /// Frame width and height.
    pub image_size: usize,
    /// What draws the frames (`raycast`, the default, or `mujoco`: the paper's pixels).
    pub renderer: Renderer,
    /// Camera; default 2 for quadruped, else 0 (DrQ-v2).
    pub camera: Option<usize>,
    /// Frames (agent steps × action repeat) each member trains per PBT step.
    pub frames_per_step: u64,
    /// No updates before this many frames of a member's life.
    pub seed_frames: u64,
    /// Uniform random actions for this many agent steps.
    pub expl_steps: u64,
    /// One update every this many agent steps.
    pub update_every: u64,
    pub batch_size: usize,
    pub nstep: usize,
    pub discount: f64,
    pub lr: f64,
    pub hidden_dim: usize,
    pub critic_tau: f64,
    /// `linear(init, final, duration)` in agent steps, or a constant.
    pub stddev_schedule: String,
    pub stddev_clip: f64,
    /// RandomShiftsAug padding (pixels).
    pub aug_pad: usize,
    /// Transitions kept (per member, or in the shared pool).
    pub replay_size: usize,
    pub replay: ReplayMode,
    pub child_replay: ChildReplay,
    pub eval_episodes: usize,
    /// A GIF of each member's first evaluation episode per step (`artifacts/videos/`).
    pub video: bool,
    /// DrQ-v2's own networks with this feature dim, ignoring the genome (a single-agent baseline).
    pub original: Option<usize>,
}

impl Default for RlConfig {
    fn default() -> Self {
        Self {
            kind: "rl".into(),
            env: "cartpole_swingup".into(),
            obs: ObsKind::Pixels,
            action_repeat: 2,
            frame_stack: 3,
            image_size: 84,
            renderer: Renderer::Raycast,
            camera: None,
            frames_per_step: 100_000,
            seed_frames: 4_000,
            expl_steps: 2_000,
            update_every: 2,
            batch_size: 256,
            nstep: 3,
            discount: 0.99,
            lr: 1e-4,
            hidden_dim: 1024,
            critic_tau: 0.01,
            stddev_schedule: "linear(1.0, 0.1, 500000)".into(),
            stddev_clip: 0.3,
            aug_pad: 4,
            replay_size: 1_000_000,
            replay: ReplayMode::PerMember,
            child_replay: ChildReplay::Donor,
            eval_episodes: 10,
            video: true,
            original: None,
        }
    }
}
