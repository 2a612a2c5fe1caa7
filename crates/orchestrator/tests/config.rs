//! The run config: the RL exploit schedule, and strategy settings parsed with the paper's
//! defaults or refused.

use pbtnas_nn::ShrinkPerturb;
use pbtnas_orchestrator::config::ExploitSchedule;
use pbtnas_orchestrator::strategy::pbt_nas::PbtNas;
use pbtnas_orchestrator::strategy::random_search::RandomSearch;
use pbtnas_orchestrator::{RunConfig, StrategyConfig};

#[test]
fn rl_exploit_schedule_matches_fn_if_mix() {
    let sched = ExploitSchedule {
        every: 2,
        always_from: Some(15),
    };
    for s in 1..30u32 {
        let next_epoch = 10 * s;
        let fn_if_mix = next_epoch >= 150 || next_epoch % 20 == 0;
        assert_eq!(sched.exploit_before(s), fn_if_mix, "step {s}");
    }
    // 30 steps: exploit before steps 1..29 per the rule → 22 events, as docs/algorithm.md
    // ("Exploit schedule") counts.
    assert_eq!((1..30).filter(|&s| sched.exploit_before(s)).count(), 22);
    assert!((1..30).all(|s| ExploitSchedule::default().exploit_before(s)));
}

#[test]
fn configs_parse_with_paper_defaults_and_reject_bad_values() {
    let base = "name: t\npopulation: 24\nsteps: 30\ntask: {kind: regression}\n";
    let cfg = RunConfig::from_yaml(&format!("{base}strategy: {{kind: pbt-nas}}\n")).unwrap();
    assert_eq!(cfg.seed, 31173);
    assert_eq!(cfg.strategy, StrategyConfig::PbtNas(PbtNas::default()));
    let cfg = RunConfig::from_yaml(&format!(
        "{base}strategy: {{kind: pbt-nas, shrink_perturb: [1, 0]}}\n"
    ))
    .unwrap();
    assert!(matches!(
        cfg.strategy,
        StrategyConfig::PbtNas(PbtNas {
            shrink_perturb: ShrinkPerturb::COPY,
            ..
        })
    ));
    let cfg = RunConfig::from_yaml(&format!(
        "{base}strategy: {{kind: random-search, shrink_perturb_always: [0.4, 0.1]}}\n"
    ))
    .unwrap();
    assert_eq!(
        cfg.strategy,
        StrategyConfig::RandomSearch(RandomSearch {
            shrink_perturb_always: Some(ShrinkPerturb::PAPER)
        })
    );
    let err = |y: &str| format!("{:#}", RunConfig::from_yaml(y).unwrap_err());
    assert!(err(&format!("{base}strategy: {{kind: pbt}}\n")).contains("unknown variant `pbt`"));
    assert!(err(&format!(
        "{base}strategy: {{kind: pbt-nas, mix_prb: 0.2}}\n"
    ))
    .contains("unknown field `mix_prb`"));
    assert!(err(&format!(
        "{base}strategy: {{kind: pbt-nas, parent_frac: 1.5}}\n"
    ))
    .contains("parent_frac must be in [0, 1]"));
    let small =
        "name: t\npopulation: 6\nsteps: 3\ntask: {kind: regression}\nstrategy: {kind: pbt-nas}\n";
    assert!(err(small).contains("gives 1 parents; mixing needs 2"));
    assert!(
        err("name: t\npopulation: 8\nsteps: 3\nstrategy: {kind: searl}\ntask: {width: 3}\n")
            .contains("needs a 'kind'")
    );
}
