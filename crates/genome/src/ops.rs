//! Genome operators of PBT-NAS: stratified init, sampling, mixing, mutation (docs/algorithm.md,
//! "Initial population", "Mixing", "SEARL-like mutation").

use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::GenomeError;
use crate::genome::Genome;
use crate::space::SearchSpace;

/// The initial population, stratified per gene: each option appears ⌊n/k⌋ times, the pool is
/// padded to `n` with uniform draws, shuffled, and member i takes pool\[i\].
pub fn stratified_population(space: &SearchSpace, n: usize, rng: &mut impl Rng) -> Vec<Genome> {
    let mut columns = Vec::with_capacity(space.len());
    for gene in &space.genes {
        let k = gene.options.len();
        let mut pool: Vec<u16> = (0..k as u16)
            .flat_map(|o| std::iter::repeat_n(o, n / k))
            .collect();
        while pool.len() < n {
            pool.push(rng.random_range(0..k) as u16);
        }
        pool.shuffle(rng);
        columns.push(pool);
    }
    (0..n)
        .map(|i| Genome {
            space: space.id.clone(),
            genes: columns.iter().map(|c| c[i]).collect(),
        })
        .collect()
}

/// A genome with every gene drawn uniformly.
pub fn sample(space: &SearchSpace, rng: &mut impl Rng) -> Genome {
    Genome {
        space: space.id.clone(),
        genes: space
            .genes
            .iter()
            .map(|g| rng.random_range(0..g.options.len()) as u16)
            .collect(),
    }
}

/// Mixing: the child starts as `parent`; each gene independently takes the donor's option with
/// probability `p`. The draw is made for every gene, even where both options are equal (the
/// weights at such a gene are still replaced). Returns the child and the replaced genes.
pub fn mix(
    parent: &Genome,
    donor: &Genome,
    p: f64,
    rng: &mut impl Rng,
) -> Result<(Genome, Vec<usize>), GenomeError> {
    if parent.space != donor.space {
        return Err(GenomeError::WrongSpace {
            expected: parent.space.clone(),
            got: donor.space.clone(),
        });
    }
    let mut child = parent.clone();
    let mut replaced = Vec::new();
    for (g, &d) in donor.genes.iter().enumerate() {
        if rng.random::<f64>() < p {
            child.genes[g] = d;
            replaced.push(g);
        }
    }
    Ok((child, replaced))
}

/// SEARL-like architecture mutation: one gene (uniform among genes with two or more options)
/// gets a different option, drawn uniformly. Returns the child and the mutated gene.
pub fn mutate(
    space: &SearchSpace,
    genome: &Genome,
    rng: &mut impl Rng,
) -> Result<(Genome, usize), GenomeError> {
    space.validate(genome)?;
    let mutable: Vec<usize> = (0..space.len())
        .filter(|&g| space.genes[g].options.len() > 1)
        .collect();
    if mutable.is_empty() {
        return Err(GenomeError::NothingToMutate {
            space: space.name.clone(),
        });
    }
    let g = mutable[rng.random_range(0..mutable.len())];
    let k = space.genes[g].options.len() as u16;
    let old = genome.genes[g];
    let mut new = rng.random_range(0..k - 1);
    if new >= old {
        new += 1;
    }
    let mut child = genome.clone();
    child.genes[g] = new;
    Ok((child, g))
}
