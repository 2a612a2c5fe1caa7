//! Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, 2016) for stride-1, undilated,
//! ungrouped 3×3 convolutions: each 2×2 output tile costs 16 products per channel pair instead
//! of 36. Per image, the 4×4 input tiles are transformed (`Bᵀ d B`), multiplied with the
//! transformed weights (`G g Gᵀ`) as 16 GEMMs over the channels, and transformed back
//! (`Aᵀ m A`). Used for conv2d's forward pass, its input gradient (the same with the kernel
//! rotated and its channels swapped) and its weight gradient (input tiles against the adjoint-
//! transformed output gradient, mapped back by `Gᵀ · G`).

use rayon::prelude::*;

use super::conv_core::per_image;
use super::sgemm::{sgemm, View};

/// Below this many input or output channels the GEMMs are too thin to pay for the transforms.
const MIN_CHANNELS: usize = 64;

/// A 3×3 stride-1 convolution of `(batch, cin, h, w)` into `(batch, cout, ho, wo)` with zero
/// padding `pad_h`, `pad_w`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Winograd {
    pub batch: usize,
    pub cin: usize,
    pub cout: usize,
    pub h: usize,
    pub w: usize,
    pub pad_h: usize,
    pub pad_w: usize,
    /// The input is rectified as it is read.
    pub relu_input: bool,
}

/// Whether the channel counts make the Winograd path worth it.
pub(super) fn worth_it(cin: usize, cout: usize) -> bool {
    cin >= MIN_CHANNELS && cout >= MIN_CHANNELS
}

/// `G g Gᵀ` of every 3×3 kernel of `w` `(cout, cin, 3, 3)`, as 16 matrices `cout × cin`; with
/// `flip`, of the kernel rotated by 180° with its channels swapped, as 16 matrices `cin × cout`
/// (the kernel of conv2d's input gradient).
pub(super) fn transform_weights(w: &[f32], cout: usize, cin: usize, flip: bool) -> Vec<f32> {
    let mut u = vec![0f32; 16 * cout * cin];
    let (rows, cols) = if flip { (cin, cout) } else { (cout, cin) };
    for o in 0..cout {
        for i in 0..cin {
            let k = &w[(o * cin + i) * 9..][..9];
            let g = |r: usize, c: usize| {
                if flip {
                    k[(2 - r) * 3 + 2 - c]
                } else {
                    k[r * 3 + c]
                }
            };
            // t = G g (4×3), then t Gᵀ (4×4).
            let (a, b, d) = (
                [0, 1, 2].map(|c| g(0, c)),
                [0, 1, 2].map(|c| g(1, c)),
                [0, 1, 2].map(|c| g(2, c)),
            );
            let t = [
                a,
                [0, 1, 2].map(|c| 0.5 * (a[c] + b[c] + d[c])),
                [0, 1, 2].map(|c| 0.5 * (a[c] - b[c] + d[c])),
                d,
            ];
            let (row, col) = if flip { (i, o) } else { (o, i) };
            for (r, tr) in t.iter().enumerate() {
                let v = [
                    tr[0],
                    0.5 * (tr[0] + tr[1] + tr[2]),
                    0.5 * (tr[0] - tr[1] + tr[2]),
                    tr[2],
                ];
                for (c, x) in v.into_iter().enumerate() {
                    u[((r * 4 + c) * rows + row) * cols + col] = x;
                }
            }
        }
    }
    u
}

impl Winograd {
    pub fn out_h(&self) -> usize {
        self.h + 2 * self.pad_h - 2
    }
    pub fn out_w(&self) -> usize {
        self.w + 2 * self.pad_w - 2
    }
    fn tiles(&self) -> (usize, usize) {
        (self.out_h().div_ceil(2), self.out_w().div_ceil(2))
    }

