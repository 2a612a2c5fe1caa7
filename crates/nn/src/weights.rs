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
    /// Task data carried with the member as-is (a replay buffer): never trained,
    /// shrink-perturbed or inherited by position; a child takes its parent's (or, if the task
    /// asks, its donor's).
    pub data: WeightMap,
    /// Task counters and anything else small (frames seen, iterations), kept in the header.
    pub meta: serde_json::Value,
}

impl MemberState {
    /// The same state with every tensor on `device` (checkpoints and inheritance work on the CPU;
    /// a task moves the state to its device when it loads it).
    pub fn to_device(&self, device: &candle_core::Device) -> candle_core::Result<Self> {
        let map = |w: &WeightMap| -> candle_core::Result<WeightMap> {
            w.iter()
                .map(|(n, t)| Ok((n.clone(), t.to_device(device)?)))
                .collect()
        };
        let optimizers = self
            .optimizers
            .iter()
            .map(|(name, state)| {
                let moved = state
                    .iter()
                    .map(|(n, p)| {
                        Ok((
                            n.clone(),
                            crate::adam::ParamState {
                                m: p.m.to_device(device)?,
                                v: p.v.to_device(device)?,
                                step: p.step,
                            },
                        ))
                    })
                    .collect::<candle_core::Result<_>>()?;
                Ok((name.clone(), moved))
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            weights: map(&self.weights)?,
            shadows: map(&self.shadows)?,
            data: map(&self.data)?,
            optimizers,
            meta: self.meta.clone(),
        })
    }
}
