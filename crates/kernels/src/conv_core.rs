//! Batched grouped convolution on f32 slices, in three directions between a "big" image (a
//! convolution's input, B channels) and a "small" one (its output, S channels). The weight is
//! `(S, B/groups, kh, kw)`, read as an `S × K` matrix with `K = B/groups·kh·kw`.
//!
//! conv2d forward = `big_to_small`; its input gradient = `small_to_big`; its weight gradient =
//! `weight_grad(x, dy)`. conv_transpose2d is the same three with the roles swapped.

use rayon::prelude::*;

use super::im2col::{col2im, im2col, Geometry};
use super::sgemm::{sgemm, View};
use super::winograd::{transform_weights, worth_it, Winograd};

/// A grouped convolution's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvShape {
    pub batch: usize,
    pub big_ch: usize,
    pub small_ch: usize,
    pub groups: usize,
    pub geo: Geometry,
    /// The big image is rectified (`max(x, 0)`) as its columns are built.
    pub relu_big: bool,
}

impl ConvShape {
    fn k(&self) -> usize {
        self.big_ch / self.groups * self.geo.taps()
    }
    fn sg(&self) -> usize {
        self.small_ch / self.groups
    }
    fn big_len(&self) -> usize {
        self.big_ch * self.geo.hb * self.geo.wb
    }
    fn small_len(&self) -> usize {
        self.small_ch * self.geo.small()
    }
    /// The column buffer each worker needs (none for a 1×1 convolution of the image as it is).
    fn cols_len(&self) -> usize {
        if self.geo.is_identity() && !self.relu_big {
            0
        } else {
            self.big_ch * self.geo.taps() * self.geo.small()
        }
    }
    /// The columns of image `n` of `big`: the image itself for a 1×1 convolution (rectified into
    /// `buf` if `relu_big`), else im2col into `buf`.
    fn cols<'a>(&self, big: &'a [f32], n: usize, buf: &'a mut [f32]) -> &'a [f32] {
        let img = &big[n * self.big_len()..(n + 1) * self.big_len()];
        match (self.geo.is_identity(), self.relu_big) {
            (true, false) => return img,
            (true, true) => buf.iter_mut().zip(img).for_each(|(d, s)| *d = s.max(0.0)),
            (false, relu) => im2col(img, self.big_ch, &self.geo, relu, buf),
        }
        buf
    }
    /// Parallel over the batch when it can feed every thread, else inside each product.
    fn split(&self) -> (bool, usize) {
        let threads = rayon::current_num_threads();
        if self.batch >= threads || threads == 1 {
            (true, 1)
        } else {
            (false, threads)
        }
    }

