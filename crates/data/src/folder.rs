//! A folder of PNG/JPEG images (a user's own data), resized to a square resolution.

use std::path::Path;

use image::imageops::FilterType;

use crate::error::{DataError, Result};
use crate::images::ImageSet;

/// Every `.png`, `.jpg` or `.jpeg` directly in `dir`, in name order, as RGB `size × size`
/// (Lanczos resize, no crop).
pub fn load(dir: &Path, size: usize) -> Result<ImageSet> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DataError::format(
            dir,
            "no .png/.jpg/.jpeg images in this folder",
        ));
    }
    let plane = size * size;
    let mut data = Vec::with_capacity(files.len() * 3 * plane);
    for f in &files {
        let img = image::open(f)
            .map_err(|e| DataError::format(f, format!("cannot decode image: {e}")))?;
        let rgb = img
            .resize_exact(size as u32, size as u32, FilterType::Lanczos3)
            .to_rgb8();
        let raw = rgb.as_raw();
        for c in 0..3 {
            data.extend((0..plane).map(|p| raw[p * 3 + c]));
        }
    }
    Ok(ImageSet {
        c: 3,
        h: size,
        w: size,
        data,
        labels: None,
    })
}
