//! The strategies draw what the original PBT-NAS code draws (github.com/AwesomeLemon/PBT-NAS).
//!
//! `fixtures/original_strategies.json` was made by `scripts/fixtures/original-strategies.py`
//! from the original's own `ea.py` (`create_children`) and `mutation.py`
//! (`classic_parameter_mutation`), run on a local copy of the commit the fixture names. Its random
//! draws come from numpy and cannot be aligned with ours, so each distribution (≥ 10^4 draws) is
//! compared with ours by a two-sample chi-square test; a statistic beyond dof + 6·sqrt(2·dof)
//! fails (far past any p-value a correct implementation reaches with these fixed seeds).

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use pbtnas_genome::SearchSpace;
use pbtnas_nn::{searl_weight_mutation, ShrinkPerturb, WeightMap};
use pbtnas_task::strategy::pbt_nas::PbtNas;
use pbtnas_task::strategy::searl::Searl;
use pbtnas_task::{MemberRecord, PlanKind, SlotPlan, StrategyConfig, WeightSource};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/original_strategies.json");
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["original_commit"].as_str().unwrap().len(), 40);
    v
}

fn counts(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// The two-sample chi-square statistic and its degrees of freedom; bins with fewer than 10
/// draws in both samples together are pooled into one.
fn chi_square(a: &[u64], b: &[u64]) -> (f64, usize) {
    assert_eq!(a.len(), b.len());
    let (ta, tb) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
    let (ka, kb) = ((tb / ta).sqrt(), (ta / tb).sqrt());
    let mut bins: Vec<(f64, f64)> = Vec::new();
    let mut pooled = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        if x + y < 10 {
            pooled = (pooled.0 + x as f64, pooled.1 + y as f64);
        } else {
            bins.push((x as f64, y as f64));
        }
    }
    if pooled.0 + pooled.1 > 0.0 {
        bins.push(pooled);
    }
    let stat = bins
        .iter()
        .map(|&(x, y)| (ka * x - kb * y).powi(2) / (x + y))
        .sum();
    (stat, bins.len().saturating_sub(1))
}

fn assert_same_distribution(what: &str, original: &[u64], ours: &[u64]) {
    let (stat, dof) = chi_square(original, ours);
    let bound = dof as f64 + 6.0 * (2.0 * dof as f64).sqrt();
    assert!(
        stat <= bound.max(1.0),
        "{what}: chi-square {stat:.1} on {dof} dof (bound {bound:.1})\n  original {original:?}\n  ours     {ours:?}"
    );
}

struct Setup {
    space: SearchSpace,
    records: Vec<MemberRecord>,
    alphabet: Vec<usize>,
    children: usize,
}

fn setup(f: &Value) -> Setup {
    let pop = &f["population"];
    let alphabet: Vec<usize> = counts(&pop["alphabet"])
        .into_iter()
        .map(|k| k as usize)
        .collect();
    let mut yaml = String::from("name: original-fixture\ngenes:\n");
    for (g, k) in alphabet.iter().enumerate() {
        let options: Vec<String> = (0..*k).map(|o| format!("o{o}")).collect();
        yaml += &format!(
            "  - {{name: g{g}, options: [{}], positions: ['net.l{g}']}}\n",
            options.join(", ")
        );
    }
    let space = SearchSpace::from_yaml(&yaml, "fixture.yaml").unwrap();
    let fitness = pop["fitness"].as_array().unwrap();
    let records = pop["genes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(slot, g)| MemberRecord {
            slot,
            generation: 0,
            genome: space
                .genome(counts(g).into_iter().map(|x| x as u16).collect())
                .unwrap(),
            fitness: fitness[slot].as_f64(),
        })
        .collect();
    Setup {
        space,
        records,
        alphabet,
        children: f["children"].as_u64().unwrap() as usize,
    }
}

