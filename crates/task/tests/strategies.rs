use pbtnas_genome::SearchSpace;
use pbtnas_nn::{ShadowRule, ShrinkPerturb};
use pbtnas_task::strategy::pbt_nas::PbtNas;
use pbtnas_task::strategy::random_search::RandomSearch;
use pbtnas_task::strategy::replay::Replay;
use pbtnas_task::strategy::searl::Searl;
use pbtnas_task::strategy::selection::{count, select};
use pbtnas_task::{MemberRecord, PlanKind, Strategy, StrategyConfig, WeightSource};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn space() -> SearchSpace {
    let yaml = "name: s
genes:
  - block: l
    for: {i: '0..6'}
    genes:
      - {name: 'l{i}.op', options: [a, b, c], positions: ['net.l{i}']}
      - {name: 'l{i}.act', options: [x, y]}
";
    SearchSpace::from_yaml(yaml, "s.yaml").unwrap()
}

/// Records whose fitness ranks slots in a scrambled but known order: rank r has fitness -r.
fn records(space: &SearchSpace, n: usize, seed: u64) -> (Vec<MemberRecord>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let genomes = pbtnas_genome::ops::stratified_population(space, n, &mut rng);
    let order: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % n).collect(); // a permutation when gcd(7,n)=1
    let mut fitness = vec![0.0; n];
    for (rank, &slot) in order.iter().enumerate() {
        fitness[slot] = -(rank as f64);
    }
    let recs = genomes
        .into_iter()
        .enumerate()
        .map(|(slot, genome)| MemberRecord {
            slot,
            generation: 0,
            genome,
            fitness: Some(fitness[slot]),
        })
        .collect();
    (recs, order)
}

fn pbt(parent_frac: f64, survive_frac: f64) -> StrategyConfig {
    StrategyConfig::PbtNas(PbtNas {
        parent_frac,
        survive_frac,
        ..PbtNas::default()
    })
}

#[test]
fn selection_arithmetic_matches_the_paper_configs() {
    // (N, parent_frac, survive_frac) -> (parents, survivors, children), as the table in
    // docs/algorithm.md ("Selection") has them.
    let cases = [
        (6, 0.4, 0.75, 2, 4, 2),
        (12, 0.25, 0.75, 3, 9, 3),
        (18, 0.25, 0.8, 4, 14, 4),
        (24, 0.25, 0.75, 6, 18, 6),
    ];
    let s = space();
    for (n, pf, sf, parents, survivors, children) in cases {
        assert_eq!(
            (count(n, pf), count(n, sf), n - count(n, sf)),
            (parents, survivors, children),
            "N={n}"
        );
        let (recs, order) = records(&s, n, n as u64);
        let sel = select(&recs, pf, sf).unwrap();
        assert_eq!(sel.ranked, order);
        assert_eq!(sel.parents, order[..parents]);
        assert_eq!(sel.survivors, order[..survivors]);
        let mut bottom = order[survivors..].to_vec();
        bottom.sort();
        assert_eq!(sel.replaced, bottom);

        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let plans = pbt(pf, sf)
            .strategy()
            .next_generation(&recs, &s, &mut rng)
            .unwrap();
        assert_eq!(plans.len(), n);
        let rank = |slot: usize| order.iter().position(|&x| x == slot).unwrap();
        for (slot, p) in plans.iter().enumerate() {
            assert_eq!(p.slot, slot);
            if sel.survivors.contains(&slot) {
                assert_eq!(p.kind, PlanKind::Survivor);
                assert_eq!(p.parent, Some(slot));
                assert_eq!(p.genome, recs[slot].genome);
                assert!(p.transfer.is_none());
                continue;
            }
            assert_eq!(p.kind, PlanKind::Child, "slot {slot} is replaced");
            let parent = p.parent.unwrap();
            let Some(WeightSource::Slot(donor)) = p.donor else {
                panic!("child without donor")
            };
            assert!(sel.parents.contains(&parent) && sel.parents.contains(&donor));
            assert_ne!(parent, donor);
            assert!(rank(parent) < rank(donor), "the fitter parent is the base");
            for g in 0..s.len() {
                let from = if p.replaced.contains(&g) {
                    &recs[donor].genome
                } else {
                    &recs[parent].genome
                };
                assert_eq!(p.genome.genes[g], from.genes[g]);
            }
            let t = p.transfer.as_ref().unwrap();
            assert_eq!(t.positions, s.positions_of(&p.replaced));
            assert_eq!(t.rule, ShrinkPerturb::PAPER);
            assert_eq!(t.shadows, ShadowRule::CopyDonor);
            assert!(t.reset_optimizer);
        }
        assert_eq!(
            plans.iter().filter(|p| p.kind == PlanKind::Child).count(),
            children
        );
    }
}

