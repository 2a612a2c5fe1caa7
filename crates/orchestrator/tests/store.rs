//! The stores' leases: one holder per member-step, takeover after expiry, a lost lease's result
//! dropped, a step whose workers keep dying marked failed, one plan per generation; the same
//! checks on SQLite and on PostgreSQL (the `_postgres` tests need `PBTNAS_TEST_POSTGRES`, a
//! database URL; `.ci/run` starts one and runs them).

use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::store::{
    NewTrial, Outcome, PostgresStore, RunInfo, SqliteStore, Store, TrialStatus,
};
use pbtnas_orchestrator::{MemberRecord, SlotPlan};

/// The test database's URL.
fn postgres_url() -> String {
    std::env::var("PBTNAS_TEST_POSTGRES").expect(
        "set PBTNAS_TEST_POSTGRES=postgres://user:password@host/db to run the PostgreSQL tests",
    )
}

/// A run name no other test run used.
fn fresh_run(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{tag}-{}-{nanos}", std::process::id())
}

/// A SQLite store in `dir`, or a PostgreSQL one for a fresh run.
fn open(dir: &std::path::Path, postgres: bool) -> Box<dyn Store> {
    match postgres {
        false => Box::new(SqliteStore::open(&dir.join("s.sqlite")).unwrap()),
        true => Box::new(PostgresStore::connect(&postgres_url(), &fresh_run("store")).unwrap()),
    }
}

fn store_with_generation(dir: &std::path::Path, members: usize, postgres: bool) -> Box<dyn Store> {
    let space = SearchSpace::from_yaml(
        "name: t\ngenes:\n  - {name: a, options: [x, y]}\n",
        "t.yaml",
    )
    .unwrap();
    let store = open(dir, postgres);
    let info = RunInfo {
        config_json: "{}".into(),
        space_id: space.id.clone(),
        space_yaml: String::new(),
    };
    store.open_run(&info).unwrap();
    let trials: Vec<NewTrial> = (0..members)
        .map(|slot| NewTrial {
            generation: 0,
            slot,
            plan: SlotPlan::survivor(&MemberRecord {
                slot,
                generation: 0,
                genome: space.genome(vec![0]).unwrap(),
                fitness: None,
            }),
            origin: vec![slot],
            parent_ckpt: None,
            donor_ckpt: None,
            train_seed: slot as u64,
        })
        .collect();
    assert!(store
        .insert_generation(0, &trials, &serde_json::json!({}))
        .unwrap());
    assert!(
        !store
            .insert_generation(0, &trials, &serde_json::json!({}))
            .unwrap(),
        "one plan per generation"
    );
    store
}

fn done(f: f64) -> Outcome {
    Outcome::Done {
        fitness: f,
        ckpt: "c".into(),
        metrics: Default::default(),
    }
}

fn leases_hand_each_step_to_one_worker_and_take_over_expired_ones(postgres: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_generation(tmp.path(), 2, postgres);
    let a = store.lease_trial(0, "a", 60.0, 2).unwrap().unwrap();
    let b = store.lease_trial(0, "b", 60.0, 2).unwrap().unwrap();
    assert_eq!((a.spec.slot, b.spec.slot), (0, 1));
    assert_eq!(a.worker.as_deref(), Some("a"));
    assert_eq!(a.phase.as_deref(), Some("training"));
    store.set_phase(0, 0, "a", "evaluating").unwrap();
    store.set_phase(0, 0, "not-a", "training").unwrap();
    assert_eq!(
        store.trials(0).unwrap()[0].phase.as_deref(),
        Some("evaluating"),
        "only the holder sets it"
    );
    assert!(
        store.lease_trial(0, "c", 60.0, 2).unwrap().is_none(),
        "both are held"
    );
    // b's lease runs out (renewed with a negative lifetime); c takes the step over.
    assert!(store.renew_lease(0, 1, "b", -1.0).unwrap());
    let c = store.lease_trial(0, "c", 60.0, 2).unwrap().unwrap();
    assert_eq!((c.spec.slot, c.attempts), (1, 2));
    assert!(!store.renew_lease(0, 1, "b", 60.0).unwrap(), "b lost it");
    assert_eq!(
        store.finish_trial(0, 1, "b", &done(-1.0), 2).unwrap(),
        None,
        "b's result is dropped"
    );
    assert_eq!(
        store.finish_trial(0, 1, "c", &done(-2.0), 2).unwrap(),
        Some(TrialStatus::Done)
    );
    assert_eq!(
        store.finish_trial(0, 0, "a", &done(-3.0), 2).unwrap(),
        Some(TrialStatus::Done)
    );
    let t = store.trials(0).unwrap();
    assert_eq!((t[0].fitness, t[1].fitness), (Some(-3.0), Some(-2.0)));
    assert!(store.lease_trial(0, "a", 60.0, 2).unwrap().is_none());
}

