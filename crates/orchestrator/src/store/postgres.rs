//! The PostgreSQL store: the same trials, leases and plans as the SQLite store, in a database
//! that workers on many machines share. Many runs can live in one database; each is keyed by its
//! name and refuses a different config. Leases use the database's clock and
//! `FOR UPDATE SKIP LOCKED`; a lost connection (a database restart) is retried with backoff.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use postgres::{Client, GenericClient, NoTls, Row};
use rustls::pki_types::pem::PemObject;

use super::rules::{
    after_error, lease, schema, status_str, Lease, Schema, TrialRow, TRIAL_COLUMNS,
};
use super::{NewTrial, Outcome, RunInfo, Store, Trial, TrialStatus};

/// The schema this pbtnas writes (the rule of both stores: an older one is migrated, another
/// refused; there is no older PostgreSQL schema yet).
const SCHEMA_VERSION: u32 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pbtnas_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pbtnas_runs (
    run TEXT PRIMARY KEY, config TEXT NOT NULL, space_id TEXT NOT NULL, space_yaml TEXT NOT NULL,
    complete BOOLEAN NOT NULL DEFAULT FALSE);
CREATE TABLE IF NOT EXISTS pbtnas_trials (
    run TEXT NOT NULL REFERENCES pbtnas_runs (run), generation INTEGER NOT NULL,
    slot INTEGER NOT NULL, genome TEXT NOT NULL, plan TEXT NOT NULL, origin TEXT NOT NULL,
    parent_ckpt TEXT, donor_ckpt TEXT, train_seed BIGINT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
    fitness DOUBLE PRECISION, ckpt TEXT, metrics TEXT NOT NULL DEFAULT '{}', error TEXT,
    started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION, worker TEXT,
    lease_until DOUBLE PRECISION, phase TEXT, PRIMARY KEY (run, generation, slot));
CREATE TABLE IF NOT EXISTS pbtnas_events (
    id BIGSERIAL PRIMARY KEY, run TEXT NOT NULL REFERENCES pbtnas_runs (run),
    generation INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL);
";

/// The database's clock, in Unix seconds.
const NOW: &str = "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION";

/// How long a lost connection is retried before the store gives up.
const RECONNECT_FOR: Duration = Duration::from_secs(300);

/// `postgres://user:***@host/db`: a connection URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn connect(url: &str) -> Result<Client> {
    let config: postgres::Config = url
        .parse()
        .map_err(|e| anyhow!("bad store URL {}: {e}", redacted(url)))?;
    let client = match config.get_ssl_mode() {
        postgres::config::SslMode::Require => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if let Some(file) = std::env::var_os("PGSSLROOTCERT") {
                let pem = std::fs::read(&file)
                    .with_context(|| format!("reading PGSSLROOTCERT {}", file.to_string_lossy()))?;
                for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                    roots.add(cert.context("a certificate in PGSSLROOTCERT")?)?;
                }
            }
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        }
        _ => config.connect(NoTls),
    };
    client.with_context(|| format!("cannot connect to {}", redacted(url)))
}

/// Whether `e` means the connection is gone rather than that the statement failed: a closed
/// socket, a server shutting down or restarting (SQLSTATE 57P01-57P03, sent as the connection is
/// cut) or a connection exception (class 08).
fn connection_lost(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || e.code().is_some_and(|c| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(c)
                || c.code().starts_with("08")
        })
}

/// A run's store in a PostgreSQL database.
pub struct PostgresStore {
    url: String,
    run: String,
    client: Mutex<Client>,
}

