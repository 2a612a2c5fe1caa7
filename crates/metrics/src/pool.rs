//! Inception's pools, forward only: the 3×3 average at stride 1 with padding 1, the padding not
//! counted (`count_include_pad=False`), and the 3×3 maximum at stride 2 without padding. Direct
//! kernels on the CPU in f32 (candle's pooling is single-threaded), candle's pooling elsewhere.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The pool of `x` `(N, C, H, W)`.
pub fn avg_pool3(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1_no_bwd(&AvgPool3);
    }
    composed(x)
}

/// The 3×3 maximum at stride 2 of `x` `(N, C, H, W)`, no padding.
pub fn max_pool3_s2(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1_no_bwd(&MaxPool3S2);
    }
    x.max_pool2d_with_stride(3, 2)
}

struct MaxPool3S2;

impl CustomOp1 for MaxPool3S2 {
    fn name(&self) -> &'static str {
        "pbtnas-max-pool3-s2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = l.shape().dims4()?;
        if h < 3 || w < 3 {
            candle_core::bail!("max_pool3_s2 needs at least 3×3, got {h}×{w}");
        }
        let (ho, wo) = ((h - 3) / 2 + 1, (w - 3) / 2 + 1);
        let x = contiguous(s, l)?;
        let mut y = vec![0f32; n * c * ho * wo];
        y.par_chunks_mut(ho * wo)
            .zip(x.par_chunks(h * w))
            .for_each(|(out, img)| {
                for (oy, row) in out.chunks_mut(wo).enumerate() {
                    let src = &img[2 * oy * w..(2 * oy + 3) * w];
                    for (ox, v) in row.iter_mut().enumerate() {
                        *v = (0..3)
                            .flat_map(|dy| &src[dy * w + 2 * ox..dy * w + 2 * ox + 3])
                            .fold(f32::NEG_INFINITY, |m, &e| m.max(e));
                    }
                }
            });
        Ok((CpuStorage::F32(y), Shape::from((n, c, ho, wo))))
    }
}

fn contiguous<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s.as_slice::<f32>()?[a..b]),
        None => candle_core::bail!("pooling needs a contiguous tensor"),
    }
}

/// The same from candle ops: a padded 3×3 sum, then each position divided by its count.
fn composed(x: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let sums = (x
        .pad_with_zeros(2, 1, 1)?
        .pad_with_zeros(3, 1, 1)?
        .avg_pool2d_with_stride(3, 1)?
        * 9.0)?;
    let span = |i: usize, n: usize| (3 - (i == 0) as usize - (i + 1 == n) as usize) as f64;
    let counts: Vec<f64> = (0..h)
        .flat_map(|y| (0..w).map(move |x| 1.0 / (span(y, h) * span(x, w))))
        .collect();
    let counts = Tensor::from_vec(counts, (1, 1, h, w), x.device())?.to_dtype(x.dtype())?;
    sums.broadcast_mul(&counts)
}

struct AvgPool3;

impl CustomOp1 for AvgPool3 {
    fn name(&self) -> &'static str {
        "pbtnas-avg-pool3"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (_, _, h, w) = l.shape().dims4()?;
        let x = contiguous(s, l)?;
        let mut y = vec![0f32; x.len()];
        let plane = (h * w).max(1);
        y.par_chunks_mut(plane)
            .zip(x.par_chunks(plane))
            .for_each(|(out, img)| pool_plane(img, out, h, w));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
}

/// Row sums of three, then column sums of three, each divided by the taps inside the image.
fn pool_plane(img: &[f32], out: &mut [f32], h: usize, w: usize) {
    let mut rows = vec![0f32; h * w];
    for (src, dst) in img.chunks(w).zip(rows.chunks_mut(w)) {
        for (x, d) in dst.iter_mut().enumerate() {
            let (lo, hi) = (x.saturating_sub(1), (x + 2).min(w));
            *d = src[lo..hi].iter().sum::<f32>() / (hi - lo) as f32;
        }
    }
    for y in 0..h {
        let (lo, hi) = (y.saturating_sub(1), (y + 2).min(h));
        let dst = &mut out[y * w..(y + 1) * w];
        for r in lo..hi {
            dst.iter_mut()
                .zip(&rows[r * w..(r + 1) * w])
                .for_each(|(d, s)| *d += s);
        }
        let n = (hi - lo) as f32;
        dst.iter_mut().for_each(|d| *d /= n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn kernel_matches_the_composed_pool_and_the_corner_counts() {
        let x = Tensor::randn(0f32, 1., (2, 3, 5, 7), &Device::Cpu).unwrap();
        let fast = avg_pool3(&x).unwrap();
        let slow = composed(&x).unwrap();
        let diff = (fast - &slow).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-6, "{diff}");
        // A corner averages its 2×2 neighbourhood.
        let v = x.get(0).unwrap().get(0).unwrap().to_vec2::<f32>().unwrap();
        let corner = (v[0][0] + v[0][1] + v[1][0] + v[1][1]) / 4.0;
        let got = slow
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap()[0][0];
        assert!((got - corner).abs() < 1e-6);
    }

    #[test]
    fn max_pool_matches_candles() {
        for (h, w) in [(7, 9), (8, 8), (3, 4)] {
            let x = Tensor::randn(0f32, 1., (2, 3, h, w), &Device::Cpu).unwrap();
            let fast = max_pool3_s2(&x).unwrap();
            let slow = x.max_pool2d_with_stride(3, 2).unwrap();
            assert_eq!(fast.dims(), slow.dims());
            let diff = (fast - slow).unwrap().abs().unwrap().max_all().unwrap();
            assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        }
    }
}
