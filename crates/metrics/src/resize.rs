//! Image preparation for the Inception network as the paper's pipeline did it: TF1's bilinear
//! resize to 299 (`align_corners=False` without half-pixel centres: `src = dst·in/out`,
//! neighbours clamped at the edge; what clean-fid's `legacy_tensorflow` mode and torch-fidelity
//! reproduce) and the uint8 quantisation of generated images (docs/metrics.md,
//! "Resizing and quantisation"). For DINOv2: Pillow's bicubic resize of uint8 images (dgm-eval's
//! preprocessing) and PyTorch's bicubic interpolation with a scale factor (DINOv2's
//! position-embedding resize).

/// Resizes CHW `img` of `channels × h × w` to `channels × oh × ow` with TF1's bilinear rule.
pub fn resize_bilinear_tf1(
    img: &[f32],
    channels: usize,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
) -> Vec<f32> {
    let taps = |inp: usize, out: usize| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|o| {
                let src = o as f64 * inp as f64 / out as f64;
                let i0 = (src.floor() as usize).min(inp - 1);
                let i1 = (i0 + 1).min(inp - 1);
                (i0, i1, (src - i0 as f64) as f32)
            })
            .collect()
    };
    let (ty, tx) = (taps(h, oh), taps(w, ow));
    let mut out = vec![0f32; channels * oh * ow];
    for c in 0..channels {
        let plane = &img[c * h * w..(c + 1) * h * w];
        for (y, &(y0, y1, fy)) in ty.iter().enumerate() {
            for (x, &(x0, x1, fx)) in tx.iter().enumerate() {
                let top = plane[y0 * w + x0] + (plane[y0 * w + x1] - plane[y0 * w + x0]) * fx;
                let bottom = plane[y1 * w + x0] + (plane[y1 * w + x1] - plane[y1 * w + x0]) * fx;
                out[(c * oh + y) * ow + x] = top + (bottom - top) * fy;
            }
        }
    }
    out
}

/// A generator output in [-1, 1] as the paper's uint8 image, in 0..255: `x·127.5 + 127.5`,
/// clamped, truncated (not rounded) as AdversarialNAS and PBT-NAS did.
pub fn quantize_u8(x: f32) -> f32 {
    (x * 127.5 + 127.5).clamp(0.0, 255.0).trunc()
}

/// Pillow's bicubic taps for one axis: per output pixel the first input index and normalised
/// weights (`a = −0.5`, support 2 widened by the scale when shrinking, as `precompute_coeffs`).
fn pil_taps(inp: usize, out: usize) -> Vec<(usize, Vec<f64>)> {
    let cubic = |x: f64| {
        let (a, x) = (-0.5, x.abs());
        if x < 1.0 {
            ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            (((x - 5.0) * x + 8.0) * x - 4.0) * a
        } else {
            0.0
        }
    };
    let scale = inp as f64 / out as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    (0..out)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(inp as i64) as usize;
            let w: Vec<f64> = (xmin..xmax)
                .map(|x| cubic((x as f64 - center + 0.5) / filterscale))
                .collect();
            let total: f64 = w.iter().sum();
            (
                xmin,
                w.iter()
                    .map(|v| if total != 0.0 { v / total } else { *v })
                    .collect(),
            )
        })
        .collect()
}

/// One Pillow resampling pass over a plane: `along_x` picks the axis; `store` turns each
/// weighted sum into the stored value.
fn pil_pass<T: Copy>(
    src: &[T],
    (h, w): (usize, usize),
    out: usize,
    along_x: bool,
    store: impl Fn(&[f64], &[T]) -> T,
) -> Vec<T> {
    let taps = pil_taps(if along_x { w } else { h }, out);
    let (oh, ow) = if along_x { (h, out) } else { (out, w) };
    let mut dst = Vec::with_capacity(oh * ow);
    let mut line = Vec::new();
    for y in 0..oh {
        for x in 0..ow {
            let (start, weights) = if along_x { &taps[x] } else { &taps[y] };
            line.clear();
            line.extend((0..weights.len()).map(|k| {
                if along_x {
                    src[y * w + start + k]
                } else {
                    src[(start + k) * w + x]
                }
            }));
            dst.push(store(weights, &line));
        }
    }
    dst
}