fn a_step_whose_workers_keep_dying_is_marked_failed(postgres: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_generation(tmp.path(), 1, postgres);
    // max_attempts 2: a step may lose its worker 3 x 2 = 6 times.
    for attempt in 1..=6 {
        let t = store
            .lease_trial(0, &format!("w{attempt}"), -1.0, 2)
            .unwrap()
            .unwrap();
        assert_eq!(t.attempts, attempt);
    }
    assert!(store.lease_trial(0, "w7", 60.0, 2).unwrap().is_none());
    let t = &store.trials(0).unwrap()[0];
    assert_eq!(t.status, TrialStatus::Failed);
    assert!(
        t.error.as_deref().unwrap().contains("lost its worker"),
        "{:?}",
        t.error
    );
}

fn errors_are_retried_then_failed_and_dead_workers_released(postgres: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_generation(tmp.path(), 1, postgres);
    store.lease_trial(0, "a", 60.0, 2).unwrap().unwrap();
    let err = Outcome::Error("boom".into());
    assert_eq!(
        store.finish_trial(0, 0, "a", &err, 2).unwrap(),
        Some(TrialStatus::Pending)
    );
    store.lease_trial(0, "a", 60.0, 2).unwrap().unwrap();
    // A dead worker's step is released at once, without counting a failure.
    assert!(!store.release(0, 0, "someone-else").unwrap());
    assert!(store.release(0, 0, "a").unwrap());
    store.lease_trial(0, "b", 60.0, 2).unwrap().unwrap();
    assert_eq!(
        store.finish_trial(0, 0, "b", &err, 2).unwrap(),
        Some(TrialStatus::Failed)
    );
    assert_eq!(store.trials(0).unwrap()[0].failures, 2);
}

#[test]
fn a_version_1_store_is_migrated_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("old.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '1');
             CREATE TABLE trials (generation INTEGER NOT NULL, slot INTEGER NOT NULL,
                 genome TEXT NOT NULL, plan TEXT NOT NULL, origin TEXT NOT NULL, parent_ckpt TEXT,
                 donor_ckpt TEXT, train_seed INTEGER NOT NULL, status TEXT NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
                 fitness REAL, ckpt TEXT, metrics TEXT NOT NULL DEFAULT '{}', error TEXT,
                 started_at REAL, finished_at REAL, PRIMARY KEY (generation, slot));",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.all_trials().unwrap().is_empty());
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "3");
    // A newer version than this pbtnas knows is refused.
    conn.execute(
        "UPDATE meta SET value = '9' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    let err = SqliteStore::open(&path).err().unwrap().to_string();
    assert!(err.contains("schema version 9"), "{err}");
}

/// One `#[test]` per store and check.
macro_rules! on_both_stores {
    ($($check:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[test]
        fn $sqlite() {
            $check(false);
        }

        #[test]
        #[ignore = "needs PBTNAS_TEST_POSTGRES; .ci/run runs it"]
        fn $postgres() {
            $check(true);
        }
    )*};
}

on_both_stores! {
    leases_hand_each_step_to_one_worker_and_take_over_expired_ones => leases_sqlite, leases_postgres;
    a_step_whose_workers_keep_dying_is_marked_failed => lost_workers_sqlite, lost_workers_postgres;
    errors_are_retried_then_failed_and_dead_workers_released => errors_sqlite, errors_postgres;
}

