//! A small real PBT-NAS task and the worked example of adding one: a candle MLP whose per-layer
//! op (identity / linear / residual) and activation are searched, fitting a procedural
//! regression dataset. Fitness is minus the test MSE.

pub mod data;
pub mod kind;
pub mod model;
pub mod task;

pub use task::{RegressionConfig, RegressionTask, DEFAULT_SPACE};