fn trial_from_row(row: &Row) -> Result<Trial> {
    TrialRow {
        generation: row.get::<_, i32>(0) as u32,
        slot: row.get::<_, i32>(1) as usize,
        plan: row.get(2),
        origin: row.get(3),
        parent_ckpt: row.get(4),
        donor_ckpt: row.get(5),
        train_seed: row.get::<_, i64>(6) as u64,
        status: row.get(7),
        attempts: row.get::<_, i32>(8) as u32,
        failures: row.get::<_, i32>(9) as u32,
        fitness: row.get(10),
        ckpt: row.get(11),
        metrics: row.get(12),
        error: row.get(13),
        started_at: row.get(14),
        finished_at: row.get(15),
        worker: row.get(16),
        lease_until: row.get(17),
        phase: row.get(18),
    }
    .decode()
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`, `?sslmode=require`
    /// for TLS) for the run named `run`, creating the schema if the database has none.
    pub fn connect(url: &str, run: &str) -> Result<Self> {
        let store = Self {
            url: url.to_string(),
            run: run.to_string(),
            client: Mutex::new(connect(url)?),
        };
        let version = store.with(|c| {
            let mut tx = c.transaction()?;
            // Workers starting together must not race on CREATE TABLE.
            tx.execute("SELECT pg_advisory_xact_lock(7461623)", &[])?;
            tx.batch_execute(SCHEMA)?;
            let version = tx
                .query_opt(
                    "SELECT value FROM pbtnas_meta WHERE key = 'schema_version'",
                    &[],
                )?
                .map(|r| r.get::<_, String>(0));
            if version.is_none() {
                tx.execute(
                    "INSERT INTO pbtnas_meta (key, value) VALUES ('schema_version', $1)",
                    &[&SCHEMA_VERSION.to_string()],
                )?;
            }
            tx.commit()?;
            Ok(version)
        })?;
        let what = format!("the database at {}", redacted(url));
        match schema(version.as_deref(), SCHEMA_VERSION, SCHEMA_VERSION, &what)? {
            Schema::New | Schema::Current => Ok(store),
            // None yet: `oldest` is the current version.
            Schema::Migrate { from } => bail!("{what}: no migration from schema version {from}"),
        }
    }

    /// The stored identity of this run, if it exists.
    pub fn run_info(&self) -> Result<Option<RunInfo>> {
        let row = self.with(|c| {
            c.query_opt(
                "SELECT config, space_id, space_yaml FROM pbtnas_runs WHERE run = $1",
                &[&self.run],
            )
        })?;
        Ok(row.map(|r| RunInfo {
            config_json: r.get(0),
            space_id: r.get(1),
            space_yaml: r.get(2),
        }))
    }

    /// Runs `f` on the connection; when the connection is lost (a database restart), reconnects
    /// with backoff and runs it again. Every `f` here is one transaction whose repetition is
    /// harmless: a lease taken twice expires, a plan or a result committed twice is refused.
    fn with<R>(&self, mut f: impl FnMut(&mut Client) -> Result<R, postgres::Error>) -> Result<R> {
        let mut client = self.client.lock().expect("store lock");
        let start = std::time::Instant::now();
        let mut wait = Duration::from_millis(200);
        loop {
            match f(&mut client) {
                Ok(r) => return Ok(r),
                Err(e) if client.is_closed() || connection_lost(&e) => {
                    if start.elapsed() > RECONNECT_FOR {
                        return Err(e)
                            .context(format!("the store at {} is gone", redacted(&self.url)));
                    }
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                    if let Ok(c) = connect(&self.url) {
                        *client = c;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn query_trials(&self, filter: &str, generation: Option<u32>) -> Result<Vec<Trial>> {
        let rows = self.with(|c| {
            let sql = format!(
                "SELECT {TRIAL_COLUMNS} FROM pbtnas_trials WHERE run = $1 {filter} ORDER BY generation, slot"
            );
            match generation {
                Some(g) => c.query(&sql, &[&self.run, &(g as i32)]),
                None => c.query(&sql, &[&self.run]),
            }
        })?;
        rows.iter().map(trial_from_row).collect()
    }
}

/// The trial at (generation, slot) inside a transaction.
fn get_trial(
    c: &mut impl GenericClient,
    run: &str,
    g: i32,
    slot: i32,
) -> Result<Row, postgres::Error> {
    c.query_one(
        &format!(
            "SELECT {TRIAL_COLUMNS} FROM pbtnas_trials WHERE run = $1 AND generation = $2 AND slot = $3"
        ),
        &[&run, &g, &slot],
    )
}

impl Store for PostgresStore {
    fn open_run(&self, info: &RunInfo) -> Result<Option<RunInfo>> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let inserted = tx.execute(
                "INSERT INTO pbtnas_runs (run, config, space_id, space_yaml) VALUES ($1, $2, $3, $4) ON CONFLICT (run) DO NOTHING",
                &[&self.run, &info.config_json, &info.space_id, &info.space_yaml],
            )?;
            let stored = match inserted {
                1 => None,
                _ => {
                    let r = tx.query_one(
                        "SELECT config, space_id, space_yaml FROM pbtnas_runs WHERE run = $1",
                        &[&self.run],
                    )?;
                    Some(RunInfo {
                        config_json: r.get(0),
                        space_id: r.get(1),
                        space_yaml: r.get(2),
                    })
                }
            };
            tx.commit()?;
            Ok(stored)
        })
    }

    fn insert_generation(
        &self,
        generation: u32,
        trials: &[NewTrial],
        event: &serde_json::Value,
    ) -> Result<bool> {
        let rows: Vec<(String, String, String)> = trials
            .iter()
            .map(|t| {
                Ok((
                    t.plan.genome.to_string(),
                    serde_json::to_string(&t.plan)?,
                    serde_json::to_string(&t.origin)?,
                ))
            })
            .collect::<Result<_>>()?;
        let g = generation as i32;
        self.with(|c| {
            let mut tx = c.transaction()?;
            // One planner per run at a time; the second finds the generation there.
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&self.run])?;
            let exists: i64 = tx
                .query_one("SELECT COUNT(*) FROM pbtnas_trials WHERE run = $1 AND generation = $2", &[&self.run, &g])?
                .get(0);
            if exists > 0 {
                return Ok(false);
            }
            for (t, (genome, plan, origin)) in trials.iter().zip(&rows) {
                tx.execute(
                    "INSERT INTO pbtnas_trials (run, generation, slot, genome, plan, origin, parent_ckpt, donor_ckpt, train_seed, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')",
                    &[&self.run, &g, &(t.slot as i32), genome, plan, origin, &t.parent_ckpt, &t.donor_ckpt, &(t.train_seed as i64)],
                )?;
            }
            tx.execute(
                &format!("INSERT INTO pbtnas_events (run, generation, kind, payload, created_at) VALUES ($1, $2, 'generation', $3, {NOW})"),
                &[&self.run, &g, &event.to_string()],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn latest_generation(&self) -> Result<Option<u32>> {
        let g: Option<i32> = self.with(|c| {
            Ok(c.query_one(
                "SELECT MAX(generation) FROM pbtnas_trials WHERE run = $1",
                &[&self.run],
            )?
            .get(0))
        })?;
        Ok(g.map(|g| g as u32))
    }

    fn trials(&self, generation: u32) -> Result<Vec<Trial>> {
        self.query_trials("AND generation = $2", Some(generation))
    }

    fn all_trials(&self) -> Result<Vec<Trial>> {
        self.query_trials("", None)
    }

    fn lease_trial(
        &self,
        generation: u32,
        worker: &str,
        ttl: f64,
        max_attempts: u32,
    ) -> Result<Option<Trial>> {
        let g = generation as i32;
        let row = self.with(|c| {
            let mut tx = c.transaction()?;
            loop {
                let found = tx.query_opt(
                    &format!("SELECT slot, attempts, status FROM pbtnas_trials WHERE run = $1 AND generation = $2 AND (status = 'pending' OR (status = 'running' AND lease_until < {NOW})) ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED"),
                    &[&self.run, &g],
                )?;
                let Some(found) = found else {
                    tx.commit()?;
                    return Ok(None);
                };
                let (slot, attempts, status): (i32, i32, String) = (found.get(0), found.get(1), found.get(2));
                if let Lease::Fail(error) = lease(&status, attempts as u32, max_attempts) {
                    tx.execute(
                        &format!("UPDATE pbtnas_trials SET status = 'failed', error = $4, finished_at = {NOW}, lease_until = NULL WHERE run = $1 AND generation = $2 AND slot = $3"),
                        &[&self.run, &g, &slot, &error],
                    )?;
                    continue;
                }
                tx.execute(
                    &format!("UPDATE pbtnas_trials SET status = 'running', attempts = attempts + 1, started_at = {NOW}, worker = $4, lease_until = {NOW} + $5, phase = 'training' WHERE run = $1 AND generation = $2 AND slot = $3"),
                    &[&self.run, &g, &slot, &worker, &ttl],
                )?;
                let row = get_trial(&mut tx, &self.run, g, slot)?;
                tx.commit()?;
                return Ok(Some(row));
            }
        })?;
        row.as_ref().map(trial_from_row).transpose()
    }

    fn renew_lease(&self, generation: u32, slot: usize, worker: &str, ttl: f64) -> Result<bool> {
        self.with(|c| {
            Ok(c.execute(
                &format!("UPDATE pbtnas_trials SET lease_until = {NOW} + $5 WHERE run = $1 AND generation = $2 AND slot = $3 AND status = 'running' AND worker = $4"),
                &[&self.run, &(generation as i32), &(slot as i32), &worker, &ttl],
            )? == 1)
        })
    }

    fn set_phase(&self, generation: u32, slot: usize, worker: &str, phase: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE pbtnas_trials SET phase = $5 WHERE run = $1 AND generation = $2 AND slot = $3 AND status = 'running' AND worker = $4",
                &[&self.run, &(generation as i32), &(slot as i32), &worker, &phase],
            )
        })?;
        Ok(())
    }

    fn release(&self, generation: u32, slot: usize, worker: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE pbtnas_trials SET status = 'pending', lease_until = NULL WHERE run = $1 AND generation = $2 AND slot = $3 AND status = 'running' AND worker = $4",
                &[&self.run, &(generation as i32), &(slot as i32), &worker],
            )? == 1)
        })
    }

    fn finish_trial(
        &self,
        generation: u32,
        slot: usize,
        worker: &str,
        outcome: &Outcome,
        max_failures: u32,
    ) -> Result<Option<TrialStatus>> {
        let (g, s) = (generation as i32, slot as i32);
        let metrics = match outcome {
            Outcome::Done { metrics, .. } => serde_json::to_string(metrics)?,
            Outcome::Error(_) => String::new(),
        };
        self.with(|c| {
            let mut tx = c.transaction()?;
            let held = tx.query_opt(
                "SELECT failures FROM pbtnas_trials WHERE run = $1 AND generation = $2 AND slot = $3 AND status = 'running' AND worker = $4 FOR UPDATE",
                &[&self.run, &g, &s, &worker],
            )?;
            let Some(held) = held else {
                return Ok(None);
            };
            let failures: i32 = held.get(0);
            let status = match outcome {
                Outcome::Done { fitness, ckpt, .. } => {
                    tx.execute(
                        &format!("UPDATE pbtnas_trials SET status = 'done', fitness = $4, ckpt = $5, metrics = $6, error = NULL, finished_at = {NOW}, lease_until = NULL WHERE run = $1 AND generation = $2 AND slot = $3"),
                        &[&self.run, &g, &s, fitness, ckpt, &metrics],
                    )?;
                    TrialStatus::Done
                }
                Outcome::Error(message) => {
                    let status = after_error(failures as u32, max_failures);
                    tx.execute(
                        &format!("UPDATE pbtnas_trials SET status = $4, failures = failures + 1, error = $5, finished_at = {NOW}, lease_until = NULL WHERE run = $1 AND generation = $2 AND slot = $3"),
                        &[&self.run, &g, &s, &status_str(status), message],
                    )?;
                    status
                }
            };
            tx.commit()?;
            Ok(Some(status))
        })
    }

    fn add_event(&self, generation: u32, kind: &str, payload: &serde_json::Value) -> Result<()> {
        self.with(|c| {
            c.execute(
                &format!("INSERT INTO pbtnas_events (run, generation, kind, payload, created_at) VALUES ($1, $2, $3, $4, {NOW})"),
                &[&self.run, &(generation as i32), &kind, &payload.to_string()],
            )
        })?;
        Ok(())
    }

    fn events(&self, kind: &str) -> Result<Vec<(u32, serde_json::Value)>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT generation, payload FROM pbtnas_events WHERE run = $1 AND kind = $2 ORDER BY id",
                &[&self.run, &kind],
            )
        })?;
        rows.iter()
            .map(|r| {
                let (g, payload): (i32, String) = (r.get(0), r.get(1));
                Ok((g as u32, serde_json::from_str(&payload)?))
            })
            .collect()
    }

    fn mark_complete(&self) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE pbtnas_runs SET complete = TRUE WHERE run = $1",
                &[&self.run],
            )
        })?;
        Ok(())
    }

    fn is_complete(&self) -> Result<bool> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT complete FROM pbtnas_runs WHERE run = $1",
                &[&self.run],
            )?
            .is_some_and(|r| r.get::<_, bool>(0)))
        })
    }
}
