//! Spectral normalisation as `torch.nn.utils.spectral_norm` (the API PBT-NAS's GAN code uses):
//! the weight is divided by its largest singular value, estimated by power iteration on the
//! buffers `u` (rows) and `v` (columns of the weight flattened to 2-d). In training, each call runs
//! one iteration — `v = normalize(Wᵀu)`, then `u = normalize(W v)`, or the other way round for
//! the newer parametrization — and stores u and v; the gradient flows through W only (u, v are
//! constants of the step).

use candle_core::{Result, Tensor, Var};

const EPS: f64 = 1e-12;

fn normalize(x: &Tensor) -> Result<Tensor> {
    let n = x.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()? as f64;
    x / n.max(EPS)
}

/// The order of a power iteration's two halves, which tells PyTorch's two spectral norms apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerIteration {
    /// `nn.utils.spectral_norm` (the GAN code): `v = normalize(Wᵀu)`, then `u = normalize(W v)`.
    VFirst,
    /// `nn.utils.parametrizations.spectral_norm` (the RL code): `u = normalize(W v)`, then
    /// `v = normalize(Wᵀu)`.
    UFirst,
}

/// `w / σ(w)` with `nn.utils.spectral_norm`'s iteration ([`PowerIteration::VFirst`]).
pub fn spectral_norm(w: &Tensor, u: &Tensor, v: &Tensor, update: bool) -> Result<Tensor> {
    spectral_norm_with(w, u, v, update, PowerIteration::VFirst)
}

/// One power iteration in `order`, storing u and v (variables).
pub fn power_iteration(w: &Tensor, u: &Tensor, v: &Tensor, order: PowerIteration) -> Result<()> {
    let wd = w.reshape((w.dim(0)?, ()))?.detach();
    let times = |m: &Tensor, x: &Tensor| -> Result<Tensor> {
        normalize(&m.matmul(&x.detach().unsqueeze(1)?)?.squeeze(1)?)
    };
    let (u_new, v_new) = match order {
        PowerIteration::VFirst => {
            let v_new = times(&wd.t()?, u)?;
            (times(&wd, &v_new)?, v_new)
        }
        PowerIteration::UFirst => {
            let u_new = times(&wd, v)?;
            let v_new = times(&wd.t()?, &u_new)?;
            (u_new, v_new)
        }
    };
    Var::from_tensor(v)?.set(&v_new)?;
    Var::from_tensor(u)?.set(&u_new)
}

/// `w / σ(w)`, `σ = uᵀ W v`. `u` (len = w.dim(0)) and `v` (len = w.numel()/w.dim(0)) must be
/// variables: when `update` (training mode) one power iteration in `order` first updates them.
pub fn spectral_norm_with(
    w: &Tensor,
    u: &Tensor,
    v: &Tensor,
    update: bool,
    order: PowerIteration,
) -> Result<Tensor> {
    if update {
        power_iteration(w, u, v, order)?;
    }
    let wm = w.reshape((w.dim(0)?, ()))?;
    let (uu, vv) = (u.detach(), v.detach());
    let sigma = (uu * wm.matmul(&vv.unsqueeze(1)?)?.squeeze(1)?)?.sum_all()?;
    w.broadcast_div(&sigma)
}
