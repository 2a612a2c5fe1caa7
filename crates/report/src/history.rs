//! The series a search is judged by, computed from its trials.

use pbtnas_orchestrator::store::{Trial, TrialStatus};
use pbtnas_orchestrator::strategy::WeightSource;

use crate::RunData;

/// Per generation (index = 0-based generation): the best and median fitness of the members that
/// finished, and the best fitness seen up to and including it. `None` where nothing finished.
#[derive(Debug, Clone, PartialEq)]
pub struct FitnessSeries {
    pub best: Vec<Option<f64>>,
    pub median: Vec<Option<f64>>,
    pub best_so_far: Vec<Option<f64>>,
}

/// The fitness of a finished trial.
pub fn fitness(t: &Trial) -> Option<f64> {
    match t.status {
        TrialStatus::Done => t.fitness,
        _ => None,
    }
}

/// One median everywhere: the report's is the progress line's.
pub use pbtnas_orchestrator::status::median;

/// Best, median and best-so-far fitness per generation.
pub fn fitness_series(run: &RunData) -> FitnessSeries {
    let generations = run.generations() as usize;
    let mut s = FitnessSeries {
        best: vec![None; generations],
        median: vec![None; generations],
        best_so_far: vec![None; generations],
    };
    let mut so_far: Option<f64> = None;
    for g in 0..generations {
        let values: Vec<f64> = run
            .trials
            .iter()
            .filter(|t| t.spec.generation as usize == g)
            .filter_map(fitness)
            .collect();
        s.best[g] = values.iter().copied().reduce(f64::max);
        s.median[g] = median(&values);
        so_far = match (so_far, s.best[g]) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        s.best_so_far[g] = so_far;
    }
    s
}

/// PBT-NAS's block history: `shares[g][k]` is the share of all genes in generation `g` whose
/// option and weights descend from initial member `k`.
pub fn block_history(run: &RunData) -> Vec<Vec<f64>> {
    let n = run.population();
    (0..run.generations())
        .map(|g| {
            let mut counts = vec![0usize; n];
            let mut total = 0usize;
            for t in run.trials.iter().filter(|t| t.spec.generation == g) {
                for &k in &t.spec.origin {
                    counts[k.min(n - 1)] += 1;
                    total += 1;
                }
            }
            counts
                .iter()
                .map(|&c| c as f64 / total.max(1) as f64)
                .collect()
        })
        .collect()
}

/// `shares[g][o]`: the share of the population holding option `o` of `gene` in generation `g`.
pub fn option_shares(run: &RunData, gene: usize) -> Vec<Vec<f64>> {
    let options = run.space.genes[gene].options.len();
    (0..run.generations())
        .map(|g| {
            let members: Vec<&Trial> = run
                .trials
                .iter()
                .filter(|t| t.spec.generation == g)
                .collect();
            let mut counts = vec![0usize; options];
            for t in &members {
                counts[t.spec.plan.genome.genes[gene] as usize] += 1;
            }
            counts
                .iter()
                .map(|&c| c as f64 / members.len().max(1) as f64)
                .collect()
        })
        .collect()
}

/// The donor of a trial as a previous-generation slot, if it has one.
pub fn donor_slot(t: &Trial) -> Option<usize> {
    match t.spec.plan.donor {
        Some(WeightSource::Slot(d)) => Some(d),
        _ => None,
    }
}

/// The chain of trials a trial continues from, oldest first, following parent edges.
pub fn ancestry<'a>(run: &'a RunData, t: &'a Trial) -> Vec<&'a Trial> {
    let mut chain = vec![t];
    let mut cur = t;
    while let (Some(p), true) = (cur.spec.plan.parent, cur.spec.generation > 0) {
        match run.trial(cur.spec.generation - 1, p) {
            Some(prev) => {
                chain.push(prev);
                cur = prev;
            }
            None => break,
        }
    }
    chain.reverse();
    chain
}
