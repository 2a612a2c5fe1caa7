//! The SQLite store's leases: one holder per member-step, takeover after expiry, a lost lease's
//! result dropped, a step whose workers keep dying marked failed, one plan per generation.

use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::store::{NewTrial, Outcome, RunInfo, SqliteStore, Store, TrialStatus};
use pbtnas_orchestrator::{MemberRecord, SlotPlan};

fn store_with_generation(dir: &std::path::Path, members: usize) -> SqliteStore {
    let space = SearchSpace::from_yaml(
        "name: t\ngenes:\n  - {name: a, options: [x, y]}\n",
        "t.yaml",
    )
    .unwrap();
    let store = SqliteStore::open(&dir.join("s.sqlite")).unwrap();
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

#[test]
fn leases_hand_each_step_to_one_worker_and_take_over_expired_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_generation(tmp.path(), 2);
    let a = store.lease_trial(0, "a", 60.0, 2).unwrap().unwrap();
    let b = store.lease_trial(0, "b", 60.0, 2).unwrap().unwrap();
    assert_eq!((a.spec.slot, b.spec.slot), (0, 1));
    assert_eq!(a.worker.as_deref(), Some("a"));
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

#[test]
fn a_step_whose_workers_keep_dying_is_marked_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_generation(tmp.path(), 1);
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

#[test]
fn errors_are_retried_then_failed_and_dead_workers_released() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_generation(tmp.path(), 1);
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
    assert_eq!(v, "2");
    // A newer version than this pbtnas knows is refused.
    conn.execute(
        "UPDATE meta SET value = '9' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    let err = SqliteStore::open(&path).err().unwrap().to_string();
    assert!(err.contains("schema version 9"), "{err}");
}
