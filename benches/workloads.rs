//! The single-op workloads shared by the criterion bench (`benches/ops.rs`) and the side-by-side
//! timer (`examples/bench_ops.rs`); `scripts/bench/ops-torch.py` defines the same ones in PyTorch.
//! Shapes as docs/candle.md ("Benchmark shapes") lists them: GAN layers at batch 64, DrQ-v2
//! encoder layers at 256.

use candle_core::{CpuStorage, CustomOp2, DType, Device, Layout, Result, Shape, Tensor, Var};
use pbtnas_nn::ops::{batch_norm_train, conv2d, conv_transpose2d, upsample2x, ConvParams};

/// Which implementation runs the op.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    /// `pbtnas_nn::ops`.
    Ours,
    /// candle 0.11's own ops.
    Candle,
}

/// A named workload: prepares its tensors, returns a closure running one timed iteration.
pub struct Workload {
    pub name: &'static str,
    pub run: Box<dyn Fn(Backend) -> Result<()>>,
}

fn randn(shape: &[usize]) -> Result<Tensor> {
    Tensor::randn(0f32, 1.0, shape, &Device::Cpu)
}

fn conv(backend: Backend, x: &Tensor, w: &Tensor, p: ConvParams) -> Result<Tensor> {
    match backend {
        Backend::Ours => conv2d(x, w, p),
        Backend::Candle => x.conv2d(w, p.padding, p.stride, p.dilation, p.groups),
    }
}

/// conv2d forward, or forward + backward (input gradient only when `input_grad`).
fn conv_workload(
    name: &'static str,
    x: &[usize],
    w: &[usize],
    p: ConvParams,
    backward: bool,
    input_grad: bool,
) -> Result<Workload> {
    let xt = randn(x)?;
    let xv = Var::from_tensor(&xt)?;
    let wv = Var::from_tensor(&(randn(w)? * 0.05)?)?;
    Ok(Workload {
        name,
        run: Box::new(move |b| {
            let input = if input_grad { xv.as_tensor() } else { &xt };
            let y = conv(b, input, wv.as_tensor(), p)?;
            if backward {
                y.sum_all()?.backward()?;
            }
            Ok(())
        }),
    })
}

/// All workloads, in report order.
pub fn all() -> Result<Vec<Workload>> {
    let p1 = ConvParams {
        padding: 1,
        ..Default::default()
    };
    let mut v = vec![];
    let a = randn(&[2048, 2048])?;
    let bm = randn(&[2048, 2048])?;
    v.push(Workload {
        name: "matmul 2048^3",
        run: Box::new(move |_| a.matmul(&bm).map(|_| ())),
    });
    for (name, fb, backward) in [
        ("conv 256->256 @32 b64 fwd", [64, 256, 32, 32], false),
        ("conv 256->256 @32 b64 fwd+bwd", [64, 256, 32, 32], true),
        ("conv 256->256 @16 b64 fwd+bwd", [64, 256, 16, 16], true),
        ("conv 128->128 @32 b64 fwd+bwd", [64, 128, 32, 32], true),
    ] {
        v.push(conv_workload(
            name,
            &fb,
            &[fb[1], fb[1], 3, 3],
            p1,
            backward,
            true,
        )?);
    }
    let s2 = ConvParams {
        stride: 2,
        ..Default::default()
    };
    v.push(conv_workload(
        "drq conv 9->32 s2 @84 b256 fwd+bwd",
        &[256, 9, 84, 84],
        &[32, 9, 3, 3],
        s2,
        true,
        false,
    )?);
    v.push(conv_workload(
        "drq conv 32->32 @41 b256 fwd+bwd",
        &[256, 32, 41, 41],
        &[32, 32, 3, 3],
        ConvParams::default(),
        true,
        true,
    )?);
    let xt = Var::from_tensor(&randn(&[64, 256, 16, 16])?)?;
    let wt = Var::from_tensor(&(randn(&[256, 256, 4, 4])? * 0.05)?)?;
    v.push(Workload {
        name: "conv_transpose k4 s2 256 16->32 b64 fwd+bwd",
        run: Box::new(move |b| {
            let p = ConvParams {
                stride: 2,
                padding: 1,
                ..Default::default()
            };
            let y = match b {
                Backend::Ours => conv_transpose2d(xt.as_tensor(), wt.as_tensor(), p)?,
                Backend::Candle => xt
                    .as_tensor()
                    .conv_transpose2d(wt.as_tensor(), 1, 0, 2, 1)?,
            };
            y.sum_all()?.backward().map(|_| ())
        }),
    });
    let xb = Var::from_tensor(&randn(&[64, 256, 32, 32])?)?;
    let g = Var::ones(256, DType::F32, &Device::Cpu)?;
    let beta = Var::zeros(256, DType::F32, &Device::Cpu)?;
    let up = randn(&[64, 256, 32, 32])?;
    // The same tensors for the next workload (clones share their storage).
    let given = (xb.clone(), g.clone(), beta.clone(), up.clone());
    v.push(Workload {
        name: "batch norm train (64,256,32,32) fwd+bwd",
        run: Box::new(move |b| {
            let y = match b {
                Backend::Ours => {
                    batch_norm_train(xb.as_tensor(), g.as_tensor(), beta.as_tensor(), 1e-5)?.0
                }
                Backend::Candle => {
                    let x = xb.as_tensor();
                    let mean = x.mean_keepdim((0, 2, 3))?;
                    let c = x.broadcast_sub(&mean)?;
                    let var = c.sqr()?.mean_keepdim((0, 2, 3))?;
                    c.broadcast_div(&(var + 1e-5)?.sqrt()?)?
                        .broadcast_mul(&g.as_tensor().reshape((1, 256, 1, 1))?)?
                        .broadcast_add(&beta.as_tensor().reshape((1, 256, 1, 1))?)?
                }
            };
            (y * &up)?.sum_all()?.backward().map(|_| ())
        }),
    });
    let (xb, g, beta, up) = given;
    v.push(Workload {
        name: "batch norm train (64,256,32,32) fwd+bwd, gradient given",
        run: Box::new(move |_| {
            let y = batch_norm_train(xb.as_tensor(), g.as_tensor(), beta.as_tensor(), 1e-5)?.0;
            y.apply_op2(&up, Seed)?.backward().map(|_| ())
        }),
    });
    // The GAN generator's cell-3 input resolution at its G-step batch.
    let xu = Var::from_tensor(&randn(&[80, 256, 16, 16])?)?;
    let gu = randn(&[80, 256, 32, 32])?;
    v.push(Workload {
        name: "bilinear upsample x2 (80,256,16,16) fwd+bwd, gradient given",
        run: Box::new(move |_| {
            let y = upsample2x(xu.as_tensor(), true)?;
            y.apply_op2(&gu, Seed)?.backward().map(|_| ())
        }),
    });
    Ok(v)
}

/// `Σ y·u` whose backward hands `u` to `y` as its gradient: PyTorch's `y.backward(u)`, the
/// op's cost without a loss's elementwise passes in front of it.
struct Seed;

impl CustomOp2 for Seed {
    fn name(&self) -> &'static str {
        "bench-seed"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        // The value is never read; the benchmark only needs the node.
        Ok((CpuStorage::F32(vec![0.0]), Shape::from(())))
    }

    fn bwd(
        &self,
        _: &Tensor,
        u: &Tensor,
        _: &Tensor,
        _: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(u.clone()), None))
    }
}
