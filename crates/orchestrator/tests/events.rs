//! Each event gives its JSON line and its text line from one value.

use pbtnas_orchestrator::events::{Event, Repair};
use pbtnas_orchestrator::runner::REPAIR_EVENT;
use pbtnas_orchestrator::store::TrialStatus;
use serde_json::json;

#[test]
fn a_step_is_one_json_object_and_one_line() {
    let e = Event::Step {
        generation: 2,
        slot: 3,
        status: TrialStatus::Done,
        fitness: Some(-1.25),
        left_in_generation: 4,
        eta_s: 75.0,
        steps: 6,
    };
    assert_eq!(
        e.to_json(),
        json!({"event": "step", "generation": 2, "slot": 3, "status": "done", "fitness": -1.25,
            "left_in_generation": 4, "eta_s": 75.0})
    );
    assert_eq!(
        e.text(),
        "  [gen 2/6] slot  3 fitness -1.25000  (4 left in generation, ETA 1m 15s)"
    );
    let failed = Event::Step {
        generation: 2,
        slot: 3,
        status: TrialStatus::Failed,
        fitness: None,
        left_in_generation: 4,
        eta_s: 75.0,
        steps: 6,
    };
    assert!(failed.text().contains("slot  3 FAILED (ranked last)"));
}

#[test]
fn text_only_fields_stay_out_of_the_json() {
    let start = |resumed| Event::Start {
        run: "r".into(),
        dir: "runs/r".into(),
        population: 8,
        steps: 4,
        space: "s".into(),
        resumed,
        requeued: resumed.then_some(1),
        genes: 36,
        log10_size: 21.66,
        at_generation: 2,
    };
    assert_eq!(
        start(false).to_json(),
        json!({"event": "start", "run": "r", "dir": "runs/r", "population": 8, "steps": 4,
            "space": "s", "resumed": false})
    );
    assert_eq!(
        start(false).text(),
        "new run r in runs/r: 8 members x 4 steps, space 's' (36 genes, 10^21.7 architectures)"
    );
    assert_eq!(start(true).to_json()["requeued"], 1);
    assert_eq!(
        start(true).text(),
        "resuming run r in runs/r at generation 2 (1 interrupted step(s) to redo)"
    );
}

#[test]
fn the_repair_event_is_named_as_the_store_records_it() {
    let e = Event::CheckpointRepaired(Repair {
        checkpoint: "ab".into(),
        problem: "checkpoint ab is missing".into(),
        generation: 0,
        slot: 5,
        identical: true,
        redone: "ab".into(),
    });
    assert_eq!(e.to_json()["event"], REPAIR_EVENT);
    assert_eq!(e.to_json()["slot"], 5);
    assert_eq!(
        e.text(),
        "  redid gen 1 slot 5: checkpoint restored (identical bytes)"
    );
}