/// Pillow's two passes: horizontal, then vertical, each only if that side changes.
fn pil_resize<T: Copy>(
    img: &[T],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    store: impl Fn(&[f64], &[T]) -> T + Copy,
) -> Vec<T> {
    let mid = if ow != w {
        pil_pass(img, (h, w), ow, true, store)
    } else {
        img.to_vec()
    };
    if oh != h {
        pil_pass(&mid, (h, ow), oh, false, store)
    } else {
        mid
    }
}

/// Pillow's `Image.resize(size, BICUBIC)` of an 8-bit plane: horizontal pass then vertical,
/// each in Pillow's fixed point (22 fraction bits, rounded, clipped to 0..255).
pub fn pil_bicubic_u8(img: &[u8], (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<u8> {
    const BITS: u32 = 22;
    let store = |weights: &[f64], line: &[u8]| -> u8 {
        let mut acc: i64 = 1 << (BITS - 1);
        for (k, &v) in weights.iter().zip(line) {
            let fixed = if *k < 0.0 {
                (-0.5 + k * (1u64 << BITS) as f64) as i64
            } else {
                (0.5 + k * (1u64 << BITS) as f64) as i64
            };
            acc += fixed * v as i64;
        }
        (acc >> BITS).clamp(0, 255) as u8
    };
    pil_resize(img, (h, w), (oh, ow), store)
}

/// Pillow's bicubic resize of a float (`F` mode) plane: the same taps, no rounding.
pub fn pil_bicubic_f32(img: &[f32], (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    let store = |weights: &[f64], line: &[f32]| -> f32 {
        weights
            .iter()
            .zip(line)
            .map(|(k, &v)| k * v as f64)
            .sum::<f64>() as f32
    };
    pil_resize(img, (h, w), (oh, ow), store)
}

/// PyTorch's `F.interpolate(mode="bicubic", scale_factor=(sy, sx), align_corners=False,
/// antialias=False)` of one plane: output `floor(in·s)`, source `(dst + 0.5)/s − 0.5` in f32,
/// four taps of the cubic convolution with `A = −0.75`, indices clamped at the edges.
pub fn torch_bicubic_scaled(
    img: &[f32],
    (h, w): (usize, usize),
    (sy, sx): (f64, f64),
) -> (Vec<f32>, (usize, usize)) {
    let (oh, ow) = (
        (h as f64 * sy).floor() as usize,
        (w as f64 * sx).floor() as usize,
    );
    let taps = |inp: usize, out: usize, s: f64| -> Vec<([usize; 4], [f32; 4])> {
        let scale = (1.0 / s) as f32;
        (0..out)
            .map(|o| {
                let real = scale * (o as f32 + 0.5) - 0.5;
                let i = real.floor();
                let t = real - i;
                const A: f32 = -0.75;
                let c1 = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
                let c2 = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
                let idx = |k: i64| (i as i64 - 1 + k).clamp(0, inp as i64 - 1) as usize;
                (
                    [idx(0), idx(1), idx(2), idx(3)],
                    [c2(t + 1.0), c1(t), c1(1.0 - t), c2(2.0 - t)],
                )
            })
            .collect()
    };
    let (ty, tx) = (taps(h, oh, sy), taps(w, ow, sx));
    let mut out = Vec::with_capacity(oh * ow);
    for (yi, yw) in &ty {
        for (xi, xw) in &tx {
            let mut acc = 0f32;
            for a in 0..4 {
                let row: f32 = (0..4).map(|b| img[yi[a] * w + xi[b]] * xw[b]).sum();
                acc += row * yw[a];
            }
            out.push(acc);
        }
    }
    (out, (oh, ow))
}
