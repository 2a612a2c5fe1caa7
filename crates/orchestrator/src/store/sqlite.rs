//! The embedded SQLite store (`<run dir>/pbtnas.sqlite`, WAL mode).

use std::path::Path;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::rules::{
    after_error, lease, schema, status_str, Lease, Schema, TrialRow, TRIAL_COLUMNS,
};
use super::{unix_now as now, NewTrial, Outcome, RunInfo, Store, Trial, TrialStatus};

/// Version 2 added leases (`worker`, `lease_until`), version 3 the running step's `phase`;
/// older stores are migrated on open.
const SCHEMA_VERSION: u32 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    generation INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    genome TEXT NOT NULL,
    plan TEXT NOT NULL,
    origin TEXT NOT NULL,
    parent_ckpt TEXT,
    donor_ckpt TEXT,
    train_seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    fitness REAL,
    ckpt TEXT,
    metrics TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    started_at REAL,
    finished_at REAL,
    worker TEXT,
    lease_until REAL,
    phase TEXT,
    PRIMARY KEY (generation, slot)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generation INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL
);
";

/// A run store in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn trial_from_row(row: &Row) -> Result<Trial> {
    TrialRow {
        generation: row.get(0)?,
        slot: row.get::<_, i64>(1)? as usize,
        plan: row.get(2)?,
        origin: row.get(3)?,
        parent_ckpt: row.get(4)?,
        donor_ckpt: row.get(5)?,
        train_seed: row.get::<_, i64>(6)? as u64,
        status: row.get(7)?,
        attempts: row.get(8)?,
        failures: row.get(9)?,
        fitness: row.get(10)?,
        ckpt: row.get(11)?,
        metrics: row.get(12)?,
        error: row.get(13)?,
        started_at: row.get(14)?,
        finished_at: row.get(15)?,
        worker: row.get(16)?,
        lease_until: row.get(17)?,
        phase: row.get(18)?,
    }
    .decode()
}

impl SqliteStore {
    /// Opens (creating if needed) the store file.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open store {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let what = format!("store {}", path.display());
        match schema(version.as_deref(), SCHEMA_VERSION, 1, &what)? {
            Schema::New => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            Schema::Current => {}
            Schema::Migrate { from } => {
                let leases = if from == 1 {
                    "ALTER TABLE trials ADD COLUMN worker TEXT;
                     ALTER TABLE trials ADD COLUMN lease_until REAL;"
                } else {
                    ""
                };
                conn.execute_batch(&format!(
                    "BEGIN IMMEDIATE;
                     {leases}
                     ALTER TABLE trials ADD COLUMN phase TEXT;
                     UPDATE meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema_version';
                     COMMIT;"
                ))?;
            }
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Opens the store of an existing run directory; never creates one.
    pub fn open_existing(path: &Path) -> Result<Self> {
        if !path.exists() {
            bail!(
                "no run store at {} (is this a run directory?)",
                path.display()
            );
        }
        Self::open(path)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().expect("store lock")
    }

    fn query_trials(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Trial>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {TRIAL_COLUMNS} FROM trials {filter} ORDER BY generation, slot"
        ))?;
        let mut rows = stmt.query(args)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(trial_from_row(row)?);
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn open_run(&self, info: &RunInfo) -> Result<Option<RunInfo>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let get = |k: &str| -> rusqlite::Result<Option<String>> {
            tx.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
        };
        if let Some(config_json) = get("config")? {
            let stored = RunInfo {
                config_json,
                space_id: get("space_id")?.unwrap_or_default(),
                space_yaml: get("space_yaml")?.unwrap_or_default(),
            };
            return Ok(Some(stored));
        }
        for (k, v) in [
            ("config", &info.config_json),
            ("space_id", &info.space_id),
            ("space_yaml", &info.space_yaml),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(None)
    }

