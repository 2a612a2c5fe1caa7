//! Seeded parameter creation. candle's CPU RNG cannot be seeded, so every tensor here is drawn
//! from a ChaCha stream seeded by (model seed, tensor name): the same name, shape and seed give
//! the same values whatever else the model holds, which makes "fresh init of the child's layer"
//! independent of the other genes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use candle_core::{Device, Result, Shape, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::seed::{derive_seed, name_hash};
use crate::weights::WeightMap;

/// How a new parameter is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// U(lo, hi).
    Uniform { lo: f64, hi: f64 },
    /// N(0, std).
    Normal { std: f64 },
    /// N(mean, std) (e.g. batch-norm weights N(1, 0.02) in the GAN code).
    NormalAround { mean: f64, std: f64 },
    /// Every element equal.
    Const(f64),
    /// PyTorch's default for `nn.Linear`/`nn.Conv2d` weights and biases: U(±1/√fan_in).
    TorchDefault { fan_in: usize },
    /// Xavier/Glorot uniform: U(±gain·√(6/(fan_in+fan_out))).
    XavierUniform {
        fan_in: usize,
        fan_out: usize,
        gain: f64,
    },
    /// A N(0, 1) vector divided by its norm: how PyTorch starts spectral norm's `u` and `v`.
    UnitNormal,
    /// `torch.nn.init.orthogonal_`: the tensor flattened to `rows × (n / rows)` has orthonormal
    /// rows or columns (whichever are fewer), times `gain` (DrQ-v2: 1 for linear, √2 for conv).
    Orthogonal { rows: usize, gain: f64 },
}

impl Init {
    fn sample(&self, n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        let uniform = |bound: f64, rng: &mut ChaCha8Rng| -> Vec<f32> {
            (0..n)
                .map(|_| rng.random_range(-bound..=bound) as f32)
                .collect()
        };
        match *self {
            Init::Uniform { lo, hi } => (0..n).map(|_| rng.random_range(lo..=hi) as f32).collect(),
            Init::Normal { std } => {
                let d = Normal::new(0.0, std).expect("std is finite and >= 0");
                (0..n).map(|_| d.sample(rng) as f32).collect()
            }
            Init::NormalAround { mean, std } => {
                let d = Normal::new(mean, std).expect("std is finite and >= 0");
                (0..n).map(|_| d.sample(rng) as f32).collect()
            }
            Init::UnitNormal => {
                let d = Normal::new(0.0, 1.0).expect("unit normal");
                let v: Vec<f64> = (0..n).map(|_| d.sample(rng)).collect();
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
                v.iter().map(|x| (x / norm) as f32).collect()
            }
            Init::Const(c) => vec![c as f32; n],
            Init::TorchDefault { fan_in } => uniform(1.0 / (fan_in.max(1) as f64).sqrt(), rng),
            Init::XavierUniform {
                fan_in,
                fan_out,
                gain,
            } => uniform(gain * (6.0 / (fan_in + fan_out) as f64).sqrt(), rng),
            Init::Orthogonal { rows, gain } => orthogonal(rows, n / rows.max(1), gain, rng),
        }
    }
}

/// A Gaussian `rows × cols` matrix made orthogonal along its longer side by modified Gram-Schmidt
/// in f64: the Q of the QR factorisation with a positive diagonal of R, which is what PyTorch's
/// `orthogonal_` returns after its sign correction (the same Haar distribution).
fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let normal = Normal::new(0.0, 1.0).expect("unit normal");
    let g: Vec<f64> = (0..rows * cols).map(|_| normal.sample(rng)).collect();
    // Vectors to orthonormalise: the rows when there are fewer rows than columns, else the columns.
    let (count, len) = (rows.min(cols), rows.max(cols));
    let at = |v: usize, i: usize| {
        if rows <= cols {
            v * cols + i
        } else {
            i * cols + v
        }
    };
    let mut q: Vec<Vec<f64>> = (0..count)
        .map(|v| (0..len).map(|i| g[at(v, i)]).collect())
        .collect();
    for j in 0..count {
        let (done, rest) = q.split_at_mut(j);
        let qj = &mut rest[0];
        for qi in done.iter() {
            let dot: f64 = qi.iter().zip(qj.iter()).map(|(a, b)| a * b).sum();
            qj.iter_mut().zip(qi).for_each(|(b, a)| *b -= dot * a);
        }
        let norm = qj.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
        qj.iter_mut().for_each(|x| *x /= norm);
    }
    let mut out = vec![0f32; rows * cols];
    for (v, qv) in q.iter().enumerate() {
        for (i, x) in qv.iter().enumerate() {
            out[at(v, i)] = (gain * x) as f32;
        }
    }
    out
}

