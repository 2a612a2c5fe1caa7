use pbtnas_genome::{ops, SearchSpace};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn space() -> SearchSpace {
    let yaml = "name: ops
genes:
  - {name: two, options: [a, b]}
  - {name: three, options: [a, b, c]}
  - {name: five, options: [a, b, c, d, e]}
  - {name: seven, options: [a, b, c, d, e, f, g]}
  - {name: one, options: [only]}
";
    SearchSpace::from_yaml(yaml, "ops.yaml").unwrap()
}

fn counts(pop: &[pbtnas_genome::Genome], gene: usize, k: usize) -> Vec<usize> {
    let mut c = vec![0; k];
    for g in pop {
        c[g.genes[gene] as usize] += 1;
    }
    c
}

#[test]
fn stratified_init_counts_are_exact() {
    let s = space();
    for seed in 0..20 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let pop = ops::stratified_population(&s, 24, &mut rng);
        assert_eq!(pop.len(), 24);
        assert_eq!(counts(&pop, 0, 2), [12, 12]);
        assert_eq!(counts(&pop, 1, 3), [8, 8, 8]);
        // 24 / 5 = 4 of each, 4 padded at random: every option at least 4 times
        let c5 = counts(&pop, 2, 5);
        assert_eq!(c5.iter().sum::<usize>(), 24);
        assert!(c5.iter().all(|&c| (4..=8).contains(&c)), "{c5:?}");
        let c7 = counts(&pop, 3, 7);
        assert!(c7.iter().all(|&c| c >= 3), "{c7:?}");
        assert_eq!(counts(&pop, 4, 1), [24]);
        for g in &pop {
            s.validate(g).unwrap();
        }
    }
    // N smaller than k: nothing guaranteed, all padded.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let pop = ops::stratified_population(&s, 6, &mut rng);
    assert_eq!(counts(&pop, 1, 3), [2, 2, 2]);
    assert_eq!(counts(&pop, 0, 2), [3, 3]);
}

#[test]
fn stratified_init_is_seeded() {
    let s = space();
    let a = ops::stratified_population(&s, 12, &mut ChaCha8Rng::seed_from_u64(7));
    let b = ops::stratified_population(&s, 12, &mut ChaCha8Rng::seed_from_u64(7));
    let c = ops::stratified_population(&s, 12, &mut ChaCha8Rng::seed_from_u64(8));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn mixing_takes_each_donor_gene_with_probability_p_even_when_equal() {
    let s = space();
    let parent = s.genome(vec![0, 0, 0, 0, 0]).unwrap();
    let donor = s.genome(vec![1, 2, 4, 6, 0]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let trials = 20_000;
    let mut per_gene = [0usize; 5];
    for _ in 0..trials {
        let (child, replaced) = ops::mix(&parent, &donor, 0.25, &mut rng).unwrap();
        for (g, count) in per_gene.iter_mut().enumerate() {
            let took = replaced.contains(&g);
            *count += took as usize;
            assert_eq!(
                child.genes[g],
                if took {
                    donor.genes[g]
                } else {
                    parent.genes[g]
                }
            );
        }
    }
    // Binomial(20000, 0.25): sd = 61; 5 sd = 306 → fraction within ±0.0153.
    for (g, &c) in per_gene.iter().enumerate() {
        let f = c as f64 / trials as f64;
        assert!((f - 0.25).abs() < 0.0153, "gene {g}: {f}");
    }
    // Gene 4 is equal in both and still drawn (replaced ~25% of the time).
    assert!(per_gene[4] > 4000);
    // Mixing a genome with itself keeps it but still reports replaced genes.
    let (same, replaced) = ops::mix(&donor, &donor, 0.25, &mut rng).unwrap();
    assert_eq!(same, donor);
    let _ = replaced;
    let (_, all) = ops::mix(&parent, &donor, 1.0, &mut rng).unwrap();
    assert_eq!(all, [0, 1, 2, 3, 4]);
    let (c0, none) = ops::mix(&parent, &donor, 0.0, &mut rng).unwrap();
    assert!(none.is_empty());
    assert_eq!(c0, parent);
}

#[test]
fn mutation_changes_exactly_one_mutable_gene_uniformly() {
    let s = space();
    let g = s.genome(vec![1, 2, 3, 4, 0]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut hits = [0usize; 5];
    let mut values = [0usize; 7];
    for _ in 0..8000 {
        let (child, gene) = ops::mutate(&s, &g, &mut rng).unwrap();
        assert_eq!(g.distance(&child), 1);
        assert_ne!(child.genes[gene], g.genes[gene]);
        hits[gene] += 1;
        if gene == 3 {
            values[child.genes[3] as usize] += 1;
        }
    }
    assert_eq!(hits[4], 0, "a one-option gene never mutates");
    for &h in &hits[..4] {
        assert!((h as f64 / 8000.0 - 0.25).abs() < 0.03, "{hits:?}");
    }
    assert_eq!(values[4], 0, "the old option is never drawn");
    let n3 = hits[3] as f64;
    for (v, &c) in values.iter().enumerate().filter(|(v, _)| *v != 4) {
        assert!(
            (c as f64 / n3 - 1.0 / 6.0).abs() < 0.05,
            "option {v}: {values:?}"
        );
    }
}

#[test]
fn sampling_and_distance() {
    let s = space();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for _ in 0..100 {
        s.validate(&ops::sample(&s, &mut rng)).unwrap();
    }
    let a = s.genome(vec![0, 1, 2, 3, 0]).unwrap();
    let b = s.genome(vec![0, 2, 2, 4, 0]).unwrap();
    assert_eq!(a.distance(&b), 2);
    assert_eq!(a.distance(&a), 0);
    assert!((s.log10_size() - (2.0f64 * 3.0 * 5.0 * 7.0).log10()).abs() < 1e-12);
}
