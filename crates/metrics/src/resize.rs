//! Image preparation for the Inception network as the paper's pipeline did it: TF1's bilinear
//! resize to 299 (`align_corners=False` without half-pixel centres: `src = dst·in/out`,
//! neighbours clamped at the edge; what clean-fid's `legacy_tensorflow` mode and torch-fidelity
//! reproduce) and the uint8 quantisation of generated images (spec §2.3, §3.1).

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