    /// The convolution of `x` with weights transformed by [`transform_weights`] (`cout × cin`
    /// per matrix), in parallel over images when there are enough, else inside each GEMM.
    pub fn forward(&self, x: &[f32], u: &[f32]) -> Vec<f32> {
        let (ho, wo) = (self.out_h(), self.out_w());
        let (th, tw) = self.tiles();
        let t = th * tw;
        let out_len = self.cout * ho * wo;
        let mut out = vec![0f32; self.batch * out_len];
        let threads = rayon::current_num_threads();
        let gemm_threads = if self.batch >= threads { 1 } else { threads };
        let buf_len = 16 * (self.cin + self.cout) * t;
        let one = |buf: &mut Vec<f32>, (n, dst): (usize, &mut [f32])| {
            let (v, m) = buf.split_at_mut(16 * self.cin * t);
            let img = &x[n * self.cin * self.h * self.w..][..self.cin * self.h * self.w];
            self.input_transform(img, v, tw, t, t, 0);
            for xi in 0..16 {
                sgemm(
                    View::new(&u[xi * self.cout * self.cin..], self.cout, self.cin),
                    View::new(&v[xi * self.cin * t..], self.cin, t),
                    &mut m[xi * self.cout * t..(xi + 1) * self.cout * t],
                    false,
                    gemm_threads,
                );
            }
            self.output_transform(m, dst, tw, t);
        };
        per_image(&mut out, out_len, buf_len, gemm_threads == 1, one);
        out
    }

    /// `dW` `(cout, cin, 3, 3)` for inputs `x` and output gradients `dy`: per group of images,
    /// the transformed input tiles and the adjoint-transformed gradient tiles (`A dy Aᵀ`) meet
    /// in 16 GEMMs over the tiles (groups of at least 256 tiles, so that the products are not
    /// thin), summed over groups and mapped back by `Gᵀ · G`.
    pub fn weight_grad(&self, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let (th, tw) = self.tiles();
        let t = th * tw;
        let (cin, cout) = (self.cin, self.cout);
        let (in_len, out_len) = (cin * self.h * self.w, cout * self.out_h() * self.out_w());
        let du_len = 16 * cout * cin;
        let threads = rayon::current_num_threads();
        let per = 256usize
            .div_ceil(t)
            .min(self.batch.div_ceil(threads))
            .max(1);
        let groups = self.batch.div_ceil(per);
        let gemm_threads = if groups >= threads { 1 } else { threads };
        let row = per * t;
        let state = || (vec![0f32; du_len], vec![0f32; 16 * (cin + cout) * row]);
        let add = |(du, buf): &mut (Vec<f32>, Vec<f32>), group: usize| {
            let (v, m) = buf.split_at_mut(16 * cin * row);
            let images = group * per..((group + 1) * per).min(self.batch);
            let k = images.len() * t;
            for (i, n) in images.enumerate() {
                self.input_transform(&x[n * in_len..][..in_len], v, tw, t, row, i * t);
                self.output_adjoint(&dy[n * out_len..][..out_len], m, tw, t, row, i * t);
            }
            for xi in 0..16 {
                let mv = View {
                    cols: k,
                    ..View::new(&m[xi * cout * row..], cout, row)
                };
                let vv = View {
                    cols: k,
                    ..View::new(&v[xi * cin * row..], cin, row)
                };
                sgemm(
                    mv,
                    vv.t(),
                    &mut du[xi * cout * cin..(xi + 1) * cout * cin],
                    true,
                    gemm_threads,
                );
            }
        };
        let du = if gemm_threads == 1 {
            (0..groups)
                .into_par_iter()
                .fold(state, |mut st, n| {
                    add(&mut st, n);
                    st
                })
                .map(|st| st.0)
                .reduce(
                    || vec![0f32; du_len],
                    |mut a, b| {
                        a.iter_mut().zip(&b).for_each(|(p, q)| *p += q);
                        a
                    },
                )
        } else {
            let mut st = state();
            (0..groups).for_each(|g| add(&mut st, g));
            st.0
        };
        // Gᵀ dU G: rows (u0 + ½u1 + ½u2, ½u1 − ½u2, ½u1 + ½u2 + u3), then the same on columns.
        let back = |u: [f32; 4]| {
            [
                u[0] + 0.5 * (u[1] + u[2]),
                0.5 * (u[1] - u[2]),
                0.5 * (u[1] + u[2]) + u[3],
            ]
        };
        let mut dw = vec![0f32; cout * cin * 9];
        for (oi, k) in dw.chunks_exact_mut(9).enumerate() {
            let at = |xi: usize| du[xi * cout * cin + oi];
            let cols = [0, 1, 2, 3].map(|c| back([0, 1, 2, 3].map(|r| at(r * 4 + c))));
            for r in 0..3 {
                let row = back([cols[0][r], cols[1][r], cols[2][r], cols[3][r]]);
                k[r * 3..r * 3 + 3].copy_from_slice(&row);
            }
        }
        dw
    }