#[test]
#[ignore = "needs PBTNAS_TEST_POSTGRES; .ci/run runs it"]
fn postgres_runs_never_mix_and_a_different_config_is_refused() {
    let url = postgres_url();
    let run = fresh_run("mix");
    let info = |config: &str| RunInfo {
        config_json: config.into(),
        space_id: "s".into(),
        space_yaml: String::new(),
    };
    let a = PostgresStore::connect(&url, &run).unwrap();
    assert!(
        a.open_run(&info("{\"seed\":1}")).unwrap().is_none(),
        "a new run"
    );
    // The same name again returns what is stored, for the runner to compare.
    let again = PostgresStore::connect(&url, &run).unwrap();
    let stored = again.open_run(&info("{\"seed\":2}")).unwrap().unwrap();
    assert_eq!(stored.config_json, "{\"seed\":1}");
    // Another run in the same database sees none of the first one's trials.
    let b = store_with_generation(std::path::Path::new("."), 3, true);
    assert_eq!(b.all_trials().unwrap().len(), 3);
    assert!(a.all_trials().unwrap().is_empty());
    assert_eq!(a.latest_generation().unwrap(), None);
    // Credentials never appear in messages.
    let bad = format!("{}-nonexistent-db", url.trim_end_matches('/'));
    let err = PostgresStore::connect(&bad, &run)
        .err()
        .unwrap()
        .to_string();
    let secret = format!(":{}@", password(&url));
    assert!(secret == ":@" || !err.contains(&secret), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
}

/// The password in a `postgres://user:password@host/db` URL.
fn password(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map_or(String::new(), |(_, p)| p.to_string())
}

#[test]
fn store_urls_are_shown_without_their_password() {
    use pbtnas_orchestrator::store::postgres::redacted;
    assert_eq!(
        redacted("postgres://ann:s3cr:et@db.example:5432/pbt?sslmode=require"),
        "postgres://ann:***@db.example:5432/pbt?sslmode=require"
    );
    assert_eq!(redacted("postgres://ann@db/pbt"), "postgres://ann@db/pbt");
    assert_eq!(redacted("postgres://db/pbt"), "postgres://db/pbt");
}

/// Events are appended to the run's log and read back by kind, in order.
fn events_are_kept_in_order_by_kind(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_generation(dir.path(), 2, postgres);
    let repaired = |n: u32| serde_json::json!({"checkpoint": format!("c{n}"), "slot": n});
    store
        .add_event(1, "checkpoint_repaired", &repaired(1))
        .unwrap();
    store.add_event(3, "something_else", &repaired(9)).unwrap();
    store
        .add_event(2, "checkpoint_repaired", &repaired(2))
        .unwrap();
    assert_eq!(
        store.events("checkpoint_repaired").unwrap(),
        vec![(1, repaired(1)), (2, repaired(2))]
    );
    // The generation's decision is an event too.
    assert_eq!(store.events("generation").unwrap().len(), 1);
    assert!(store.events("nothing").unwrap().is_empty());
}

on_both_stores! {
    events_are_kept_in_order_by_kind => events_sqlite, events_postgres;
}

/// Over TLS (`sslmode=require`), the server's certificate is verified: refused without its CA,
/// accepted with the CA in `PGSSLROOTCERT`; and the test user is one the server admits over TLS
/// only, so a plain connection is refused. Needs `PBTNAS_TEST_POSTGRES_TLS` (that user's URL)
/// and `PBTNAS_TEST_TLS_CA` (`scripts/ci/pg-test-tls.sh` sets both up; `.ci/run` runs it).
#[test]
#[ignore = "needs PBTNAS_TEST_POSTGRES_TLS and PBTNAS_TEST_TLS_CA; .ci/run runs it"]
fn postgres_over_tls_verifies_the_server_certificate() {
    let url = std::env::var("PBTNAS_TEST_POSTGRES_TLS").expect("PBTNAS_TEST_POSTGRES_TLS");
    let ca = std::env::var("PBTNAS_TEST_TLS_CA").expect("PBTNAS_TEST_TLS_CA");
    let run = fresh_run("tls");
    let plain = PostgresStore::connect(&format!("{url}?sslmode=disable"), &run)
        .err()
        .expect("the server admits this user over TLS only");
    assert!(format!("{plain:#}").contains("cannot connect"), "{plain:#}");
    std::env::remove_var("PGSSLROOTCERT");
    let unverified = PostgresStore::connect(&format!("{url}?sslmode=require"), &run)
        .err()
        .expect("a certificate from an unknown CA is refused");
    assert!(
        format!("{unverified:#}").contains("certificate"),
        "{unverified:#}"
    );
    std::env::set_var("PGSSLROOTCERT", &ca);
    let store = PostgresStore::connect(&format!("{url}?sslmode=require"), &run).unwrap();
    let info = RunInfo {
        config_json: "{}".into(),
        space_id: "s".into(),
        space_yaml: String::new(),
    };
    assert!(store.open_run(&info).unwrap().is_none());
    store
        .add_event(0, "tls", &serde_json::json!({"ok": true}))
        .unwrap();
    assert_eq!(store.events("tls").unwrap().len(), 1);
}
