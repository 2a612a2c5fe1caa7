//! The replay buffer: whole episodes, each frame stored once as bytes (a stacked observation is
//! rebuilt from the last `stack` frames when sampled, as DrQ-v2's frame stack makes it), n-step
//! sampling, a capacity in transitions with the oldest episodes evicted first. Episodes are
//! shared (`Arc`) so that a pool across members holds no copies.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use anyhow::{bail, ensure, Result};
use candle_core::{DType, Device, Tensor};
use pbtnas_nn::WeightMap;
use rand::Rng;

use crate::obs::ObsShape;

/// One episode: `len + 1` frames, `len` actions and rewards (transition `i` goes from frame
/// `i` to frame `i + 1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// Unique across a run, so a pool never holds an episode twice.
    pub id: u64,
    pub frames: Vec<u8>,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
}

impl Episode {
    /// Transitions in the episode.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

/// A sampled batch, every field flattened row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub size: usize,
    /// `size × stack·frame_len` values of the stacked observation (pixels as 0..255 floats).
    pub obs: Vec<f32>,
    pub action: Vec<f32>,
    /// `Σ_{j<n} γ^j r_{i+j}`.
    pub reward: Vec<f32>,
    /// `γ^n` (DMC episodes never terminate, so every transition bootstraps).
    pub discount: Vec<f32>,
    pub next_obs: Vec<f32>,
}

/// Episodes of one member or of a pool.
#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    pub kind: ObsShape,
    pub stack: usize,
    pub action_dim: usize,
    /// Most transitions kept.
    pub capacity: usize,
    episodes: VecDeque<Arc<Episode>>,
    ids: HashSet<u64>,
    transitions: usize,
}

impl ReplayBuffer {
    pub fn new(kind: ObsShape, stack: usize, action_dim: usize, capacity: usize) -> Self {
        Self {
            kind,
            stack: stack.max(1),
            action_dim,
            capacity,
            episodes: VecDeque::new(),
            ids: HashSet::new(),
            transitions: 0,
        }
    }

    /// Stored transitions.
    pub fn len(&self) -> usize {
        self.transitions
    }

    pub fn is_empty(&self) -> bool {
        self.transitions == 0
    }

    pub fn episodes(&self) -> impl Iterator<Item = &Arc<Episode>> {
        self.episodes.iter()
    }

    /// Bytes held by frames, actions and rewards.
    pub fn bytes(&self) -> usize {
        self.episodes
            .iter()
            .map(|e| e.frames.len() + 4 * (e.actions.len() + e.rewards.len()))
            .sum()
    }

    /// Adds a finished episode (ignored if already held), evicting the oldest ones over
    /// capacity. Returns whether it was added.
    pub fn push(&mut self, e: Arc<Episode>) -> Result<bool> {
        ensure!(
            e.frames.len() == (e.len() + 1) * self.kind.frame_bytes()
                && e.actions.len() == e.len() * self.action_dim,
            "episode {} does not fit the buffer's frame or action size",
            e.id
        );
        if e.is_empty() || !self.ids.insert(e.id) {
            return Ok(false);
        }
        self.transitions += e.len();
        self.episodes.push_back(e);
        while self.transitions > self.capacity && self.episodes.len() > 1 {
            let old = self.episodes.pop_front().expect("not empty");
            self.ids.remove(&old.id);
            self.transitions -= old.len();
        }
        Ok(true)
    }

