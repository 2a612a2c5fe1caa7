//! Cheap feature extractors for CPU runs, **not Inception**: their Fréchet distance is never
//! called FID (docs/metrics.md, "CPU proxies"). `pixels8`: images average-pooled to 8×8 per
//! channel (192 values), whose Fréchet distance "FD-pixels8" tracks colours and layout coarsely
//! in milliseconds.

/// `(n, 3, size, size)` images → `(n, 192)` features: 8×8 average pools per channel.
pub fn pixels8(images: &[f32], n: usize, size: usize) -> Vec<f32> {
    let cell = size / 8;
    let mut out = Vec::with_capacity(n * 192);
    for i in 0..n {
        let img = &images[i * 3 * size * size..(i + 1) * 3 * size * size];
        for c in 0..3 {
            for by in 0..8 {
                for bx in 0..8 {
                    let mut s = 0.0f64;
                    for y in by * cell..(by + 1) * cell {
                        for x in bx * cell..(bx + 1) * cell {
                            s += img[(c * size + y) * size + x] as f64;
                        }
                    }
                    out.push((s / (cell * cell) as f64) as f32);
                }
            }
        }
    }
    out
}
