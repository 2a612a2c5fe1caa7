//! ×2 upsampling of `(N, C, H, W)`, nearest or bilinear with PyTorch's `align_corners=False`
//! weights (¼, ¾, edges replicated), as one op with its backward, on the CPU and on CUDA
//! (`resample.cu`, `cuda` builds). Composed from candle ops it stores about seven intermediate
//! tensors per bilinear call and takes about a dozen kernels each way; this stores none.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::conv::f32_slice;
#[cfg(feature = "cuda")]
use super::cuda;
use super::cuda::{own_kernels, OpGroup};
#[cfg(feature = "cuda")]
use candle_core::backend::BackendStorage;

/// `(N, C, H, W)` → `(N, C, 2H, 2W)`, bilinear (`align_corners=False`) or nearest.
pub fn upsample2x(x: &Tensor, bilinear: bool) -> Result<Tensor> {
    if own_kernels(x, OpGroup::Upsample) {
        return x.contiguous()?.apply_op1(Upsample2x { bilinear });
    }
    let (_, _, h, w) = x.dims4()?;
    if !bilinear {
        return x.upsample_nearest2d(2 * h, 2 * w);
    }
    // candle's own bilinear upsampling has no backward: the same weights from differentiable ops.
    let along = |x: &Tensor, dim: usize| -> Result<Tensor> {
        let n = x.dim(dim)?;
        let prev = Tensor::cat(&[x.narrow(dim, 0, 1)?, x.narrow(dim, 0, n - 1)?], dim)?;
        let next = Tensor::cat(&[x.narrow(dim, 1, n - 1)?, x.narrow(dim, n - 1, 1)?], dim)?;
        let even = ((prev * 0.25)? + (x * 0.75)?)?;
        let odd = ((x * 0.75)? + (next * 0.25)?)?;
        let mut shape = x.dims().to_vec();
        shape[dim] *= 2;
        Tensor::stack(&[even, odd], dim + 1)?.reshape(shape)
    };
    along(&along(x, 2)?, 3)
}

/// `(N, C, H, W)` → `(N, C, kH, kW)` bilinear with `align_corners=False`, as PyTorch's
/// `F.interpolate(scale_factor=k, mode='bilinear')`: the source of output `o` is
/// `(o + ½)/k − ½`, clamped at 0. One interpolation matrix per axis (two matmuls, differentiable);
/// for k = 2 it equals [`upsample2x`], which is faster. ×4 is not two ×2 steps (the weights differ).
pub fn upsample_bilinear(x: &Tensor, factor: usize) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let matrix = |n: usize| -> Result<Tensor> {
        let m = n * factor;
        let mut a = vec![0f32; m * n];
        for o in 0..m {
            let src = ((o as f64 + 0.5) / factor as f64 - 0.5).max(0.0);
            let i0 = (src.floor() as usize).min(n - 1);
            let i1 = (i0 + 1).min(n - 1);
            let l1 = (src - i0 as f64) as f32;
            a[o * n + i0] += 1.0 - l1;
            a[o * n + i1] += l1;
        }
        Tensor::from_vec(a, (m, n), x.device())?.to_dtype(x.dtype())
    };
    let (ah, aw) = (matrix(h)?, matrix(w)?);
    // Rows: (H', H) · x; columns: x · (W', W)ᵀ.
    ah.broadcast_matmul(&x.contiguous()?)?
        .broadcast_matmul(&aw.t()?.contiguous()?)
}

/// The two input positions output position `o` of a doubled axis of length `n` reads, with their
/// weights.
fn taps(o: usize, n: usize, bilinear: bool) -> (usize, usize, f32, f32) {
    let i = o / 2;
    match (bilinear, o % 2) {
        (false, _) => (i, i, 1.0, 0.0),
        (true, 0) => (i.saturating_sub(1), i, 0.25, 0.75),
        _ => (i, (i + 1).min(n - 1), 0.75, 0.25),
    }
}

/// Rows of `src` (each `w` long) doubled along the row: `dst` rows are `2w` long.
fn up_rows(src: &[f32], dst: &mut [f32], w: usize, bilinear: bool) {
    for (s, d) in src.chunks_exact(w).zip(dst.chunks_exact_mut(2 * w)) {
        for (o, v) in d.iter_mut().enumerate() {
            let (a, b, wa, wb) = taps(o, w, bilinear);
            *v = wa * s[a] + wb * s[b];
        }
    }
}

/// The adjoint of [`up_rows`]: `dst` rows (`w` long) accumulate the `2w`-long `src` rows.
fn down_rows(src: &[f32], dst: &mut [f32], w: usize, bilinear: bool) {
    for (s, d) in src.chunks_exact(2 * w).zip(dst.chunks_exact_mut(w)) {
        d.fill(0.0);
        for (o, &g) in s.iter().enumerate() {
            let (a, b, wa, wb) = taps(o, w, bilinear);
            d[a] += wa * g;
            d[b] += wb * g;
        }
    }
}

