//! A step's input checkpoint, read and verified; one found missing or corrupt is recomputed by
//! redoing the step that made it (nested up to a depth).

use anyhow::{Context, Result};
use candle_core::Device;
use pbtnas_nn::checkpoint::decode;

use crate::checkpoints::CheckpointError;
use crate::events::{Event, Repair};
use pbtnas_task::Task;

use super::Runner;

/// The event recorded when a checkpoint was recomputed.
pub const REPAIR_EVENT: &str = "checkpoint_repaired";

/// Repairs nested inside a repair (an input of a redone step itself bad) before giving up.
const MAX_REPAIR_DEPTH: u32 = 3;

impl<T: Task> Runner<'_, T> {
    /// Reads an input checkpoint. One found missing or corrupt is recomputed by redoing the
    /// step that made it from that step's own inputs and seed (kept while its output is
    /// needed: `checkpoints.keep_inputs`); steps are deterministic, so the same bytes come back
    /// and are stored again. The repair is an event in the store and in the progress output.
    pub(super) fn load_input(&self, sha: &str, depth: u32) -> Result<pbtnas_nn::MemberState> {
        let err = match self.ckpts.get(sha) {
            Ok(bytes) => return Ok(decode(&bytes, &Device::Cpu)?.0),
            Err(e) => e,
        };
        let Some(problem) = err.downcast_ref::<CheckpointError>() else {
            return Err(err);
        };
        let problem = problem.to_string();
        let all = self.store.all_trials()?;
        let Some(producer) = all.iter().rev().find(|t| t.ckpt.as_deref() == Some(sha)) else {
            return Err(err.context("no step of this run made it, so it cannot be recomputed"));
        };
        if depth >= MAX_REPAIR_DEPTH {
            return Err(err.context("too many nested repairs"));
        }
        let (g, slot) = (producer.spec.generation, producer.spec.slot);
        let what = format!("gen {} slot {slot}", g + 1);
        self.progress.emit(&Event::Warning {
            message: format!("{problem}: redoing {what} from its inputs"),
        });
        let (_, bytes, _) = self
            .produce(&producer.spec, None, depth + 1)
            .with_context(|| format!("{problem}; redoing {what} failed"))?;
        let redone = pbtnas_nn::checkpoint::sha256_hex(&bytes);
        let identical = redone == sha;
        if identical {
            self.ckpts.remove(sha)?;
        }
        self.ckpts.put(&bytes)?;
        let repair = Repair {
            checkpoint: sha.to_string(),
            problem: problem.to_string(),
            generation: g,
            slot,
            identical,
            redone,
        };
        self.store
            .add_event(g, REPAIR_EVENT, &serde_json::to_value(&repair)?)?;
        self.progress.emit(&Event::CheckpointRepaired(repair));
        Ok(decode(&bytes, &Device::Cpu)?.0)
    }
}
