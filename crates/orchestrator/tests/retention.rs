//! The checkpoint retention policy: which checkpoints a run keeps after a generation.

use std::collections::HashSet;

use pbtnas_orchestrator::config::CheckpointPolicy;
use pbtnas_orchestrator::retention::{referenced, to_keep};
use pbtnas_orchestrator::store::Trial;
use pbtnas_orchestrator::PlanKind;

mod common;
use common::trial;

/// Generation 0 (best: slot 1) and 1 trained, generation 2 planned; every child's parent is its
/// own slot. Generation 0's members have no inputs.
fn trials() -> Vec<Trial> {
    let mut t = Vec::new();
    for (s, f) in [1.0, 4.0, 2.0, 3.0].into_iter().enumerate() {
        let mut init = trial(0, s, PlanKind::Init, s, Some(f));
        init.spec.parent_ckpt = None;
        t.push(init);
    }
    for s in 0..4 {
        t.push(trial(1, s, PlanKind::Child, s, Some(0.5 + s as f64 / 10.0)));
    }
    for s in 0..4 {
        t.push(trial(2, s, PlanKind::Child, s, None));
    }
    t
}

fn names(prefix: &str) -> HashSet<String> {
    (0..4).map(|s| format!("{prefix}{s}")).collect()
}

fn set(parts: &[HashSet<String>], extra: &[&str]) -> HashSet<String> {
    let mut all: HashSet<String> = parts.iter().flatten().cloned().collect();
    all.extend(extra.iter().map(|s| s.to_string()));
    all
}

#[test]
fn the_default_keeps_the_population_both_generations_inputs_and_the_best() {
    let keep = to_keep(&CheckpointPolicy::default(), &trials(), 1, false).unwrap();
    assert_eq!(
        keep,
        set(&[names("g1s"), names("g1p"), names("g2p")], &["g0s1"])
    );
}

#[test]
fn each_setting_takes_its_part_away_or_adds_it() {
    let t = trials();
    let with = |f: fn(&mut CheckpointPolicy)| {
        let mut p = CheckpointPolicy::default();
        f(&mut p);
        to_keep(&p, &t, 1, false)
    };
    assert_eq!(with(|p| p.keep_all = true), None);
    assert_eq!(
        with(|p| p.keep_inputs = false).unwrap(),
        set(&[names("g1s"), names("g2p")], &["g0s1"])
    );
    assert_eq!(
        with(|p| p.keep_best = false).unwrap(),
        set(&[names("g1s"), names("g1p"), names("g2p")], &[])
    );
    assert_eq!(
        with(|p| p.keep_generations = 2).unwrap(),
        set(
            &[names("g0s"), names("g1s"), names("g1p"), names("g2p")],
            &[]
        )
    );
    // 0 means 1: the population is always kept.
    assert_eq!(
        with(|p| p.keep_generations = 0).unwrap(),
        with(|_| {}).unwrap()
    );
}

#[test]
fn a_finished_run_keeps_no_inputs() {
    let t: Vec<Trial> = trials()
        .into_iter()
        .filter(|t| t.spec.generation < 2)
        .collect();
    let keep = to_keep(&CheckpointPolicy::default(), &t, 1, false).unwrap();
    assert_eq!(keep, set(&[names("g1s")], &["g0s1"]));
    assert_eq!(
        referenced(&t),
        set(&[names("g0s"), names("g1s"), names("g1p")], &[])
    );
}

#[test]
fn the_untrained_searl_best_keeps_the_inputs_it_is_rebuilt_from() {
    // A finished SEARL run: generation 1's slot 0 started as an untrained copy of the best
    // member (slot 1, fitness 4), which makes that start state the best-ever model.
    let mut t: Vec<Trial> = trials()
        .into_iter()
        .filter(|t| t.spec.generation == 0)
        .collect();
    t.push(trial(1, 0, PlanKind::Copy, 1, Some(0.1)));
    for s in 1..4 {
        t.push(trial(1, s, PlanKind::Survivor, s, Some(0.2)));
    }
    let keep = to_keep(&CheckpointPolicy::default(), &t, 1, true).unwrap();
    assert_eq!(keep, set(&[names("g1s")], &["g1p1"]));
    let plain = to_keep(&CheckpointPolicy::default(), &t, 1, false).unwrap();
    assert_eq!(plain, set(&[names("g1s")], &["g0s1"]));
}