/// Our children of the fixture's population: `n` of them, over as many generations as needed.
fn our_children(s: &Setup, cfg: &StrategyConfig, seed: u64) -> Vec<SlotPlan> {
    let strategy = cfg.strategy();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    while out.len() < s.children {
        let plans = strategy
            .next_generation(&s.records, &s.space, &mut rng)
            .unwrap();
        out.extend(plans.into_iter().filter(|p| p.kind != PlanKind::Survivor));
    }
    out.truncate(s.children);
    out
}

fn pbt_nas(f: &Value, mix_with_itself: bool) -> StrategyConfig {
    StrategyConfig::PbtNas(PbtNas {
        mix_prob: f["mix_prob"].as_f64().unwrap(),
        parent_frac: f["parent_frac"].as_f64().unwrap(),
        survive_frac: f["survive_frac"].as_f64().unwrap(),
        shrink_perturb: ShrinkPerturb::PAPER,
        mix_with_itself,
    })
}

fn donor(p: &SlotPlan) -> usize {
    match p.donor {
        Some(WeightSource::Slot(d)) => d,
        other => panic!("a PBT-NAS child with donor {other:?}"),
    }
}

#[test]
fn mixing_draws_the_originals_parents_donors_and_genes() {
    let f = fixture();
    let s = setup(&f);
    let (n, g) = (s.records.len(), s.alphabet.len());
    let (mut pair, mut gene, mut how_many) = (vec![0; n * n], vec![0; g], vec![0; g + 1]);
    for p in our_children(&s, &pbt_nas(&f, false), 1) {
        assert_eq!(p.kind, PlanKind::Child);
        pair[p.parent.unwrap() * n + donor(&p)] += 1;
        for &r in &p.replaced {
            gene[r] += 1;
        }
        how_many[p.replaced.len()] += 1;
    }
    let o = &f["pbt_nas"];
    assert_same_distribution("(parent, donor) pairs", &counts(&o["pair"]), &pair);
    // Each gene's rate: replaced or not, out of every child.
    for (j, (&a, &b)) in counts(&o["gene"]).iter().zip(&gene).enumerate() {
        let total = s.children as u64;
        assert_same_distribution(
            &format!("gene {j} replaced"),
            &[a, total - a],
            &[b, total - b],
        );
    }
    assert_same_distribution(
        "number of genes replaced",
        &counts(&o["how_many"]),
        &how_many,
    );
}

#[test]
fn no_mixing_draws_the_originals_parent() {
    let f = fixture();
    let s = setup(&f);
    let mut parent = vec![0; s.records.len()];
    for p in our_children(&s, &pbt_nas(&f, true), 2) {
        assert_eq!(p.parent, Some(donor(&p)));
        parent[p.parent.unwrap()] += 1;
    }
    assert_same_distribution(
        "no-mixing parent",
        &counts(&f["no_mixing"]["parent"]),
        &parent,
    );
}

#[test]
fn searl_draws_the_originals_parents_actions_and_mutations() {
    let f = fixture();
    let s = setup(&f);
    let g = s.alphabet.len();
    let width = *s.alphabet.iter().max().unwrap();
    let cfg = StrategyConfig::Searl(Searl {
        parent_frac: f["parent_frac"].as_f64().unwrap(),
        survive_frac: f["survive_frac"].as_f64().unwrap(),
        untrained_best_ever: false,
    });
    let (mut parent, mut action) = (vec![0; s.records.len()], vec![0; 3]);
    let (mut gene, mut new_option) = (vec![0; g], vec![0; g * width]);
    for p in our_children(&s, &cfg, 3) {
        parent[p.parent.unwrap()] += 1;
        match p.kind {
            PlanKind::Copy => action[0] += 1,
            PlanKind::WeightMutation => action[1] += 1,
            PlanKind::ArchMutation => {
                action[2] += 1;
                let j = p.replaced[0];
                gene[j] += 1;
                new_option[j * width + p.genome.genes[j] as usize] += 1;
            }
            k => panic!("a SEARL child of kind {k:?}"),
        }
    }
    let o = &f["searl"];
    assert_same_distribution("SEARL parent", &counts(&o["parent"]), &parent);
    assert_same_distribution("SEARL action", &counts(&o["action"]), &action);
    assert_same_distribution("SEARL mutated gene", &counts(&o["gene"]), &gene);
    assert_same_distribution("SEARL new option", &counts(&o["new_option"]), &new_option);
}

