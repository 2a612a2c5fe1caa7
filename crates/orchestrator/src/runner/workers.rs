//! Worker ids (`host:pid:thread`), dead workers of this host, whether a run has work for a
//! joining worker, and how many members a process trains at once.

use std::path::Path;

use anyhow::Result;

use crate::config::RunConfig;
use crate::store::{Store, Trial, TrialStatus};

/// This host's name, as worker ids carry it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The id of this process's worker thread `i`: `host:pid:i`.
pub(super) fn worker_id(i: usize) -> String {
    format!("{}:{}:{i}", hostname(), std::process::id())
}

/// Whether a worker id names a worker thread of this process.
pub(super) fn is_this_process(worker: &str) -> bool {
    worker
        .rsplit_once(':')
        .is_some_and(|(process, _)| process == format!("{}:{}", hostname(), std::process::id()))
}

/// Whether a worker id names a process of this host that no longer exists.
fn is_dead_here(worker: &str) -> bool {
    let mut parts = worker.rsplitn(3, ':');
    let (_, pid, host) = (parts.next(), parts.next(), parts.next());
    host == Some(hostname().as_str())
        && pid
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Whether a run's newest generation has nothing a joining worker could do: no pending step, no
/// lapsed lease, no dead local worker's step, and not finished (so nothing to plan). Its steps
/// left are other live workers': an experiment's worker trains another run meanwhile.
pub fn waits_on_others(trials: &[Trial]) -> bool {
    let now = crate::store::unix_now();
    let Some(g) = trials.iter().map(|t| t.spec.generation).max() else {
        return false;
    };
    let newest = trials.iter().filter(|t| t.spec.generation == g);
    let mut running = false;
    for t in newest {
        match t.status {
            TrialStatus::Pending => return false,
            TrialStatus::Running => {
                let lapsed = t.lease_until.is_none_or(|until| until < now);
                if lapsed || t.worker.as_deref().is_some_and(is_dead_here) {
                    return false;
                }
                running = true;
            }
            TrialStatus::Done | TrialStatus::Failed => {}
        }
    }
    running
}

/// Makes the steps that dead processes of this host were training pending again at once
/// (others' leases simply expire); returns how many.
pub(super) fn release_dead_local_workers(store: &dyn Store) -> Result<usize> {
    let mut released = 0;
    for t in store.all_trials()? {
        if let (TrialStatus::Running, Some(w)) = (t.status, &t.worker) {
            if is_dead_here(w) && store.release(t.spec.generation, t.spec.slot, w)? {
                released += 1;
            }
        }
    }
    Ok(released)
}

/// Members trained at once when the config does not say: one per core on the CPU (each member's
/// ops then run single-threaded), `members_per_gpu` on a GPU; never more than the population.
pub(super) fn default_workers(cfg: &RunConfig, device: &candle_core::Device) -> usize {
    let n = if device.is_cpu() {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        cfg.members_per_gpu
    };
    n.min(cfg.population).max(1)
}