#[test]
fn parent_pairs_are_uniform_over_the_pool() {
    let s = space();
    let (recs, order) = records(&s, 12, 0);
    let strat = pbt(0.25, 0.75);
    let strat = strat.strategy();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut pairs = std::collections::BTreeMap::new();
    let mut genes_replaced = 0usize;
    let mut children = 0usize;
    for _ in 0..3000 {
        for p in strat.next_generation(&recs, &s, &mut rng).unwrap() {
            if let (PlanKind::Child, Some(a), Some(WeightSource::Slot(b))) =
                (p.kind, p.parent, p.donor)
            {
                *pairs.entry((a, b)).or_insert(0usize) += 1;
                genes_replaced += p.replaced.len();
                children += 1;
            }
        }
    }
    // Pool = top 3; ordered (fitter, less fit) pairs: 3 of them, each 1/3 of 9000 children.
    let expect: Vec<(usize, usize)> = vec![
        (order[0], order[1]),
        (order[0], order[2]),
        (order[1], order[2]),
    ];
    let mut got: Vec<(usize, usize)> = pairs.keys().copied().collect();
    got.sort_by_key(|&(a, b)| {
        (
            order.iter().position(|&x| x == a),
            order.iter().position(|&x| x == b),
        )
    });
    assert_eq!(got, expect);
    for (k, &c) in &pairs {
        assert!((c as f64 / 9000.0 - 1.0 / 3.0).abs() < 0.025, "{k:?}: {c}");
    }
    // Each of 12 genes is replaced with p = 0.25.
    let rate = genes_replaced as f64 / (children * 12) as f64;
    assert!((rate - 0.25).abs() < 0.01, "{rate}");
}

#[test]
fn failed_members_rank_last_and_ties_go_by_slot() {
    let s = space();
    let (mut recs, _) = records(&s, 8, 0);
    for r in recs.iter_mut() {
        r.fitness = Some(1.0);
    }
    recs[0].fitness = None;
    recs[5].fitness = Some(f64::NAN);
    let sel = select(&recs, 0.25, 0.75).unwrap();
    assert_eq!(sel.ranked, [1, 2, 3, 4, 6, 7, 0, 5]);
    assert_eq!(sel.replaced, [0, 5]);
}

#[test]
fn plans_are_a_pure_function_of_records_and_seed() {
    let s = space();
    let (recs, _) = records(&s, 24, 3);
    for cfg in [pbt(0.25, 0.75), StrategyConfig::Searl(Searl::default())] {
        let strat = cfg.strategy();
        let a = strat
            .next_generation(&recs, &s, &mut ChaCha8Rng::seed_from_u64(9))
            .unwrap();
        let b = strat
            .next_generation(&recs, &s, &mut ChaCha8Rng::seed_from_u64(9))
            .unwrap();
        let c = strat
            .next_generation(&recs, &s, &mut ChaCha8Rng::seed_from_u64(10))
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}

/// The "no mixing" ablation of Table 2.
fn no_mixing() -> StrategyConfig {
    StrategyConfig::PbtNas(PbtNas {
        mix_with_itself: true,
        ..PbtNas::default()
    })
}

#[test]
fn no_mixing_ablation_mixes_a_parent_with_itself() {
    let s = space();
    let (recs, _) = records(&s, 12, 4);
    let cfg = no_mixing();
    let plans = cfg
        .strategy()
        .next_generation(&recs, &s, &mut ChaCha8Rng::seed_from_u64(2))
        .unwrap();
    let mut replaced = 0;
    for p in plans.iter().filter(|p| p.kind == PlanKind::Child) {
        let parent = p.parent.unwrap();
        assert_eq!(p.donor, Some(WeightSource::Slot(parent)));
        assert_eq!(p.genome, recs[parent].genome);
        replaced += p.replaced.len();
    }
    assert!(
        replaced > 0,
        "genes are still drawn and their layers shrink-perturbed"
    );
}

/// The original (`ea.py`, `mix_with_itself`) takes the first of two distinct draws from the top
/// pool and no fitness swap follows, so every pool member is the parent equally often; the fitter
/// of two would give the best of 3 members 2/3 and the worst 0.
#[test]
fn no_mixing_parent_is_uniform_over_the_pool() {
    let s = space();
    let (recs, order) = records(&s, 12, 4);
    let cfg = no_mixing();
    let strat = cfg.strategy();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut counts = std::collections::BTreeMap::new();
    let mut total = 0usize;
    while total < 30_000 {
        for p in strat.next_generation(&recs, &s, &mut rng).unwrap() {
            if p.kind == PlanKind::Child {
                *counts.entry(p.parent.unwrap()).or_insert(0usize) += 1;
                total += 1;
            }
        }
    }
    assert_eq!(counts.keys().copied().collect::<Vec<_>>(), {
        let mut pool = order[..3].to_vec();
        pool.sort();
        pool
    });
    for (&slot, &c) in &counts {
        // 1/3 ± 4.5 standard deviations (σ ≈ 0.0027 at 30 000 draws).
        let share = c as f64 / total as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.012, "slot {slot}: {share}");
    }
}

