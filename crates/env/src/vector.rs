//! Several envs stepped together, one per rayon task.

use rayon::prelude::*;

use crate::env::{Env, EnvError, Info, Step};

/// A batch of independent envs. No auto-reset: the caller resets ended envs.
pub struct VecEnv<E> {
    pub envs: Vec<E>,
}

impl<E: Env> VecEnv<E> {
    /// Resets every env; env `i` gets `seed + i` when a seed is given.
    pub fn reset(&mut self, seed: Option<u64>) -> Result<Vec<(E::Obs, Info)>, EnvError> {
        self.envs
            .par_iter_mut()
            .enumerate()
            .map(|(i, e)| e.reset(seed.map(|s| s + i as u64)))
            .collect()
    }

    /// Steps env `i` with `actions[i]`, in parallel.
    pub fn step(&mut self, actions: &[Vec<f32>]) -> Result<Vec<Step<E::Obs>>, EnvError> {
        if actions.len() != self.envs.len() {
            return Err(EnvError::ActionShape {
                expected: self.envs.len(),
                got: actions.len(),
            });
        }
        self.envs
            .par_iter_mut()
            .zip(actions)
            .map(|(e, a)| e.step(a))
            .collect()
    }
}