    /// The adjoint of [`Self::output_transform`]: `m[ξ][co][tile] = (A dy Aᵀ)[ξ]` of each 2×2
    /// gradient tile (zero beyond the image edge), along the rows for a row of tiles at once,
    /// then down the columns.
    /// Tile `k` of channel `c` lands at `m[(ξ·cout + c)·row + at + k]`.
    fn output_adjoint(
        &self,
        dy: &[f32],
        m: &mut [f32],
        tw: usize,
        t: usize,
        row: usize,
        at: usize,
    ) {
        let (ho, wo, cout) = (self.out_h(), self.out_w(), self.cout);
        let th = t / tw;
        // (y0, y1) ↦ (y0, y0 + y1, y0 − y1, −y1), for output rows 0 and 1 of a tile row.
        let mut s = vec![0f32; 8 * tw];
        for co in 0..cout {
            let plane = &dy[co * ho * wo..][..ho * wo];
            for ty in 0..th {
                for r in 0..2 {
                    let sr = &mut s[r * 4 * tw..][..4 * tw];
                    let y = 2 * ty + r;
                    if y >= ho {
                        sr.fill(0.0);
                        continue;
                    }
                    let src = &plane[y * wo..][..wo];
                    for tx in 0..tw {
                        let y0 = src[2 * tx];
                        let y1 = if 2 * tx + 1 < wo {
                            src[2 * tx + 1]
                        } else {
                            0.0
                        };
                        sr[tx] = y0;
                        sr[tw + tx] = y0 + y1;
                        sr[2 * tw + tx] = y0 - y1;
                        sr[3 * tw + tx] = -y1;
                    }
                }
                let (s0, s1) = s.split_at(4 * tw);
                for j in 0..4 {
                    let (a, b) = (&s0[j * tw..][..tw], &s1[j * tw..][..tw]);
                    let to = |i: usize| ((i * 4 + j) * cout + co) * row + at + ty * tw;
                    for x in 0..tw {
                        m[to(0) + x] = a[x];
                    }
                    for x in 0..tw {
                        m[to(1) + x] = a[x] + b[x];
                    }
                    for x in 0..tw {
                        m[to(2) + x] = a[x] - b[x];
                    }
                    for x in 0..tw {
                        m[to(3) + x] = -b[x];
                    }
                }
            }
        }
    }

