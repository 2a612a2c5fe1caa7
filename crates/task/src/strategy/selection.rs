//! Selection arithmetic shared by PBT-NAS and SEARL (docs/algorithm.md, "Selection"): ranking,
//! parent pool, survivors, and the slots children take.

use anyhow::{bail, Result};
use rand::seq::index;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::MemberRecord;

/// `int(n × frac)` as the original computes it (truncation of the float product).
pub fn count(n: usize, frac: f64) -> usize {
    (n as f64 * frac) as usize
}

/// The outcome of ranking a population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Slots from best to worst (failed members last; ties by slot).
    pub ranked: Vec<usize>,
    /// The parent pool: the top ⌊N·parent_frac⌋.
    pub parents: Vec<usize>,
    /// The top ⌊N·survive_frac⌋, which continue unchanged.
    pub survivors: Vec<usize>,
    /// The remaining slots, ascending; child k takes `replaced[k]`.
    pub replaced: Vec<usize>,
}

/// Ranks records by fitness (higher is better) and splits them.
pub fn select(records: &[MemberRecord], parent_frac: f64, survive_frac: f64) -> Result<Selection> {
    let n = records.len();
    for (i, r) in records.iter().enumerate() {
        if r.slot != i {
            bail!(
                "records must be in slot order: position {i} holds slot {}",
                r.slot
            );
        }
    }
    let key = |s: usize| {
        records[s]
            .fitness
            .filter(|f| !f.is_nan())
            .unwrap_or(f64::NEG_INFINITY)
    };
    let mut ranked: Vec<usize> = (0..n).collect();
    ranked.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    let n_parents = count(n, parent_frac);
    let n_survive = count(n, survive_frac);
    let mut replaced = ranked[n_survive..].to_vec();
    replaced.sort_unstable();
    Ok(Selection {
        parents: ranked[..n_parents].to_vec(),
        survivors: ranked[..n_survive].to_vec(),
        replaced,
        ranked,
    })
}

impl Selection {
    /// One member of the parent pool, uniformly.
    pub fn draw_one(&self, rng: &mut ChaCha8Rng) -> usize {
        self.parents[rng.random_range(0..self.parents.len())]
    }

    /// Two distinct members of the parent pool drawn uniformly, the fitter first.
    pub fn draw_pair(&self, rng: &mut ChaCha8Rng) -> (usize, usize) {
        let pick = index::sample(rng, self.parents.len(), 2);
        let (a, b) = (pick.index(0), pick.index(1));
        // The pool is in rank order, so the smaller index is the fitter member.
        (self.parents[a.min(b)], self.parents[a.max(b)])
    }
}