    /// The weight matrix of group `g`: rows `g·Sg ..`, `Sg × K`.
    fn w_group<'a>(&self, w: &'a [f32], g: usize) -> View<'a> {
        let (sg, k) = (self.sg(), self.k());
        View::new(&w[g * sg * k..(g + 1) * sg * k], sg, k)
    }

    /// Winograd's F(2×2, 3×3) for this shape, from the big side, when it applies (3×3, stride
    /// 1, undilated, one group, enough channels, padding at most 2 so that the input gradient is
    /// a padded convolution too).
    fn winograd(&self) -> Option<Winograd> {
        let g = &self.geo;
        let fits = self.groups == 1
            && (g.kh, g.kw, g.stride, g.dilation) == (3, 3, 1, 1)
            && g.pad_h <= 2
            && g.pad_w <= 2
            && worth_it(self.big_ch, self.small_ch);
        fits.then_some(Winograd {
            batch: self.batch,
            cin: self.big_ch,
            cout: self.small_ch,
            h: g.hb,
            w: g.wb,
            pad_h: g.pad_h,
            pad_w: g.pad_w,
            relu_input: self.relu_big,
        })
    }

    /// `small[n] = W ⊛ big[n]` for every image (conv2d forward).
    pub fn big_to_small(&self, big: &[f32], w: &[f32]) -> Vec<f32> {
        if let Some(wg) = self.winograd() {
            return wg.forward(
                big,
                &transform_weights(w, self.small_ch, self.big_ch, false),
            );
        }
        let mut out = vec![0f32; self.batch * self.small_len()];
        let (outer, threads) = self.split();
        let (k, sg, ns) = (self.k(), self.sg(), self.geo.small());
        let one = |buf: &mut Vec<f32>, (n, dst): (usize, &mut [f32])| {
            let cols = self.cols(big, n, buf);
            for g in 0..self.groups {
                let c = View::new(&cols[g * k * ns..(g + 1) * k * ns], k, ns);
                sgemm(
                    self.w_group(w, g),
                    c,
                    &mut dst[g * sg * ns..(g + 1) * sg * ns],
                    false,
                    threads,
                );
            }
        };
        per_image(&mut out, self.small_len(), self.cols_len(), outer, one);
        out
    }

    /// `big[n] = Wᵀ ⊛ small[n]` for every image (conv2d input gradient, conv_transpose2d forward).
    pub fn small_to_big(&self, small: &[f32], w: &[f32]) -> Vec<f32> {
        // The input gradient of a 3×3 stride-1 conv is a conv of the output gradient with the
        // rotated kernel and padding 2 − p.
        if let Some(fwd) = self.winograd() {
            let wg = Winograd {
                cin: self.small_ch,
                cout: self.big_ch,
                h: self.geo.hs,
                w: self.geo.ws,
                pad_h: 2 - fwd.pad_h,
                pad_w: 2 - fwd.pad_w,
                relu_input: false,
                ..fwd
            };
            return wg.forward(
                small,
                &transform_weights(w, self.small_ch, self.big_ch, true),
            );
        }
        let mut out = vec![0f32; self.batch * self.big_len()];
        let (outer, threads) = self.split();
        let (k, sg, ns) = (self.k(), self.sg(), self.geo.small());
        let identity = self.geo.is_identity();
        let one = |buf: &mut Vec<f32>, (n, dst): (usize, &mut [f32])| {
            let s = &small[n * self.small_len()..(n + 1) * self.small_len()];
            // A 1×1 convolution's columns are the image: the product lands in place.
            let cols = if identity { &mut *dst } else { &mut buf[..] };
            for g in 0..self.groups {
                let sgv = View::new(&s[g * sg * ns..(g + 1) * sg * ns], sg, ns);
                sgemm(
                    self.w_group(w, g).t(),
                    sgv,
                    &mut cols[g * k * ns..(g + 1) * k * ns],
                    false,
                    threads,
                );
            }
            if !identity {
                col2im(buf, self.big_ch, &self.geo, dst);
            }
        };
        per_image(&mut out, self.big_len(), self.cols_len(), outer, one);
        out
    }

    /// `dW = Σₙ small[n] ⊛ big[n]ᵀ` (conv2d weight gradient with small = dy). Computed as
    /// `dWᵀ_g += cols_g · small_gᵀ` with both operands contiguous (gemm packs a transposed
    /// right-hand side at half speed), then transposed once.
    pub fn weight_grad(&self, big: &[f32], small: &[f32]) -> Vec<f32> {
        if let Some(wg) = self.winograd() {
            return wg.weight_grad(big, small);
        }
        let (k, sg, ns, s_all) = (self.k(), self.sg(), self.geo.small(), self.small_ch);
        let w_len = s_all * k;
        let (outer, threads) = self.split();
        // acc holds dWᵀ per group: group g at g·K·Sg, K × Sg row-major.
        let accumulate = |acc: &mut Vec<f32>, bufs: &mut (Vec<f32>, Vec<f32>), n: usize| {
            let (buf, small_t) = bufs;
            let cols = self.cols(big, n, buf);
            let s = &small[n * self.small_len()..(n + 1) * self.small_len()];
            for (c, row) in s.chunks(ns).enumerate() {
                for (p, &v) in row.iter().enumerate() {
                    small_t[p * s_all + c] = v;
                }
            }
            for g in 0..self.groups {
                let c = View::new(&cols[g * k * ns..(g + 1) * k * ns], k, ns);
                let st = View {
                    data: &small_t[g * sg..],
                    rows: ns,
                    cols: sg,
                    row_stride: s_all,
                    col_stride: 1,
                };
                sgemm(c, st, &mut acc[g * k * sg..(g + 1) * k * sg], true, threads);
            }
        };
        let bufs = || (vec![0f32; self.cols_len()], vec![0f32; ns * s_all]);
        let acc_t = if outer {
            (0..self.batch)
                .into_par_iter()
                .fold(
                    || (vec![0f32; w_len], bufs()),
                    |(mut acc, mut b), n| {
                        accumulate(&mut acc, &mut b, n);
                        (acc, b)
                    },
                )
                .map(|(acc, _)| acc)
                .reduce(
                    || vec![0f32; w_len],
                    |mut a, b| {
                        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                        a
                    },
                )
        } else {
            let (mut acc, mut b) = (vec![0f32; w_len], bufs());
            (0..self.batch).for_each(|n| accumulate(&mut acc, &mut b, n));
            acc
        };
        let mut dw = vec![0f32; w_len];
        for g in 0..self.groups {
            let block = &acc_t[g * k * sg..(g + 1) * k * sg];
            for kk in 0..k {
                for j in 0..sg {
                    dw[(g * sg + j) * k + kk] = block[kk * sg + j];
                }
            }
        }
        dw
    }
}

/// Runs `one(buf, (n, out[n]))` for every image (`len` outputs each): in parallel when
/// `parallel`, each worker with its own `buf_len` scratch buffer, else in order with one.
pub(super) fn per_image(
    out: &mut [f32],
    len: usize,
    buf_len: usize,
    parallel: bool,
    one: impl Fn(&mut Vec<f32>, (usize, &mut [f32])) + Sync,
) {
    if parallel {
        out.par_chunks_mut(len.max(1))
            .enumerate()
            .for_each_init(|| vec![0f32; buf_len], |buf, c| one(buf, c));
    } else {
        let mut buf = vec![0f32; buf_len];
        out.chunks_mut(len.max(1))
            .enumerate()
            .for_each(|c| one(&mut buf, c));
    }
}
