//! Environments for pbtnas, with a Gymnasium-style API ([`Env`]): DMC-faithful pure-Rust control
//! tasks ([`tasks`]), a ray-cast renderer ([`render`]) and DrQ-v2's wrappers ([`wrappers`]).
//! No candle, no native dependencies.

pub mod env;
#[cfg(feature = "mujoco")]
pub mod mujoco;
pub mod physics;
pub mod render;
pub mod rewards;
pub mod tasks;
pub mod vector;
pub mod video;
pub mod wrappers;

pub use env::{Env, EnvError, Info, Space, Step};
pub use tasks::{DmcEnv, TASKS};
pub use wrappers::{pixel_env, PixelEnv};
