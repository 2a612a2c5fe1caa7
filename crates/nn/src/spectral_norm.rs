//! Spectral normalisation as `torch.nn.utils.spectral_norm` (the API PBT-NAS's GAN code uses):
//! the weight is divided by its largest singular value, estimated by power iteration on the
//! buffers `u` (rows) and `v` (columns of the weight flattened to 2-d). In training, each call runs
//! one iteration — `v = normalize(Wᵀu)`, then `u = normalize(W v)` — and stores u and v; the
//! gradient flows through W only (u, v are constants of the step).

use candle_core::{Result, Tensor, Var};

const EPS: f64 = 1e-12;

fn normalize(x: &Tensor) -> Result<Tensor> {
    let n = x.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()? as f64;
    x / n.max(EPS)
}

/// `w / σ(w)`. `u` (len = w.dim(0)) and `v` (len = w.numel()/w.dim(0)) must be variables (they are
/// updated in place when `update`, i.e. in training mode).
pub fn spectral_norm(w: &Tensor, u: &Tensor, v: &Tensor, update: bool) -> Result<Tensor> {
    let rows = w.dim(0)?;
    let wm = w.reshape((rows, ()))?;
    if update {
        let wd = wm.detach();
        let v_new = normalize(&wd.t()?.matmul(&u.detach().unsqueeze(1)?)?.squeeze(1)?)?;
        let u_new = normalize(&wd.matmul(&v_new.unsqueeze(1)?)?.squeeze(1)?)?;
        Var::from_tensor(v)?.set(&v_new)?;
        Var::from_tensor(u)?.set(&u_new)?;
    }
    let (uu, vv) = (u.detach(), v.detach());
    let sigma = (uu * wm.matmul(&vv.unsqueeze(1)?)?.squeeze(1)?)?.sum_all()?;
    w.broadcast_div(&sigma)
}