/// The fixture's closed-form tensor values (`tensor_value` in the script).
fn tensor_value(name: &str, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let phase = (name
        .bytes()
        .enumerate()
        .map(|(i, c)| (i + 1) * c as usize)
        .sum::<usize>()
        % 97) as f64
        * 0.1;
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let s = (0.7315 * i as f64 + phase).sin();
            (s.signum() * (0.05 + 0.95 * s.abs())) as f32
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

#[test]
fn weight_mutation_draws_the_originals_tensors_elements_and_strengths() {
    let f = fixture();
    let o = &f["weight_mutation"];
    let tensors: Vec<(String, Vec<usize>)> = o["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let shape = counts(&t["shape"])
                .into_iter()
                .map(|d| d as usize)
                .collect();
            (t["name"].as_str().unwrap().to_string(), shape)
        })
        .collect();
    let bins: Vec<f64> = o["ratio_bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let base: WeightMap = tensors
        .iter()
        .map(|(n, s)| (n.clone(), tensor_value(n, s)))
        .collect();
    let flat = |m: &WeightMap, n: &str| m[n].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let draws = o["draws"].as_u64().unwrap();
    let mut how_many = vec![0u64; tensors.len() + 1];
    let mut chosen = vec![0u64; tensors.len()];
    let mut changed: BTreeMap<&str, Vec<u64>> = tensors
        .iter()
        .map(|(n, s)| (n.as_str(), vec![0; s.iter().product::<usize>() + 1]))
        .collect();
    let mut ratio = vec![0u64; bins.len() + 1];
    for seed in 0..draws {
        let mut w = base.clone();
        let picked = searl_weight_mutation(&mut w, 1000 + seed).unwrap();
        how_many[picked.len()] += 1;
        for p in &picked {
            chosen[tensors.iter().position(|(n, _)| n == p).unwrap()] += 1;
        }
        for (n, _) in &tensors {
            let (old, new) = (flat(&base, n), flat(&w, n));
            let mut k = 0;
            for (&a, &b) in old.iter().zip(&new) {
                if a != b {
                    k += 1;
                    let r = ((b as f64 - a as f64).abs() / (a as f64).abs()).log10();
                    // numpy's searchsorted (side left): the number of edges below r.
                    ratio[bins.iter().filter(|&&e| e < r).count()] += 1;
                }
            }
            changed.get_mut(n.as_str()).unwrap()[k] += 1;
        }
    }
    assert_same_distribution("tensors mutated", &counts(&o["how_many"]), &how_many);
    assert_same_distribution("tensor chosen", &counts(&o["chosen"]), &chosen);
    for (n, ours) in &changed {
        assert_same_distribution(
            &format!("{n}: elements changed"),
            &counts(&o["changed"][*n]),
            ours,
        );
    }
    assert_same_distribution("log10 |change| / |weight|", &counts(&o["ratio"]), &ratio);
}

#[test]
fn the_chi_square_test_tells_different_distributions_apart() {
    // 12,000 draws each: a mixing rate of 0.25 against 0.3, per gene of 8.
    let (a, b): (Vec<u64>, Vec<u64>) = (vec![3000; 8], vec![3600; 8]);
    let (a, b) = (
        [a.clone(), vec![12_000 * 8 - 24_000]].concat(),
        [b, vec![12_000 * 8 - 28_800]].concat(),
    );
    let (stat, dof) = chi_square(&a, &b);
    assert!(
        stat > dof as f64 + 6.0 * (2.0 * dof as f64).sqrt(),
        "{stat} on {dof}"
    );
    let (same, _) = chi_square(&a, &a);
    assert_eq!(same, 0.0);
}
