//! What both stores decide, apart from their SQL: the trial row's columns and their decoding, the
//! status names, the lease rule, the rule after a failed step, and the schema version check.

use anyhow::{bail, Context, Result};

use super::{NewTrial, Trial, TrialStatus};

/// The columns of a trial row, in the order of [`TrialRow`].
pub(crate) const TRIAL_COLUMNS: &str = "generation, slot, plan, origin, parent_ckpt, donor_ckpt, train_seed, status, attempts, failures, fitness, ckpt, metrics, error, started_at, finished_at, worker, lease_until, phase";

/// A trial row's values as either database gives them ([`TRIAL_COLUMNS`]).
pub(crate) struct TrialRow {
    pub generation: u32,
    pub slot: usize,
    /// JSON of the plan, the origin and the metrics.
    pub plan: String,
    pub origin: String,
    pub parent_ckpt: Option<String>,
    pub donor_ckpt: Option<String>,
    pub train_seed: u64,
    pub status: String,
    pub attempts: u32,
    pub failures: u32,
    pub fitness: Option<f64>,
    pub ckpt: Option<String>,
    pub metrics: String,
    pub error: Option<String>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub worker: Option<String>,
    pub lease_until: Option<f64>,
    pub phase: Option<String>,
}

impl TrialRow {
    pub(crate) fn decode(self) -> Result<Trial> {
        Ok(Trial {
            spec: NewTrial {
                generation: self.generation,
                slot: self.slot,
                plan: serde_json::from_str(&self.plan).context("stored plan")?,
                origin: serde_json::from_str(&self.origin).context("stored origin")?,
                parent_ckpt: self.parent_ckpt,
                donor_ckpt: self.donor_ckpt,
                train_seed: self.train_seed,
            },
            status: parse_status(&self.status)?,
            attempts: self.attempts,
            failures: self.failures,
            fitness: self.fitness,
            ckpt: self.ckpt,
            metrics: serde_json::from_str(&self.metrics).context("stored metrics")?,
            error: self.error,
            started_at: self.started_at,
            finished_at: self.finished_at,
            worker: self.worker,
            lease_until: self.lease_until,
            phase: self.phase,
        })
    }
}

pub(crate) fn status_str(s: TrialStatus) -> &'static str {
    match s {
        TrialStatus::Pending => "pending",
        TrialStatus::Running => "running",
        TrialStatus::Done => "done",
        TrialStatus::Failed => "failed",
    }
}

pub(crate) fn parse_status(s: &str) -> Result<TrialStatus> {
    Ok(match s {
        "pending" => TrialStatus::Pending,
        "running" => TrialStatus::Running,
        "done" => TrialStatus::Done,
        "failed" => TrialStatus::Failed,
        other => bail!("unknown trial status '{other}' in store"),
    })
}

/// A step whose worker was lost this many times `max_attempts` is marked failed.
const LOST_WORKER_FACTOR: u32 = 3;

/// What a lease does with the lowest leasable step (pending, or running with a lapsed lease).
#[derive(Debug, PartialEq)]
pub(crate) enum Lease {
    Take,
    /// Its workers keep dying (a crash or out-of-memory kill inside the step): failed, with
    /// this error, and the next step is looked at.
    Fail(String),
}

/// The lease rule for a step found in `status` after `attempts` starts.
pub(crate) fn lease(status: &str, attempts: u32, max_attempts: u32) -> Lease {
    if status == status_str(TrialStatus::Running)
        && attempts >= max_attempts.max(1) * LOST_WORKER_FACTOR
    {
        Lease::Fail(format!("lost its worker on each of {attempts} attempts"))
    } else {
        Lease::Take
    }
}

/// A step that has failed `failures` times fails once more: retried, or failed for good at
/// `max_failures`.
pub(crate) fn after_error(failures: u32, max_failures: u32) -> TrialStatus {
    if failures + 1 >= max_failures {
        TrialStatus::Failed
    } else {
        TrialStatus::Pending
    }
}

/// What opening a store does about its schema.
#[derive(Debug, PartialEq)]
pub(crate) enum Schema {
    /// No version recorded: a new store; record `current`.
    New,
    Current,
    /// An older version this pbtnas migrates from.
    Migrate {
        from: u32,
    },
}

/// The schema rule of both stores: a store records its version; an older one at or above
/// `oldest` is migrated, anything else refused (`what` names the store in the message).
pub(crate) fn schema(found: Option<&str>, current: u32, oldest: u32, what: &str) -> Result<Schema> {
    let Some(found) = found else {
        return Ok(Schema::New);
    };
    match found.parse::<u32>() {
        Ok(v) if v == current => Ok(Schema::Current),
        Ok(v) if (oldest..current).contains(&v) => Ok(Schema::Migrate { from: v }),
        _ => bail!("{what} has schema version {found}; this pbtnas reads version {current} (and migrates from {oldest})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_whose_workers_keep_dying_fails_at_three_times_its_attempts() {
        assert_eq!(lease("pending", 100, 2), Lease::Take);
        assert_eq!(lease("running", 5, 2), Lease::Take);
        assert_eq!(
            lease("running", 6, 2),
            Lease::Fail("lost its worker on each of 6 attempts".into())
        );
        // max_attempts 0 counts as 1.
        assert_eq!(lease("running", 2, 0), Lease::Take);
        assert!(matches!(lease("running", 3, 0), Lease::Fail(_)));
    }

    #[test]
    fn a_failed_step_is_retried_until_its_last_allowed_failure() {
        assert_eq!(after_error(0, 2), TrialStatus::Pending);
        assert_eq!(after_error(1, 2), TrialStatus::Failed);
        assert_eq!(after_error(0, 1), TrialStatus::Failed);
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for s in [
            TrialStatus::Pending,
            TrialStatus::Running,
            TrialStatus::Done,
            TrialStatus::Failed,
        ] {
            assert_eq!(parse_status(status_str(s)).unwrap(), s);
        }
        assert!(parse_status("paused").is_err());
    }

    #[test]
    fn schema_versions_are_recorded_migrated_or_refused() {
        assert_eq!(schema(None, 3, 1, "s").unwrap(), Schema::New);
        assert_eq!(schema(Some("3"), 3, 1, "s").unwrap(), Schema::Current);
        assert_eq!(
            schema(Some("1"), 3, 1, "s").unwrap(),
            Schema::Migrate { from: 1 }
        );
        let newer = schema(Some("4"), 3, 1, "store x").unwrap_err().to_string();
        assert_eq!(
            newer,
            "store x has schema version 4; this pbtnas reads version 3 (and migrates from 1)"
        );
        assert!(schema(Some("0"), 3, 1, "s").is_err());
        assert!(schema(Some("v2"), 3, 1, "s").is_err());
        assert!(schema(Some("1"), 1, 1, "s").is_ok());
    }
}
