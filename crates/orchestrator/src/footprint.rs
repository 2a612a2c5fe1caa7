//! A new run's size before anything is written: one member built from a sampled genome and
//! saved gives the bytes of a checkpoint; with the population, the retention policy and the
//! members trained at once, that gives the disk and memory the run needs. A run far beyond the
//! machine is refused unless confirmed (`--allow-large`).

use std::path::Path;

use anyhow::{bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::RunConfig;
use pbtnas_task::{StepContext, Task};

/// The estimate for a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Footprint {
    /// One member's checkpoint as written, plus what its data grows to (a full replay buffer).
    pub member_bytes: u64,
    /// Checkpoints kept at once: the retained generations (and their inputs) and the best.
    pub checkpoints: u64,
    /// Memory of the members trained at once (each held twice while its start state is built).
    pub memory_bytes: u64,
    /// Disk of the checkpoints kept at once.
    pub disk_bytes: u64,
    /// Member-steps the run trains: population × steps.
    pub member_steps: u64,
    /// Seconds of one member-step, probed on the sampled member (`None`: the task cannot tell).
    pub step_seconds: Option<f64>,
    /// Members trained at once.
    pub workers: usize,
}

/// Estimates the run `cfg` of `task` with `workers` members trained at once.
pub fn estimate<T: Task>(task: &T, cfg: &RunConfig, workers: usize) -> Result<Footprint> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let genome = pbtnas_genome::ops::sample(task.space(), &mut rng);
    let mut member = task.init(&genome, cfg.seed)?;
    let state = task.save(&member)?;
    let saved = pbtnas_nn::checkpoint::encode(&state, &serde_json::json!({}))?.len() as u64;
    let member_bytes = saved + task.grown_state_bytes();
    let population = cfg.population as u64;
    let policy = &cfg.checkpoints;
    let checkpoints = match policy.keep_all {
        true => population * (cfg.steps as u64 + 1),
        false => {
            let generations = policy.keep_generations.max(1) as u64 + policy.keep_inputs as u64;
            population * generations.min(cfg.steps as u64 + 1) + policy.keep_best as u64
        }
    };
    Ok(Footprint {
        member_bytes,
        checkpoints,
        memory_bytes: 2 * member_bytes * workers.max(1) as u64,
        disk_bytes: member_bytes * checkpoints,
        member_steps: population * cfg.steps as u64,
        step_seconds: probe(task, &mut member, cfg.seed)?,
        workers: workers.max(1),
    })
}

/// The task's probe of a member-step, its artifacts in a folder of its own (runs started at once
/// in one process do not share it) removed afterwards.
fn probe<T: Task>(task: &T, member: &mut T::Member, seed: u64) -> Result<Option<f64>> {
    static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let artifacts = std::env::temp_dir().join(format!("pbtnas-probe-{}-{n}", std::process::id()));
    let ctx = StepContext {
        generation: 0,
        slot: 0,
        seed,
        artifacts: artifacts.clone(),
        progress: Default::default(),
    };
    let seconds = task.probe_step_seconds(member, &ctx);
    let _ = std::fs::remove_dir_all(&artifacts);
    seconds
}

/// `1.5 GB`-style sizes.
pub fn human_bytes(b: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    match u {
        0 => format!("{b} B"),
        _ => format!("{v:.1} {}", units[u]),
    }
}

impl Footprint {
    /// One line for the run's start.
    pub fn describe(&self) -> String {
        format!(
            "estimated size: {} per member, {} of memory for the members trained at once, {} of disk for {} checkpoints kept at once; {} member-steps{}",
            human_bytes(self.member_bytes),
            human_bytes(self.memory_bytes),
            human_bytes(self.disk_bytes),
            self.checkpoints,
            self.member_steps,
            match self.step_seconds {
                // Measured on the 2-core CPU: two members at once, a thread each, take about
                // as long per step as one member alone on both threads.
                Some(s) => format!(
                    ", {s:.1} s each by a probe of a few iterations: about {} with {} trained at once (the ETA follows the first step)",
                    crate::progress::human_duration(
                        s * self.member_steps as f64 / self.workers as f64
                    ),
                    self.workers
                ),
                None => " (the ETA follows the first)".to_string(),
            }
        )
    }

