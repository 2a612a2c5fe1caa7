//! candle building blocks for PBT-NAS: weight maps keyed by position, seeded parameter creation,
//! inheritance with shrink-perturb, Adam with saveable state, and checkpoints.

pub mod adam;
pub mod alloc;
pub mod checkpoint;
pub mod device;
pub mod inherit;
pub mod init;
pub mod layers;
pub mod normed;
/// The training kernels (`pbtnas-kernels`), under the name the layers and tasks use.
pub use pbtnas_kernels as ops;
pub mod profile;
pub mod seed;
pub mod spectral_norm;
pub mod weights;

pub use adam::{Adam, AdamConfig, AdamState, ParamState};
pub use device::{device_name, parse_device};
pub use inherit::{
    inherit, searl_weight_mutation, searl_weight_mutation_state, ShadowRule, ShrinkPerturb,
    Transfer,
};
pub use init::{Init, Params};
pub use layers::{batch_norm, dropout, layer_norm};
pub use normed::{NormedConv, NormedWeight};
pub use profile::PhaseTimer;
pub use seed::derive_seed;
pub use spectral_norm::{power_iteration, spectral_norm, spectral_norm_with, PowerIteration};
pub use weights::{is_under, MemberState, WeightMap};
