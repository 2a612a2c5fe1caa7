//! The model of a run's best-ever member, as `pbtnas eval` and `pbtnas export` both take it.

use std::path::Path;

use anyhow::{Context, Result};
use pbtnas_nn::MemberState;
use pbtnas_orchestrator::best::BestMember;
use pbtnas_orchestrator::checkpoints::Checkpoints;
use pbtnas_orchestrator::start_state::start_state;
use pbtnas_orchestrator::RunConfig;

use crate::tasks;

/// The model of a run's best-ever member `best`, on the CPU: a trained step's checkpoint, or (the
/// SEARL quirk) an untrained child's start state, rebuilt from its step's inputs by the run's
/// task. `pbtnas eval` evaluates it and `pbtnas export` writes it; `cfg` is the run's saved
/// config (`RunDir::saved_config`).
pub fn state(
    run_dir: &Path,
    cfg: &RunConfig,
    best: BestMember,
    device: &candle_core::Device,
) -> Result<MemberState> {
    let ckpts = Checkpoints::open(cfg.checkpoints.location.as_deref(), run_dir)?;
    let read = |sha: &str| -> Result<MemberState> {
        Ok(pbtnas_nn::checkpoint::decode(&ckpts.get(sha)?, &candle_core::Device::Cpu)?.0)
    };
    match best {
        BestMember::Trained(t) => read(
            t.ckpt
                .as_deref()
                .context("the best member has no checkpoint")?,
        ),
        BestMember::Untrained { child, .. } => {
            let task = tasks::build(tasks::kind_of(cfg)?, cfg, device)?;
            start_state(&task, &child.spec, &read)
        }
    }
}
