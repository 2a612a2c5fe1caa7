//! The replay buffer: n-step returns, frame stacking, random shifts, capacity, saving.

use std::sync::Arc;

use pbtnas_rl::obs::ObsShape;
use pbtnas_rl::replay_buffer::{nstep_return, Episode, Recorder, ReplayBuffer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// An episode of 1-value state frames whose value is the frame index (+ 100·`tag`), actions
/// `[i, −i]` and rewards `i + 1`.
fn counting_episode(id: u64, len: usize, tag: f32) -> Arc<Episode> {
    let frame = |i: usize| (i as f32 + 100.0 * tag).to_le_bytes().to_vec();
    let mut rec = Recorder::new(id, frame(0));
    for i in 0..len {
        rec.add(&[i as f32, -(i as f32)], i as f64 + 1.0, &frame(i + 1));
    }
    rec.finish()
}

#[test]
fn nstep_return_of_a_hand_made_window() {
    // 1 + 0.5·2 + 0.25·3 = 2.75, discount 0.5³.
    assert_eq!(nstep_return(&[1.0, 2.0, 3.0], 0.5), (2.75, 0.125));
    assert_eq!(nstep_return(&[4.0], 0.99), (4.0, 0.99));
}

#[test]
fn samples_are_consistent_n_step_transitions_with_stacked_frames() {
    let mut r = ReplayBuffer::new(ObsShape::State(1), 3, 2, 1000);
    r.push(counting_episode(1, 10, 0.0)).unwrap();
    r.push(counting_episode(2, 4, 1.0)).unwrap();
    let (n, gamma) = (3, 0.9);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let b = r.sample(500, n, gamma, 4, &mut rng).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for k in 0..b.size {
        let obs = &b.obs[3 * k..3 * k + 3];
        let next = &b.next_obs[3 * k..3 * k + 3];
        let tag = (obs[2] / 100.0).floor();
        let i = (obs[2] - 100.0 * tag) as usize;
        seen.insert((tag as u32, i));
        // Stack of frames i−2, i−1, i with the first frame repeated before the start.
        let at = |j: isize| 100.0 * tag + j.max(0) as f32;
        assert_eq!(
            obs,
            [at(i as isize - 2), at(i as isize - 1), at(i as isize)]
        );
        let j = i as isize + n as isize;
        assert_eq!(
            next,
            [at(j - 2), at(j - 1), at(j)],
            "next obs is n frames later"
        );
        assert_eq!(&b.action[2 * k..2 * k + 2], [i as f32, -(i as f32)]);
        let rewards: Vec<f32> = (i..i + n).map(|t| t as f32 + 1.0).collect();
        let (want_r, want_d) = nstep_return(&rewards, gamma);
        assert!((b.reward[k] as f64 - want_r).abs() < 1e-5);
        assert!((b.discount[k] as f64 - want_d).abs() < 1e-7);
    }
    // Every start with a full window appears (8 in the first episode, 2 in the second), and no
    // other: transitions are drawn uniformly among them.
    let want: std::collections::BTreeSet<(u32, usize)> = (0..8)
        .map(|i| (0, i))
        .chain((0..2).map(|i| (1, i)))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn random_shift_is_a_bounded_replicate_padded_integer_shift() {
    let (c, h, w, pad) = (2, 11, 11, 4);
    // Pixel value encodes (channel, y, x) uniquely.
    let frame = |_: usize| -> Vec<u8> {
        (0..c * h * w)
            .map(|p| {
                let (ch, y, x) = (p / (h * w), p / w % h, p % w);
                (ch * 121 + y * 11 + x) as u8
            })
            .collect()
    };
    let mut rec = Recorder::new(7, frame(0));
    for _ in 0..5 {
        rec.add(&[0.0], 0.0, &frame(0));
    }
    let mut r = ReplayBuffer::new(ObsShape::Pixels { c, h, w }, 1, 1, 100);
    r.push(rec.finish()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let b = r.sample(300, 1, 0.99, pad, &mut rng).unwrap();
    let mut shifts = std::collections::BTreeSet::new();
    for obs in b
        .obs
        .chunks_exact(c * h * w)
        .chain(b.next_obs.chunks_exact(c * h * w))
    {
        // Pixel (0, 0) of a shifted crop is the source pixel (clamp(dy), clamp(dx)); the shift is
        // recovered from the centre pixel, which no clamping touches.
        let centre = obs[5 * w + 5] as i32;
        let (dy, dx) = (centre / 11 - 5, centre % 11 - 5);
        assert!(
            dy.abs() <= pad as i32 && dx.abs() <= pad as i32,
            "shift ({dy}, {dx})"
        );
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let sy = (y as i32 + dy).clamp(0, h as i32 - 1) as usize;
                    let sx = (x as i32 + dx).clamp(0, w as i32 - 1) as usize;
                    let want = (ch * 121 + sy * 11 + sx) as f32;
                    assert_eq!(obs[ch * h * w + y * w + x], want);
                }
            }
        }
        shifts.insert((dy, dx));
    }
    // Independent draws cover the whole 9×9 range of shifts.
    assert_eq!(shifts.len(), 81);
    // No padding, no shift.
    let b = r.sample(5, 1, 0.99, 0, &mut rng).unwrap();
    assert_eq!(
        &b.obs[..c * h * w],
        frame(0).iter().map(|&v| v as f32).collect::<Vec<_>>()
    );
}

#[test]
fn capacity_evicts_oldest_episodes_and_duplicates_are_ignored() {
    let mut r = ReplayBuffer::new(ObsShape::State(1), 1, 2, 25);
    for id in 0..4 {
        assert!(r.push(counting_episode(id, 10, 0.0)).unwrap());
    }
    // 40 transitions over capacity 25: the two oldest episodes go.
    assert_eq!(r.len(), 20);
    assert_eq!(r.episodes().map(|e| e.id).collect::<Vec<_>>(), [2, 3]);
    assert!(!r.push(counting_episode(3, 10, 0.0)).unwrap());
    assert_eq!(r.len(), 20);
    // A wrong frame size is refused.
    let mut px = ReplayBuffer::new(ObsShape::Pixels { c: 3, h: 4, w: 4 }, 3, 2, 10);
    assert!(px.push(counting_episode(9, 2, 0.0)).is_err());
}

#[test]
fn saved_replay_restores_the_same_episodes_and_stores_each_frame_once() {
    let (c, h, w) = (3, 84, 84);
    let mut r = ReplayBuffer::new(ObsShape::Pixels { c, h, w }, 3, 6, 10_000);
    for id in 0..3u64 {
        let frame = |i: usize| vec![(id as usize * 31 + i) as u8; c * h * w];
        let mut rec = Recorder::new(id, frame(0));
        for i in 0..50 {
            rec.add(&[0.5; 6], i as f64, &frame(i + 1));
        }
        r.push(rec.finish()).unwrap();
    }
    let t = r.to_tensors().unwrap();
    let mut back = ReplayBuffer::new(ObsShape::Pixels { c, h, w }, 3, 6, 10_000);
    back.load_tensors(&t).unwrap();
    assert_eq!(back.len(), r.len());
    for (a, b) in r.episodes().zip(back.episodes()) {
        assert_eq!(a, b);
    }
    // Bytes per stored frame: one 84·84·3 frame plus the action and reward of its transition.
    let frames = r.len() + r.episodes().count();
    let per_frame = r.bytes() as f64 / frames as f64;
    assert!(per_frame < (c * h * w) as f64 + 28.0 + 1.0, "{per_frame}");
    assert!(per_frame >= (c * h * w) as f64);
}
