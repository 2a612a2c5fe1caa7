//! Deterministic seed derivation: every random draw of a run comes from (run seed, purpose, ...).

/// One round of splitmix64, a well-mixed 64-bit hash step.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seed derived from a base seed and a path of integers (generation, slot, purpose ...).
/// Unlike the original's `seed*100000 + epoch*1000 + i*10`, distinct paths never collide
/// by arithmetic overlap.
pub fn derive_seed(base: u64, path: &[u64]) -> u64 {
    path.iter()
        .fold(splitmix(base), |acc, &p| splitmix(acc ^ splitmix(p)))
}

/// A stable 64-bit hash of a name (FNV-1a), for per-tensor seeds.
pub fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}