    /// Frame `i` of `e` as floats appended to `out`, shifted by `(dy, dx)` with edge replication
    /// (pixels only; `(0, 0)` copies).
    fn frame_into(&self, e: &Episode, i: usize, dy: isize, dx: isize, out: &mut Vec<f32>) {
        let b = self.kind.frame_bytes();
        let f = &e.frames[i * b..(i + 1) * b];
        match self.kind {
            ObsShape::State(_) => out.extend(
                f.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            ObsShape::Pixels { c, h, w } => {
                for ch in 0..c {
                    let plane = &f[ch * h * w..(ch + 1) * h * w];
                    for y in 0..h {
                        let sy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                        let row = &plane[sy * w..(sy + 1) * w];
                        out.extend((0..w).map(|x| {
                            row[(x as isize + dx).clamp(0, w as isize - 1) as usize] as f32
                        }));
                    }
                }
            }
        }
    }

    /// The stacked observation at frame `i` (frames `i−stack+1 ..= i`, the episode's first
    /// frame repeated before it), shifted by `(dy, dx)`.
    pub fn obs_into(&self, e: &Episode, i: usize, shift: (isize, isize), out: &mut Vec<f32>) {
        for s in 0..self.stack {
            let j = (i + s + 1).saturating_sub(self.stack);
            self.frame_into(e, j, shift.0, shift.1, out);
        }
    }

    /// `batch` transitions drawn uniformly among those with a full `nstep` window, with n-step
    /// rewards and discounts; pixel observations get DrQ-v2's random shift (replicate-pad by
    /// `pad`, crop at an integer offset drawn independently for obs and next obs of every
    /// sample).
    pub fn sample(
        &self,
        batch: usize,
        nstep: usize,
        discount: f64,
        pad: usize,
        rng: &mut impl Rng,
    ) -> Result<Batch> {
        let starts: Vec<usize> = self
            .episodes
            .iter()
            .map(|e| (e.len() + 1).saturating_sub(nstep))
            .collect();
        let total: usize = starts.iter().sum();
        if total == 0 {
            bail!("the replay buffer has no {nstep}-step transition yet");
        }
        let obs_len = self.stack * self.kind.len();
        let mut out = Batch {
            size: batch,
            obs: Vec::with_capacity(batch * obs_len),
            action: Vec::with_capacity(batch * self.action_dim),
            reward: Vec::with_capacity(batch),
            discount: Vec::with_capacity(batch),
            next_obs: Vec::with_capacity(batch * obs_len),
        };
        let shift = |rng: &mut dyn rand::RngCore| -> (isize, isize) {
            if pad == 0 || matches!(self.kind, ObsShape::State(_)) {
                return (0, 0);
            }
            let p = pad as i64;
            (
                rng.random_range(-p..=p) as isize,
                rng.random_range(-p..=p) as isize,
            )
        };
        for _ in 0..batch {
            let mut k = rng.random_range(0..total);
            let ei = starts
                .iter()
                .position(|&s| {
                    if k < s {
                        true
                    } else {
                        k -= s;
                        false
                    }
                })
                .expect("k < total");
            let (e, i) = (&self.episodes[ei], k);
            let s = shift(rng);
            self.obs_into(e, i, s, &mut out.obs);
            out.action
                .extend_from_slice(&e.actions[i * self.action_dim..(i + 1) * self.action_dim]);
            let (r, d) = nstep_return(&e.rewards[i..i + nstep], discount);
            out.reward.push(r as f32);
            out.discount.push(d as f32);
            let s = shift(rng);
            self.obs_into(e, i + nstep, s, &mut out.next_obs);
        }
        Ok(out)
    }

    /// The buffer as tensors for a member's saved state: `replay.frames` (u8), `replay.actions`,
    /// `replay.rewards` (f32), `replay.episodes` (`[id, len]` as i64).
    pub fn to_tensors(&self) -> Result<WeightMap> {
        let dev = Device::Cpu;
        let frames: Vec<u8> = self
            .episodes
            .iter()
            .flat_map(|e| e.frames.iter().copied())
            .collect();
        let actions: Vec<f32> = self
            .episodes
            .iter()
            .flat_map(|e| e.actions.iter().copied())
            .collect();
        let rewards: Vec<f32> = self
            .episodes
            .iter()
            .flat_map(|e| e.rewards.iter().copied())
            .collect();
        let index: Vec<i64> = self
            .episodes
            .iter()
            .flat_map(|e| [e.id as i64, e.len() as i64])
            .collect();
        let n = self.episodes.len();
        Ok([
            (
                "replay.frames".to_string(),
                Tensor::from_vec(
                    frames,
                    (self.transitions + n, self.kind.frame_bytes()),
                    &dev,
                )?,
            ),
            (
                "replay.actions".to_string(),
                Tensor::from_vec(actions, (self.transitions, self.action_dim), &dev)?,
            ),
            (
                "replay.rewards".to_string(),
                Tensor::from_vec(rewards, self.transitions, &dev)?,
            ),
            (
                "replay.episodes".to_string(),
                Tensor::from_vec(index, (n, 2), &dev)?,
            ),
        ]
        .into())
    }

    /// Restores the episodes written by [`ReplayBuffer::to_tensors`] (an empty map gives no
    /// episodes).
    pub fn load_tensors(&mut self, data: &WeightMap) -> Result<()> {
        let Some(index) = data.get("replay.episodes") else {
            return Ok(());
        };
        let get = |n: &str| {
            data.get(n)
                .ok_or_else(|| anyhow::anyhow!("saved replay lacks '{n}'"))
        };
        let frames = get("replay.frames")?
            .to_dtype(DType::U8)?
            .flatten_all()?
            .to_vec1::<u8>()?;
        let actions = get("replay.actions")?.flatten_all()?.to_vec1::<f32>()?;
        let rewards = get("replay.rewards")?.flatten_all()?.to_vec1::<f32>()?;
        let index = index
            .to_dtype(DType::I64)?
            .flatten_all()?
            .to_vec1::<i64>()?;
        let (b, a) = (self.kind.frame_bytes(), self.action_dim);
        let (mut f, mut t) = (0, 0);
        for pair in index.chunks_exact(2) {
            let (id, len) = (pair[0] as u64, pair[1] as usize);
            ensure!(
                (f + len + 1) * b <= frames.len()
                    && (t + len) * a <= actions.len()
                    && t + len <= rewards.len(),
                "saved replay is shorter than its episode index"
            );
            self.push(Arc::new(Episode {
                id,
                frames: frames[f * b..(f + len + 1) * b].to_vec(),
                actions: actions[t * a..(t + len) * a].to_vec(),
                rewards: rewards[t..t + len].to_vec(),
            }))?;
            f += len + 1;
            t += len;
        }
        Ok(())
    }
}

/// `(Σ_{j<n} γ^j r_j, γ^n)` for the rewards of an n-step window.
pub fn nstep_return(rewards: &[f32], discount: f64) -> (f64, f64) {
    let mut g = 1.0;
    let mut r = 0.0;
    for &x in rewards {
        r += g * x as f64;
        g *= discount;
    }
    (r, g)
}

/// An episode being recorded.
#[derive(Debug, Clone)]
pub struct Recorder {
    episode: Episode,
}

impl Recorder {
    /// Starts an episode with its first frame.
    pub fn new(id: u64, first: Vec<u8>) -> Self {
        Self {
            episode: Episode {
                id,
                frames: first,
                actions: Vec::new(),
                rewards: Vec::new(),
            },
        }
    }

    /// Records a transition: the action taken, the reward, the next frame.
    pub fn add(&mut self, action: &[f32], reward: f64, frame: &[u8]) {
        self.episode.actions.extend_from_slice(action);
        self.episode.rewards.push(reward as f32);
        self.episode.frames.extend_from_slice(frame);
    }

    /// The episode so far.
    pub fn episode(&self) -> &Episode {
        &self.episode
    }

    pub fn finish(self) -> Arc<Episode> {
        Arc::new(self.episode)
    }
}