    fn insert_generation(
        &self,
        generation: u32,
        trials: &[NewTrial],
        event: &serde_json::Value,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: i64 = tx.query_row(
            "SELECT COUNT(*) FROM trials WHERE generation = ?1",
            [generation],
            |r| r.get(0),
        )?;
        if exists > 0 {
            return Ok(false);
        }
        for t in trials {
            tx.execute(
                &format!("INSERT INTO trials (generation, slot, genome, plan, origin, parent_ckpt, donor_ckpt, train_seed, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '{}')", status_str(TrialStatus::Pending)),
                params![
                    generation,
                    t.slot as i64,
                    t.plan.genome.to_string(),
                    serde_json::to_string(&t.plan)?,
                    serde_json::to_string(&t.origin)?,
                    t.parent_ckpt,
                    t.donor_ckpt,
                    t.train_seed as i64,
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO events (generation, kind, payload, created_at) VALUES (?1, 'generation', ?2, ?3)",
            params![generation, event.to_string(), now()],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn latest_generation(&self) -> Result<Option<u32>> {
        Ok(self
            .conn()
            .query_row("SELECT MAX(generation) FROM trials", [], |r| r.get(0))?)
    }

    fn trials(&self, generation: u32) -> Result<Vec<Trial>> {
        self.query_trials("WHERE generation = ?1", [generation])
    }

    fn all_trials(&self) -> Result<Vec<Trial>> {
        self.query_trials("", [])
    }

    fn lease_trial(
        &self,
        generation: u32,
        worker: &str,
        ttl: f64,
        max_attempts: u32,
    ) -> Result<Option<Trial>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let t = now();
        loop {
            let found: Option<(i64, u32, String)> = tx
                .query_row(
                    "SELECT slot, attempts, status FROM trials WHERE generation = ?1 AND (status = 'pending' OR (status = 'running' AND lease_until < ?2)) ORDER BY slot LIMIT 1",
                    params![generation, t],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((slot, attempts, status)) = found else {
                tx.commit()?;
                return Ok(None);
            };
            if let Lease::Fail(error) = lease(&status, attempts, max_attempts) {
                tx.execute(
                    "UPDATE trials SET status = 'failed', error = ?3, finished_at = ?4, lease_until = NULL WHERE generation = ?1 AND slot = ?2",
                    params![generation, slot, error, t],
                )?;
                continue;
            }
            tx.execute(
                "UPDATE trials SET status = 'running', attempts = attempts + 1, started_at = ?3, worker = ?4, lease_until = ?5, phase = 'training' WHERE generation = ?1 AND slot = ?2",
                params![generation, slot, t, worker, t + ttl],
            )?;
            let trial = tx.query_row(
                &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE generation = ?1 AND slot = ?2"),
                params![generation, slot],
                |r| Ok(trial_from_row(r)),
            )??;
            tx.commit()?;
            return Ok(Some(trial));
        }
    }

    fn renew_lease(&self, generation: u32, slot: usize, worker: &str, ttl: f64) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE trials SET lease_until = ?4 WHERE generation = ?1 AND slot = ?2 AND status = 'running' AND worker = ?3",
            params![generation, slot as i64, worker, now() + ttl],
        )? == 1)
    }

    fn set_phase(&self, generation: u32, slot: usize, worker: &str, phase: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE trials SET phase = ?4 WHERE generation = ?1 AND slot = ?2 AND status = 'running' AND worker = ?3",
            params![generation, slot as i64, worker, phase],
        )?;
        Ok(())
    }

    fn release(&self, generation: u32, slot: usize, worker: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE trials SET status = 'pending', lease_until = NULL WHERE generation = ?1 AND slot = ?2 AND status = 'running' AND worker = ?3",
            params![generation, slot as i64, worker],
        )? == 1)
    }

    fn finish_trial(
        &self,
        generation: u32,
        slot: usize,
        worker: &str,
        outcome: &Outcome,
        max_failures: u32,
    ) -> Result<Option<TrialStatus>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = params![generation, slot as i64, worker];
        let held: Option<u32> = tx
            .query_row(
                "SELECT failures FROM trials WHERE generation = ?1 AND slot = ?2 AND status = 'running' AND worker = ?3",
                key,
                |r| r.get(0),
            )
            .optional()?;
        let Some(failures) = held else {
            return Ok(None);
        };
        let status = match outcome {
            Outcome::Done {
                fitness,
                ckpt,
                metrics,
            } => {
                tx.execute(
                    "UPDATE trials SET status = 'done', fitness = ?3, ckpt = ?4, metrics = ?5, error = NULL, finished_at = ?6, lease_until = NULL WHERE generation = ?1 AND slot = ?2",
                    params![generation, slot as i64, fitness, ckpt, serde_json::to_string(metrics)?, now()],
                )?;
                TrialStatus::Done
            }
            Outcome::Error(message) => {
                let status = after_error(failures, max_failures);
                tx.execute(
                    "UPDATE trials SET status = ?3, failures = failures + 1, error = ?4, finished_at = ?5, lease_until = NULL WHERE generation = ?1 AND slot = ?2",
                    params![generation, slot as i64, status_str(status), message, now()],
                )?;
                status
            }
        };
        tx.commit()?;
        Ok(Some(status))
    }

    fn add_event(&self, generation: u32, kind: &str, payload: &serde_json::Value) -> Result<()> {
        self.conn().execute(
            "INSERT INTO events (generation, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![generation, kind, payload.to_string(), now()],
        )?;
        Ok(())
    }

    fn events(&self, kind: &str) -> Result<Vec<(u32, serde_json::Value)>> {
        let conn = self.conn();
        let mut q =
            conn.prepare("SELECT generation, payload FROM events WHERE kind = ?1 ORDER BY id")?;
        let rows = q.query_map(params![kind], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|r| {
            let (g, payload) = r?;
            Ok((g, serde_json::from_str(&payload)?))
        })
        .collect()
    }

    fn mark_complete(&self) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', '1')",
            [],
        )?;
        Ok(())
    }

    fn is_complete(&self) -> Result<bool> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'complete'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .is_some())
    }
}
