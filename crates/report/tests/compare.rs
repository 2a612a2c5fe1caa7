//! `compare` on made-up runs with known numbers against scipy/numpy (scripts/fixtures/report.py).

use std::path::Path;

use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::store::{NewTrial, Outcome, RunInfo, SqliteStore, Store};
use pbtnas_orchestrator::{PlanKind, SlotPlan};
use pbtnas_report::compare::{compare, mean_std, table, Score};
use pbtnas_report::wilcoxon::Method;
use pbtnas_report::RunData;
use serde_json::Value;

const SPACE: &str = "name: tiny\ngenes:\n  - { name: a, options: [x, y], positions: [net.a] }\n";

/// A run directory whose store holds `fitness[generation][slot]`.
fn fake_run(dir: &Path, name: &str, seed: u64, fitness: &[Vec<f64>]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        format!("name: {name}\nseed: {seed}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("space.yaml"), SPACE).unwrap();
    let space = SearchSpace::from_yaml(SPACE, "space.yaml").unwrap();
    let store = SqliteStore::open(&dir.join("pbtnas.sqlite")).unwrap();
    let info = RunInfo {
        config_json: "{}".into(),
        space_id: space.id.clone(),
        space_yaml: SPACE.into(),
    };
    assert!(store.open_run(&info).unwrap().is_none());
    for (g, row) in fitness.iter().enumerate() {
        let trials: Vec<NewTrial> = (0..row.len())
            .map(|slot| NewTrial {
                generation: g as u32,
                slot,
                plan: SlotPlan {
                    slot,
                    genome: space.genome(vec![(slot % 2) as u16]).unwrap(),
                    kind: if g == 0 {
                        PlanKind::Init
                    } else {
                        PlanKind::Survivor
                    },
                    parent: (g > 0).then_some(slot),
                    donor: None,
                    replaced: vec![],
                    transfer: None,
                    weight_mutation: false,
                },
                origin: vec![slot],
                parent_ckpt: None,
                donor_ckpt: None,
                train_seed: 0,
            })
            .collect();
        store
            .insert_generation(g as u32, &trials, &serde_json::json!({}))
            .unwrap();
        for (slot, &f) in row.iter().enumerate() {
            let leased = store.lease_trial(g as u32, "w", 60.0, 1).unwrap().unwrap();
            assert_eq!(leased.spec.slot, slot);
            let outcome = Outcome::Done {
                fitness: f,
                ckpt: format!("{g}{slot}"),
                metrics: Default::default(),
            };
            store
                .finish_trial(g as u32, slot, "w", &outcome, 1)
                .unwrap();
        }
    }
    store.mark_complete().unwrap();
}

#[test]
fn compare_reproduces_numpy_and_scipy_on_made_up_runs() {
    let reference: Value = serde_json::from_str(include_str!("fixtures/reference.json")).unwrap();
    let r = &reference["compare"];
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for group in r["groups"].as_array().unwrap() {
        let name = group["name"].as_str().unwrap();
        for (seed, score) in group["scores"].as_array().unwrap().iter().enumerate() {
            let best = score.as_f64().unwrap();
            let dir = tmp.path().join(format!("{name}-s{seed}"));
            // The best-ever fitness is in the middle generation; the last one is worse.
            fake_run(
                &dir,
                name,
                seed as u64,
                &[
                    vec![best - 3.0, best - 4.0],
                    vec![best - 1.0, best],
                    vec![best - 2.0, best - 0.5],
                ],
            );
            runs.push(RunData::load(&dir).unwrap());
        }
    }
    // Shuffle the order within groups: pairing is by seed, not by argument order.
    runs.swap(0, 5);
    let c = compare(&runs, &Score::Best, true).unwrap();
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(c.groups.len(), 3);
    for (got, want) in c.groups.iter().zip(groups) {
        assert_eq!(got.group, want["name"].as_str().unwrap());
        assert_eq!(got.n, 9);
        assert!((got.mean - want["mean"].as_f64().unwrap()).abs() < 1e-12);
        assert!((got.std - want["std"].as_f64().unwrap()).abs() < 1e-12);
    }
    for (got, want) in c.tests.iter().zip(r["tests"].as_array().unwrap()) {
        assert_eq!(got.group, want["against"].as_str().unwrap());
        let res = got.result.as_ref().unwrap();
        assert_eq!(res.method, Method::Exact);
        assert_eq!(res.r_plus, want["statistic"].as_f64().unwrap());
        assert!((res.p_value - want["p_value"].as_f64().unwrap()).abs() < 1e-15);
    }
    let text = table(&c);
    assert!(text.contains("made-up-pbtnas"), "{text}");
    assert!(text.contains("p = 0.0273"), "{text}");
    assert!(pbtnas_report::compare::svg(&c)
        .unwrap()
        .contains("made-up-searl"));

    // The other scores: the last generation's best and median.
    let c = compare(&runs[..1], &Score::FinalBest, true).unwrap();
    let best = c.runs[0].score;
    let c = compare(&runs[..1], &Score::FinalMedian, true).unwrap();
    assert_eq!(c.runs[0].score, best - 0.75);
    assert!(compare(&runs[..1], &"eval:fid".parse().unwrap(), false)
        .unwrap_err()
        .to_string()
        .contains("pbtnas eval"));
    assert!("nonsense".parse::<Score>().is_err());
}

#[test]
fn mean_std_uses_ddof_zero() {
    assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 1.0));
    assert_eq!(mean_std(&[5.0]), (5.0, 0.0));
}