    /// An error when the estimate is beyond `free_memory` or `free_disk` (bytes; `None`: not
    /// known), saying what to change and how to go on anyway.
    pub fn check(&self, free_memory: Option<u64>, free_disk: Option<u64>) -> Result<()> {
        let beyond = |need: u64, free: Option<u64>| free.is_some_and(|f| need > f);
        let mut problems = Vec::new();
        if beyond(self.memory_bytes, free_memory) {
            problems.push(format!(
                "memory: {} for the members trained at once ({} each), {} available (fewer workers or a smaller model)",
                human_bytes(self.memory_bytes),
                human_bytes(self.member_bytes),
                human_bytes(free_memory.unwrap_or(0))
            ));
        }
        if beyond(self.disk_bytes, free_disk) {
            problems.push(format!(
                "disk: {} for {} checkpoints of {} kept at once, {} free (a smaller population, or checkpoints.keep_generations / keep_inputs / keep_all)",
                human_bytes(self.disk_bytes),
                self.checkpoints,
                human_bytes(self.member_bytes),
                human_bytes(free_disk.unwrap_or(0))
            ));
        }
        if !problems.is_empty() {
            bail!(
                "this run is beyond the machine; nothing was written:\n  {}\npass --allow-large to start it anyway",
                problems.join("\n  ")
            );
        }
        Ok(())
    }
}

/// Memory available to new processes (`MemAvailable`), if the system says.
pub fn free_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Free bytes on the filesystem holding `path` (or its nearest existing ancestor).
pub fn free_disk(path: &Path) -> Option<u64> {
    let mut p = path;
    while !p.exists() {
        p = match p.parent()? {
            q if q.as_os_str().is_empty() => Path::new("."),
            q => q,
        };
    }
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `s` a properly sized, writable statvfs.
    match unsafe { libc::statvfs(c.as_ptr(), &mut s) } {
        0 => Some(s.f_bavail as u64 * s.f_frsize as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(memory: u64, disk: u64) -> Footprint {
        Footprint {
            member_bytes: 10,
            checkpoints: 3,
            memory_bytes: memory,
            disk_bytes: disk,
            member_steps: 4,
            step_seconds: None,
            workers: 2,
        }
    }

    #[test]
    fn refuses_only_what_is_beyond_the_machine() {
        assert!(fp(100, 100).check(Some(100), Some(100)).is_ok());
        assert!(fp(100, 100).check(None, None).is_ok());
        let e = fp(101, 100)
            .check(Some(100), Some(100))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("memory: 101 B") && !e.contains("disk:") && e.contains("--allow-large"),
            "{e}"
        );
        let e = fp(1, 2_500_000)
            .check(Some(100), Some(1_000_000))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("disk: 2.5 MB for 3 checkpoints of 10 B") && !e.contains("memory:"),
            "{e}"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000_000), "1.5 GB");
        assert!(free_memory().is_some_and(|m| m > 0));
        assert!(free_disk(Path::new("no/such/dir")).is_some_and(|d| d > 0));
    }

    #[test]
    fn the_probed_step_time_gives_the_run_time() {
        let probed = Footprint {
            step_seconds: Some(90.0),
            ..fp(1, 1)
        };
        assert!(
            probed
                .describe()
                .ends_with("4 member-steps, 90.0 s each by a probe of a few iterations: about 3m 00s with 2 trained at once (the ETA follows the first step)"),
            "{}",
            probed.describe()
        );
        assert!(fp(1, 1)
            .describe()
            .ends_with("4 member-steps (the ETA follows the first)"));
    }
}
