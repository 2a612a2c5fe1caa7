//! Small layer functions on top of the ops: batch norm with running statistics, seeded dropout
//! (candle's dropout uses its unseedable RNG) and a differentiable layer norm.

use candle_core::{Result, Tensor, Var, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ops::{batch_norm_train, own_kernels, soft_update, OpGroup};

/// Batch norm over channel dim 1 with PyTorch's semantics: in training, batch statistics, and the
/// running mean / unbiased variance (variables) move by `momentum`; in eval, the running ones.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    train: bool,
    momentum: f64,
    eps: f64,
) -> Result<Tensor> {
    let c = gamma.dim(0)?;
    let mut shape = vec![1; x.rank()];
    shape[1] = c;
    if train {
        let (y, mean, var) = batch_norm_train(x, gamma, beta, eps)?;
        let n = (x.elem_count() / c) as f64;
        let unbiased = (var * (n / (n - 1.0).max(1.0)))?;
        soft_update(&Var::from_tensor(running_mean)?, &mean, momentum)?;
        soft_update(&Var::from_tensor(running_var)?, &unbiased, momentum)?;
        return Ok(y);
    }
    let scale = (gamma / (running_var.detach() + eps)?.sqrt()?)?;
    let shift = (beta - (running_mean.detach() * &scale)?)?;
    x.broadcast_mul(&scale.reshape(shape.as_slice())?)?
        .broadcast_add(&shift.reshape(shape.as_slice())?)
}

/// Inverted dropout with a mask drawn from `seed`: elements kept with probability `1 − p` and
/// scaled by `1/(1 − p)`.
pub fn dropout(x: &Tensor, p: f64, seed: u64) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keep = (1.0 / (1.0 - p)) as f32;
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.random::<f64>() < p { 0.0 } else { keep })
        .collect();
    x * Tensor::from_vec(mask, x.shape(), x.device())?
}

/// Layer normalisation over the last dimension with affine `gamma`, `beta`, differentiable
/// (candle 0.11's fused `layer_norm` has no backward). Where the crate's kernels run (f32 on the
/// CPU, on CUDA in `cuda` builds) the normalisation is batch norm's kernels with every row a
/// channel of its own (rows of `x` as `(1, rows, d)`), then the affine map; elsewhere composed ops.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    let d = x.dim(D::Minus1)?;
    if own_kernels(x, OpGroup::Norm) && d > 0 {
        let rows = x.elem_count() / d;
        let one = Tensor::ones(rows, x.dtype(), x.device())?;
        let zero = Tensor::zeros(rows, x.dtype(), x.device())?;
        let (xhat, _, _) =
            batch_norm_train(&x.contiguous()?.reshape((1, rows, d))?, &one, &zero, eps)?;
        return xhat
            .reshape(x.shape())?
            .broadcast_mul(gamma)?
            .broadcast_add(beta);
    }
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    xc.broadcast_div(&(var + eps)?.sqrt()?)?
        .broadcast_mul(gamma)?
        .broadcast_add(beta)
}
