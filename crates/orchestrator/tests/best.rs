//! The best-ever member, with and without the original's SEARL quirk.

use pbtnas_orchestrator::best::{best_member, best_trial, BestMember};
use pbtnas_orchestrator::store::Trial;
use pbtnas_orchestrator::{PlanKind, RunConfig, StrategyConfig};

mod common;
use common::trial;

/// Generation 0 (fitness by slot), then generation 1 planned with `kinds` (a child's parent is
/// `parents[slot]`) and trained to `after` (None: not yet trained).
fn run(before: &[f64], kinds: &[PlanKind], parents: &[usize], after: Option<&[f64]>) -> Vec<Trial> {
    let mut t: Vec<Trial> = before
        .iter()
        .enumerate()
        .map(|(s, &f)| trial(0, s, PlanKind::Init, s, Some(f)))
        .collect();
    for (s, &k) in kinds.iter().enumerate() {
        t.push(trial(1, s, k, parents[s], after.map(|a| a[s])));
    }
    t
}

fn id(b: BestMember) -> (bool, u32, usize) {
    let t = b.trial();
    (
        matches!(b, BestMember::Untrained { .. }),
        t.spec.generation,
        t.spec.slot,
    )
}

use PlanKind::{ArchMutation, Child, Copy, Survivor, WeightMutation};

#[test]
fn a_searl_child_below_its_parent_wins_the_tie_untrained() {
    // Slot 1 is the best (3.0); slot 0 is replaced by its weight-mutated copy.
    let trials = run(
        &[1.0, 3.0, 2.0, 0.5],
        &[WeightMutation, Survivor, Survivor, Survivor],
        &[1, 1, 2, 3],
        Some(&[2.5, 2.9, 2.1, 0.7]),
    );
    let quirk = best_member(&trials, true).unwrap();
    assert_eq!(id(quirk), (true, 1, 0));
    assert_eq!(quirk.fitness(), 3.0);
    // Its rating and its line are its parent's.
    let parent = quirk.rated();
    assert_eq!((parent.spec.generation, parent.spec.slot), (0, 1));
    assert_eq!(
        quirk.describe(),
        "the start of generation 2 slot 0 (an untrained SEARL child of generation 1 slot 1, the original's quirk)"
    );
    // Off: the trained parent, as best_trial says.
    let plain = best_member(&trials, false).unwrap();
    assert_eq!(id(plain), (false, 0, 1));
    assert_eq!(plain.trial(), best_trial(&trials).unwrap());
    assert_eq!(plain.rated(), plain.trial());
    assert_eq!(plain.describe(), "generation 1 slot 1");
    // Every SEARL child kind counts; a PBT-NAS child never does (the original rates it -1e3).
    for kind in [Copy, ArchMutation] {
        let t = run(&[1.0, 3.0], &[kind, Survivor], &[1, 1], None);
        assert_eq!(id(best_member(&t, true).unwrap()), (true, 1, 0));
    }
    let t = run(&[1.0, 3.0], &[Child, Survivor], &[1, 1], None);
    assert_eq!(id(best_member(&t, true).unwrap()), (false, 0, 1));
}

#[test]
fn the_parent_keeps_the_tie_from_a_lower_slot_and_better_steps_replace_it() {
    // The parent (slot 0) comes first: it stays the best.
    let t = run(
        &[3.0, 1.0, 2.0, 0.5],
        &[Survivor, Survivor, Survivor, WeightMutation],
        &[0, 1, 2, 0],
        Some(&[2.0, 1.0, 2.0, 0.1]),
    );
    assert_eq!(id(best_member(&t, true).unwrap()), (false, 0, 0));
    // A strictly better trained step later replaces an untrained best.
    let t = run(
        &[1.0, 3.0],
        &[WeightMutation, Survivor],
        &[1, 1],
        Some(&[2.0, 3.5]),
    );
    assert_eq!(id(best_member(&t, true).unwrap()), (false, 1, 1));
    // An equal one does not (strictly greater, as the original).
    let t = run(
        &[1.0, 3.0],
        &[WeightMutation, Survivor],
        &[1, 1],
        Some(&[2.0, 3.0]),
    );
    assert_eq!(id(best_member(&t, true).unwrap()), (true, 1, 0));
}

#[test]
fn the_quirk_is_a_searl_setting_off_by_default_and_not_saved_when_off() {
    let yaml = |extra: &str| {
        format!("name: t\npopulation: 8\nsteps: 3\ntask: {{kind: regression}}\nstrategy: {{kind: searl{extra}}}\n")
    };
    let parse = |text: &str| -> RunConfig {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, text).unwrap();
        RunConfig::from_file(&p).unwrap()
    };
    let off = parse(&yaml(""));
    assert!(!off.untrained_best_ever());
    // A run directory written before the setting existed keeps the same stored config.
    assert!(!serde_json::to_string(&off).unwrap().contains("untrained"));
    let on = parse(&yaml(", untrained_best_ever: true"));
    assert!(on.untrained_best_ever());
    assert!(matches!(
        on.strategy,
        StrategyConfig::Searl(pbtnas_orchestrator::strategy::searl::Searl {
            untrained_best_ever: true,
            ..
        })
    ));
}
