//! The status table's time column and ETA, on made-up trials with known timings.

use pbtnas_genome::SearchSpace;
use pbtnas_orchestrator::status::{eta, table};
use pbtnas_orchestrator::store::{NewTrial, Trial, TrialStatus};
use pbtnas_orchestrator::SlotPlan;
use pbtnas_orchestrator::{MemberRecord, PlanKind};

fn trial(slot: usize, status: TrialStatus, started: Option<f64>, finished: Option<f64>) -> Trial {
    let space = SearchSpace::from_yaml(
        "name: t\ngenes:\n  - {name: a, options: [x, y]}\n",
        "t.yaml",
    )
    .unwrap();
    let record = MemberRecord {
        slot,
        generation: 0,
        genome: space.genome(vec![0]).unwrap(),
        fitness: None,
    };
    let mut plan = SlotPlan::survivor(&record);
    plan.kind = PlanKind::Init;
    Trial {
        spec: NewTrial {
            generation: 0,
            slot,
            plan,
            origin: vec![slot],
            parent_ckpt: None,
            donor_ckpt: None,
            train_seed: 0,
        },
        status,
        attempts: 1,
        failures: 0,
        fitness: (status == TrialStatus::Done).then_some(-1.0),
        ckpt: None,
        metrics: Default::default(),
        error: None,
        started_at: started,
        finished_at: finished,
        worker: None,
        lease_until: None,
        phase: Some("evaluating".into()),
    }
}

#[test]
fn eta_divides_the_steps_left_by_the_pace_and_the_parallelism() {
    // Four 10 s steps, two at a time, of a 4-member, 3-step run: 8 steps left, 40 s.
    let done = |slot, s: f64| trial(slot, TrialStatus::Done, Some(s), Some(s + 10.0));
    let trials = vec![done(0, 0.0), done(1, 0.0), done(2, 10.0), done(3, 10.0)];
    assert_eq!(
        eta(&trials, 3, 4).unwrap(),
        "ETA 40s for 8 member-steps (10s each, ~2.0 at once)"
    );
    // Nothing finished yet: no pace to go by.
    let running = vec![
        trial(0, TrialStatus::Running, Some(0.0), None),
        trial(1, TrialStatus::Pending, None, None),
    ];
    assert!(eta(&running, 3, 2).is_none());
    let text = table(&running, false, Some(3), false);
    assert!(text.contains(" so far"), "{text}");
    assert!(
        text.contains("evaluating"),
        "a running step in its evaluation: {text}"
    );
    assert!(
        text.trim_end().ends_with("ETA after the first member-step"),
        "{text}"
    );
    // A complete run has no ETA line.
    assert!(!table(&trials, true, Some(1), false).contains("ETA"));
}