/// The parameters of one member, by dotted name, created on first use with seeded inits or
/// taken from loaded weights. Cloning shares the store; [`Params::pp`] pushes a name prefix,
/// as candle's `VarBuilder` does.
#[derive(Clone)]
pub struct Params {
    vars: Arc<Mutex<BTreeMap<String, Var>>>,
    seed: u64,
    prefix: String,
    device: Device,
}

impl Params {
    /// An empty store: every parameter is initialised from `seed` and its name.
    pub fn new(seed: u64, device: &Device) -> Self {
        Self {
            vars: Arc::default(),
            seed,
            prefix: String::new(),
            device: device.clone(),
        }
    }

    /// A store holding (copies of) `weights`; parameters not in it are initialised from `seed`.
    pub fn from_weights(weights: &WeightMap, seed: u64, device: &Device) -> Result<Self> {
        let p = Self::new(seed, device);
        {
            let mut vars = p.vars.lock().expect("params lock");
            for (name, t) in weights {
                vars.insert(
                    name.clone(),
                    Var::from_tensor(&t.to_device(device)?.detach())?,
                );
            }
        }
        Ok(p)
    }

    /// The same store with `name` appended to the prefix.
    pub fn pp(&self, name: impl AsRef<str>) -> Self {
        let prefix = if self.prefix.is_empty() {
            name.as_ref().to_string()
        } else {
            format!("{}.{}", self.prefix, name.as_ref())
        };
        Self {
            prefix,
            ..self.clone()
        }
    }

    /// The device parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether `prefix.name` exists already (loaded or created), i.e. `get` would not initialise it.
    pub fn contains(&self, name: &str) -> bool {
        let full = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        self.vars.lock().expect("params lock").contains_key(&full)
    }

    /// The parameter `prefix.name`: the existing one (its shape must match) or a new one.
    pub fn get(&self, shape: impl Into<Shape>, name: &str, init: Init) -> Result<Tensor> {
        let shape = shape.into();
        let full = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        let mut vars = self.vars.lock().expect("params lock");
        if let Some(v) = vars.get(&full) {
            if v.shape() != &shape {
                candle_core::bail!(
                    "parameter '{full}' has shape {:?} in the loaded weights, the model needs {:?}",
                    v.shape(),
                    shape
                );
            }
            return Ok(v.as_tensor().clone());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(self.seed, &[name_hash(&full)]));
        let data = init.sample(shape.elem_count(), &mut rng);
        let var = Var::from_tensor(&Tensor::from_vec(data, shape, &self.device)?)?;
        let t = var.as_tensor().clone();
        vars.insert(full, var);
        Ok(t)
    }

    /// Every parameter under this store's prefix, sorted by name.
    pub fn vars(&self) -> Vec<(String, Var)> {
        let vars = self.vars.lock().expect("params lock");
        vars.iter()
            .filter(|(n, _)| crate::weights::is_under(n, &self.prefix))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    /// Copies of every parameter under this store's prefix.
    pub fn weights(&self) -> Result<WeightMap> {
        self.vars()
            .into_iter()
            .map(|(n, v)| Ok((n, v.as_tensor().detach().copy()?)))
            .collect()
    }
}

impl Params {
    /// Checks that the model created exactly the loaded tensors: no parameter initialised anew
    /// for lack of a loaded one, no loaded tensor left unused. Catches naming mismatches between
    /// a task's model code and its saved or inherited states.
    pub fn check_matches(&self, loaded: &WeightMap) -> Result<()> {
        let have: std::collections::BTreeSet<String> =
            self.vars().into_iter().map(|(n, _)| n).collect();
        let created: Vec<&String> = have.iter().filter(|n| !loaded.contains_key(*n)).collect();
        let unused: Vec<&String> = loaded.keys().filter(|n| !have.contains(*n)).collect();
        if !created.is_empty() || !unused.is_empty() {
            candle_core::bail!(
                "loaded state does not match the model: missing {created:?}, unused {unused:?}"
            );
        }
        Ok(())
    }
}
