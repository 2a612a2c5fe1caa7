//! Weight maps keyed by stable position names, and the state a member carries between steps.

use std::collections::BTreeMap;

use candle_core::Tensor;

use crate::adam::AdamState;

/// Tensors by dotted name (`net.l2.weight`), in name order. A position (`net.l2`) names the same
/// tensors whatever option its gene holds.
pub type WeightMap = BTreeMap<String, Tensor>;

/// True if tensor `name` lives under `position`: equal to it or below it at a dot boundary.
/// The empty position covers every tensor.
pub fn is_under(name: &str, position: &str) -> bool {
    position.is_empty()
        || name
            .strip_prefix(position)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Everything a member carries from one PBT step to the next.
#[derive(Debug, Clone, Default)]
pub struct MemberState {
    /// Trained tensors of every network of the member, including buffers (BN running stats).
    pub weights: WeightMap,
    /// Tensors that follow `weights` under the same names and are copied as-is on inheritance,
    /// never shrink-perturbed: the EMA generator, the target critic.
    pub shadows: WeightMap,
    /// Optimizer state by optimizer name, keyed by the names in `weights`.
    pub optimizers: BTreeMap<String, AdamState>,
    /// Task counters and anything else small (frames seen, iterations), kept in the header.
    pub meta: serde_json::Value,
}