#[test]
fn searl_copies_the_fitter_and_mutates_one_of_three_ways() {
    let s = space();
    let (recs, order) = records(&s, 12, 6);
    let strat = Searl::default();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut kinds = std::collections::BTreeMap::new();
    let mut parents = std::collections::BTreeMap::new();
    for _ in 0..2000 {
        for p in strat.next_generation(&recs, &s, &mut rng).unwrap() {
            if p.kind == PlanKind::Survivor {
                continue;
            }
            *kinds.entry(format!("{:?}", p.kind)).or_insert(0usize) += 1;
            let parent = p.parent.unwrap();
            *parents.entry(parent).or_insert(0usize) += 1;
            let base = &recs[parent].genome;
            match p.kind {
                PlanKind::Copy => {
                    assert!(p.genome == *base && p.transfer.is_none() && !p.weight_mutation)
                }
                PlanKind::WeightMutation => assert!(p.genome == *base && p.weight_mutation),
                PlanKind::ArchMutation => {
                    assert_eq!(p.genome.distance(base), 1);
                    let g = p.replaced[0];
                    assert_ne!(p.genome.genes[g], base.genes[g]);
                    assert_eq!(p.donor, Some(WeightSource::Fresh));
                    let t = p.transfer.as_ref().unwrap();
                    assert_eq!(
                        (t.rule, t.shadows),
                        (ShrinkPerturb::REINIT, ShadowRule::Fresh)
                    );
                    assert_eq!(t.positions, s.positions_of(&[g]));
                }
                k => panic!("unexpected {k:?}"),
            }
        }
    }
    for (k, &c) in &kinds {
        assert!((c as f64 / 6000.0 - 1.0 / 3.0).abs() < 0.025, "{k}: {c}");
    }
    // Binary tournament in a pool of 3: best 2/3, second 1/3, third never.
    assert!((parents[&order[0]] as f64 / 6000.0 - 2.0 / 3.0).abs() < 0.025);
    assert!(!parents.contains_key(&order[2]));
}

#[test]
fn random_search_keeps_everyone_and_can_shrink_perturb_all() {
    let s = space();
    let (recs, _) = records(&s, 8, 1);
    let plain = RandomSearch::default();
    let plans = plain
        .next_generation(&recs, &s, &mut ChaCha8Rng::seed_from_u64(0))
        .unwrap();
    assert!(plans
        .iter()
        .all(|p| p.kind == PlanKind::Survivor && p.parent == Some(p.slot)));
    let sp = RandomSearch {
        shrink_perturb_always: Some(ShrinkPerturb::PAPER),
    };
    for p in sp
        .next_generation(&recs, &s, &mut ChaCha8Rng::seed_from_u64(0))
        .unwrap()
    {
        assert_eq!(p.kind, PlanKind::Perturbed);
        assert_eq!(p.donor, Some(WeightSource::Slot(p.slot)));
        let t = p.transfer.unwrap();
        assert_eq!(t.positions, [""]);
        assert_eq!(t.shadows, ShadowRule::ModelState);
        assert!(!t.reset_optimizer);
    }
}

#[test]
fn replay_follows_its_schedule_and_reinitialises_changed_genes() {
    let space = space();
    let g = |text: &str| space.parse_genome(text).unwrap();
    let (a, b) = ("0:010101010101", "0:010101210100");
    let prefix = space.genome(vec![0; 12]).unwrap().to_string();
    let prefix = &prefix[..prefix.find(':').unwrap() + 1];
    let (a, b) = (a.replace("0:", prefix), b.replace("0:", prefix));
    let strategy = Replay {
        schedule: vec![a.clone(), a.clone(), b.clone()],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let rec = |generation: u32, genome: &str| MemberRecord {
        slot: 0,
        generation,
        genome: g(genome),
        fitness: Some(1.0),
    };
    // Generation 1 keeps the genome: the member simply carries on.
    let plans = strategy
        .next_generation(&[rec(0, &a)], &space, &mut rng)
        .unwrap();
    assert_eq!(plans[0].kind, PlanKind::Survivor);
    assert_eq!(plans[0].genome, g(&a));
    // Generation 2 switches genes 6 (l3.op) and 11 (l5.act): l3's layers are reinitialised.
    let plans = strategy
        .next_generation(&[rec(1, &a)], &space, &mut rng)
        .unwrap();
    let p = &plans[0];
    assert_eq!(
        (p.kind, p.parent, p.donor),
        (PlanKind::Changed, Some(0), Some(WeightSource::Fresh))
    );
    assert_eq!(p.genome, g(&b));
    assert_eq!(p.replaced, vec![6, 11]);
    let t = p.transfer.as_ref().unwrap();
    assert_eq!(t.positions, vec!["net.l3".to_string()]);
    assert_eq!(t.rule, ShrinkPerturb::REINIT);
    // Past the schedule, or with more than one member: a clear error.
    assert!(strategy
        .next_generation(&[rec(2, &b)], &space, &mut rng)
        .is_err());
    assert!(strategy
        .next_generation(&[rec(0, &a), rec(0, &a)], &space, &mut rng)
        .is_err());
}
