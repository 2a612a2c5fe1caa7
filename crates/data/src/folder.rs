//! A folder of PNG/JPEG images (a user's own data), resized to a square resolution.

use std::path::Path;

use image::imageops::FilterType;

use crate::error::{DataError, Result};
use crate::images::ImageSet;

/// Every `.png`, `.jpg` or `.jpeg` directly in `dir`, in name order.
fn image_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
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
    Ok(files)
}

fn decode(f: &Path) -> Result<image::DynamicImage> {
    image::open(f).map_err(|e| DataError::format(f, format!("cannot decode image: {e}")))
}

/// Appends an RGB image as planes (C, H, W).
fn push_planes(data: &mut Vec<u8>, rgb: &image::RgbImage) {
    let (raw, plane) = (rgb.as_raw(), (rgb.width() * rgb.height()) as usize);
    for c in 0..3 {
        data.extend((0..plane).map(|p| raw[p * 3 + c]));
    }
}

/// Every `.png`, `.jpg` or `.jpeg` directly in `dir`, in name order, as RGB `size × size`
/// (Lanczos resize, no crop).
pub fn load(dir: &Path, size: usize) -> Result<ImageSet> {
    let files = image_files(dir)?;
    let plane = size * size;
    let mut data = Vec::with_capacity(files.len() * 3 * plane);
    for f in &files {
        let rgb = decode(f)?
            .resize_exact(size as u32, size as u32, FilterType::Lanczos3)
            .to_rgb8();
        push_planes(&mut data, &rgb);
    }
    Ok(ImageSet {
        c: 3,
        h: size,
        w: size,
        data,
        labels: None,
    })
}

/// The images of [`load`] at their own size, which must be the same for all (grey and RGBA
/// become RGB); at most `limit` of them. An error names the first file of another size.
pub fn load_native(dir: &Path, limit: Option<usize>) -> Result<ImageSet> {
    let mut files = image_files(dir)?;
    files.truncate(limit.unwrap_or(usize::MAX));
    let mut data = Vec::new();
    let mut size = None;
    for f in &files {
        let rgb = decode(f)?.to_rgb8();
        let (w, h) = rgb.dimensions();
        match size {
            None => size = Some((w, h)),
            Some((w0, h0)) if (w0, h0) != (w, h) => {
                return Err(DataError::format(
                    f,
                    format!(
                        "is {w}×{h} but {} is {w0}×{h0}: the images of a set must share one size",
                        files[0].display()
                    ),
                ))
            }
            _ => {}
        }
        push_planes(&mut data, &rgb);
    }
    let (w, h) = size.expect("at least one image");
    Ok(ImageSet {
        c: 3,
        h: h as usize,
        w: w as usize,
        data,
        labels: None,
    })
}