    /// `v[ξ][ci][tile] = (Bᵀ d B)[ξ]` for every 4×4 input tile `d` (zero outside the image):
    /// per channel, the zero-padded plane is transformed along its rows for all tiles of a row
    /// at once, then down the columns, so that the inner loops run over contiguous tiles.
    /// Tile `k` of channel `c` lands at `v[(ξ·cin + c)·row + at + k]`.
    #[allow(clippy::too_many_arguments)]
    fn input_transform(
        &self,
        img: &[f32],
        v: &mut [f32],
        tw: usize,
        t: usize,
        row: usize,
        at: usize,
    ) {
        let th = t / tw;
        let (ph, pw) = (2 * th + 2, 2 * tw + 2);
        // Only the image's own positions are written, the same for every channel: the border
        // stays zero.
        let mut padded = vec![0f32; ph * pw];
        let mut rows = vec![0f32; ph * 4 * tw];
        let (cin, h, w) = (self.cin, self.h, self.w);
        let copy_w = w.min(pw - self.pad_w);
        for ci in 0..cin {
            let plane = &img[ci * h * w..][..h * w];
            for (y, src) in plane.chunks_exact(w).enumerate().take(ph - self.pad_h) {
                let dst = &mut padded[(y + self.pad_h) * pw + self.pad_w..][..copy_w];
                if self.relu_input {
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d = s.max(0.0));
                } else {
                    dst.copy_from_slice(&src[..copy_w]);
                }
            }
            // Along each row: (d0 − d2, d1 + d2, d2 − d1, d1 − d3) of each tile's four columns.
            for (row, out) in padded.chunks_exact(pw).zip(rows.chunks_exact_mut(4 * tw)) {
                let (o0, rest) = out.split_at_mut(tw);
                let (o1, rest) = rest.split_at_mut(tw);
                let (o2, o3) = rest.split_at_mut(tw);
                for tx in 0..tw {
                    let d = &row[2 * tx..2 * tx + 4];
                    o0[tx] = d[0] - d[2];
                    o1[tx] = d[1] + d[2];
                    o2[tx] = d[2] - d[1];
                    o3[tx] = d[1] - d[3];
                }
            }
            // Down the columns, the same combination of each tile's four rows.
            for ty in 0..th {
                for j in 0..4 {
                    let r = |k: usize| &rows[((2 * ty + k) * 4 + j) * tw..][..tw];
                    let (a, b, c, d) = (r(0), r(1), r(2), r(3));
                    let to = |i: usize| ((i * 4 + j) * cin + ci) * row + at + ty * tw;
                    for x in 0..tw {
                        v[to(0) + x] = a[x] - c[x];
                    }
                    for x in 0..tw {
                        v[to(1) + x] = b[x] + c[x];
                    }
                    for x in 0..tw {
                        v[to(2) + x] = c[x] - b[x];
                    }
                    for x in 0..tw {
                        v[to(3) + x] = b[x] - d[x];
                    }
                }
            }
        }
    }

    /// `out[co]` from `m[ξ][co][tile]`: `Aᵀ m A` (rows `m0 + m1 + m2`, `m1 − m2 − m3`) down the
    /// columns for a row of tiles at once, then along the rows, clipped at the image edge.
    fn output_transform(&self, m: &[f32], out: &mut [f32], tw: usize, t: usize) {
        let (ho, wo, cout) = (self.out_h(), self.out_w(), self.cout);
        let th = t / tw;
        let mut s = vec![0f32; 8 * tw];
        for co in 0..cout {
            let plane = &mut out[co * ho * wo..][..ho * wo];
            for ty in 0..th {
                let mrow = |xi: usize| &m[(xi * cout + co) * t + ty * tw..][..tw];
                for j in 0..4 {
                    let (a, b, c, d) = (mrow(j), mrow(4 + j), mrow(8 + j), mrow(12 + j));
                    let (s0, s1) = s.split_at_mut(4 * tw);
                    for x in 0..tw {
                        s0[j * tw + x] = a[x] + b[x] + c[x];
                        s1[j * tw + x] = b[x] - c[x] - d[x];
                    }
                }
                for r in 0..2 {
                    let y = 2 * ty + r;
                    if y >= ho {
                        break;
                    }
                    let sr = &s[r * 4 * tw..][..4 * tw];
                    let dst = &mut plane[y * wo..][..wo];
                    for tx in 0..tw {
                        let (a, b, c, d) = (sr[tx], sr[tw + tx], sr[2 * tw + tx], sr[3 * tw + tx]);
                        dst[2 * tx] = a + b + c;
                        if 2 * tx + 1 < wo {
                            dst[2 * tx + 1] = b - c - d;
                        }
                    }
                }
            }
        }
    }
}