struct Upsample2x {
    bilinear: bool,
}

impl CustomOp1 for Upsample2x {
    fn name(&self) -> &'static str {
        "pbtnas-upsample2x"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l)?;
        let (n, c, h, w) = l.shape().dims4()?;
        let mut y = vec![0f32; x.len() * 4];
        if !y.is_empty() {
            y.par_chunks_mut(4 * h * w)
                .zip(x.par_chunks(h * w))
                .for_each_init(
                    || vec![0f32; 2 * h * w],
                    |wide, (out, plane)| {
                        // Along rows first (h × 2w), then each output row mixes two of those.
                        up_rows(plane, wide, w, self.bilinear);
                        for (o, row) in out.chunks_exact_mut(2 * w).enumerate() {
                            let (a, b, wa, wb) = taps(o, h, self.bilinear);
                            let (ra, rb) =
                                (&wide[a * 2 * w..][..2 * w], &wide[b * 2 * w..][..2 * w]);
                            for ((v, &p), &q) in row.iter_mut().zip(ra).zip(rb) {
                                *v = wa * p + wb * q;
                            }
                        }
                    },
                );
        }
        Ok((CpuStorage::F32(y), Shape::from((n, c, 2 * h, 2 * w))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let (n, c, h, w) = l.shape().dims4()?;
        let y = launch(s, l, n * c, h, w, self.bilinear, false)?;
        Ok((y, Shape::from((n, c, 2 * h, 2 * w))))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, gy: &Tensor) -> Result<Option<Tensor>> {
        let (_, _, h, w) = x.dims4()?;
        Ok(Some(gy.contiguous()?.apply_op1_no_bwd(
            &Upsample2xGrad {
                bilinear: self.bilinear,
                h,
                w,
            },
        )?))
    }
}

/// The gradient of [`Upsample2x`] for input planes `h × w`: its adjoint, columns then rows.
struct Upsample2xGrad {
    bilinear: bool,
    h: usize,
    w: usize,
}

impl CustomOp1 for Upsample2xGrad {
    fn name(&self) -> &'static str {
        "pbtnas-upsample2x-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s, l)?;
        let (n, c, _, _) = l.shape().dims4()?;
        let (h, w) = (self.h, self.w);
        let mut gx = vec![0f32; g.len() / 4];
        if !gx.is_empty() {
            gx.par_chunks_mut(h * w)
                .zip(g.par_chunks(4 * h * w))
                .for_each_init(
                    || vec![0f32; 2 * h * w],
                    |wide, (out, plane)| {
                        wide.fill(0.0);
                        for (o, row) in plane.chunks_exact(2 * w).enumerate() {
                            let (a, b, wa, wb) = taps(o, h, self.bilinear);
                            for (j, &v) in row.iter().enumerate() {
                                wide[a * 2 * w + j] += wa * v;
                                wide[b * 2 * w + j] += wb * v;
                            }
                        }
                        down_rows(wide, out, w, self.bilinear);
                    },
                );
        }
        Ok((CpuStorage::F32(gx), Shape::from((n, c, h, w))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let (n, c, _, _) = l.shape().dims4()?;
        let (h, w) = (self.h, self.w);
        let gx = launch(s, l, n * c, h, w, self.bilinear, true)?;
        Ok((gx, Shape::from((n, c, h, w))))
    }
}

/// The upsampling (or, with `grad`, its adjoint) of `planes` planes of `h × w` on CUDA: one
/// thread per output element.
#[cfg(feature = "cuda")]
fn launch(
    s: &candle_core::CudaStorage,
    l: &Layout,
    planes: usize,
    h: usize,
    w: usize,
    bilinear: bool,
    grad: bool,
) -> Result<candle_core::CudaStorage> {
    use candle_core::cuda::cudarc::driver::PushKernelArg;
    let (small, big) = (planes * h * w, 4 * planes * h * w);
    let (kernel, inputs, total) = match grad {
        false => ("pbtnas_upsample2x", small, big),
        true => ("pbtnas_upsample2x_grad", big, small),
    };
    let dev = s.device().clone();
    let func = cuda::function(&dev, "resample", kernel)?;
    let x = cuda::view(s, l)?;
    if x.len() != inputs {
        candle_core::bail!("{kernel}: {} input elements, expected {inputs}", x.len());
    }
    // SAFETY: one thread per element writes it.
    let mut out = unsafe { cuda::output(&dev, total)? };
    let (t64, h64, w64, bl) = (total as u64, h as u64, w as u64, bilinear as i32);
    let stream = dev.cuda_stream();
    let mut b = stream.launch_builder(&func);
    b.arg(&t64)
        .arg(&h64)
        .arg(&w64)
        .arg(&bl)
        .arg(&x)
        .arg(&mut out);
    // SAFETY: out holds `total` elements and x the matching number (checked above).
    unsafe { cuda::launch(b, cuda::blocks_for(total), cuda::BLOCK)? };
    Ok(candle_core::CudaStorage::wrap_cuda_slice(out, dev))
}
