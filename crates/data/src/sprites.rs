//! The embedded datasets, generated from a seed, nothing to download; labels are the shape.
//! `sprites`: a coloured disc, square, triangle or cross of random size and place on a
//! two-colour gradient background (the CPU experiments). `shapes`: the same four shapes, large
//! and near the centre, in a bright colour on a near-black background: the embedded default's
//! data, learnt in minutes on 2 cores to samples whose shapes a person can name.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::images::ImageSet;

/// Shape classes, in label order.
pub const SHAPES: [&str; 4] = ["disc", "square", "triangle", "cross"];

fn inside(shape: usize, dx: f32, dy: f32, r: f32) -> bool {
    match shape {
        0 => dx * dx + dy * dy <= r * r,
        1 => dx.abs() <= r * 0.8 && dy.abs() <= r * 0.8,
        2 => dy <= r * 0.7 && dy >= -r && dx.abs() <= (dy + r) * 0.6,
        _ => (dx.abs() <= r * 0.3 && dy.abs() <= r) || (dy.abs() <= r * 0.3 && dx.abs() <= r),
    }
}

/// How the images of a dataset are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `sprites`: radius 0.18–0.35 of the side, anywhere inside, gradient background.
    Sprites,
    /// `shapes`: radius 0.34–0.42 of the side, centre within ±0.06 of the middle, background
    /// below 0.1.
    Shapes,
}

/// `n` RGB `sprites` images of `size × size`.
pub fn generate(n: usize, size: usize, seed: u64) -> ImageSet {
    generate_style(n, size, seed, Style::Sprites)
}

/// `n` RGB images of `size × size` in a style.
pub fn generate_style(n: usize, size: usize, seed: u64, style: Style) -> ImageSet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plane = size * size;
    let mut data = vec![0u8; n * 3 * plane];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let shape = rng.random_range(0..SHAPES.len());
        labels.push(shape as u8);
        let dark = match style {
            Style::Sprites => 0.5,
            Style::Shapes => 0.1,
        };
        let top: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..dark));
        let bottom: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..dark));
        let color: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.4..1.0));
        let s = size as f32;
        let (r, cx, cy) = match style {
            Style::Sprites => {
                let r = rng.random_range(0.18..0.35) * s;
                (r, rng.random_range(r..s - r), rng.random_range(r..s - r))
            }
            Style::Shapes => {
                let r = rng.random_range(0.34..0.42) * s;
                let mut jitter = || (0.5 + rng.random_range(-0.06..0.06)) * s;
                (r, jitter(), jitter())
            }
        };
        let img = &mut data[i * 3 * plane..(i + 1) * 3 * plane];
        for y in 0..size {
            let t = y as f32 / (s - 1.0);
            for x in 0..size {
                let on = inside(shape, x as f32 + 0.5 - cx, y as f32 + 0.5 - cy, r);
                for c in 0..3 {
                    let v = if on {
                        color[c]
                    } else {
                        top[c] * (1.0 - t) + bottom[c] * t
                    };
                    img[c * plane + y * size + x] = (v * 255.0).round() as u8;
                }
            }
        }
    }
    ImageSet {
        c: 3,
        h: size,
        w: size,
        data,
        labels: Some(labels),
    }
}
