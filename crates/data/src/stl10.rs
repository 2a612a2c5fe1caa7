//! STL-10 binary (`stl10_binary/`): 96×96 RGB, each plane stored column-major; labels 1..10.
//! PBT-NAS trains on train+unlabeled (105k) resized 96→48 like PIL's bilinear: the separable
//! `[1, 3, 3, 1]/8` filter, renormalised at the borders.

use std::io::Read;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::images::ImageSet;

const SIDE: usize = 96;
const IMAGE: usize = 3 * SIDE * SIDE;

/// Which split to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
    Unlabeled,
    /// train + unlabeled, as the paper trains.
    TrainUnlabeled,
}

fn transpose_into(raw: &[u8], out: &mut Vec<u8>) {
    for c in 0..3 {
        let plane = &raw[c * SIDE * SIDE..(c + 1) * SIDE * SIDE];
        for y in 0..SIDE {
            for x in 0..SIDE {
                out.push(plane[x * SIDE + y]);
            }
        }
    }
}

/// 2× downscale of one CHW image with the `[1,3,3,1]/8` filter (rows then columns, rounded to u8
/// between the passes as PIL does).
pub fn halve(img: &[u8], c: usize, h: usize, w: usize) -> Vec<u8> {
    let taps = [1.0f32, 3.0, 3.0, 1.0];
    let filter = |get: &dyn Fn(isize) -> f32, i: usize, n: usize| -> f32 {
        let (mut sum, mut wsum) = (0.0, 0.0);
        for (k, t) in taps.iter().enumerate() {
            let src = 2 * i as isize - 1 + k as isize;
            if src >= 0 && (src as usize) < n {
                sum += t * get(src);
                wsum += t;
            }
        }
        sum / wsum
    };
    let (h2, w2) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(c * h2 * w2);
    for ch in 0..c {
        let plane = &img[ch * h * w..(ch + 1) * h * w];
        // horizontal pass
        let mut tmp = vec![0u8; h * w2];
        for y in 0..h {
            for x in 0..w2 {
                let v = filter(&|s| plane[y * w + s as usize] as f32, x, w);
                tmp[y * w2 + x] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        for y in 0..h2 {
            for x in 0..w2 {
                let v = filter(&|s| tmp[s as usize * w2 + x] as f32, y, h);
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

fn read_images(path: &Path, half: bool) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let len = file.metadata().map_err(|e| DataError::io(path, e))?.len() as usize;
    if len == 0 || !len.is_multiple_of(IMAGE) {
        return Err(DataError::format(
            path,
            format!("{len} bytes is not a whole number of 96×96×3 STL-10 images (truncated?)"),
        ));
    }
    // Stream: unlabeled_X.bin is 2.76 GB; only the (possibly halved) images are kept.
    let mut reader = std::io::BufReader::with_capacity(1 << 22, file);
    let mut raw = vec![0u8; IMAGE];
    let mut chw = Vec::with_capacity(IMAGE);
    let mut out = Vec::new();
    for _ in 0..len / IMAGE {
        reader
            .read_exact(&mut raw)
            .map_err(|e| DataError::io(path, e))?;
        chw.clear();
        transpose_into(&raw, &mut chw);
        if half {
            out.extend(halve(&chw, 3, SIDE, SIDE));
        } else {
            out.extend_from_slice(&chw);
        }
    }
    Ok(out)
}

fn read_labels(path: &Path, n: usize) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.len() != n {
        return Err(DataError::format(
            path,
            format!("{} labels for {n} images", bytes.len()),
        ));
    }
    bytes
        .iter()
        .map(|&l| match l {
            1..=10 => Ok(l - 1),
            _ => Err(DataError::format(
                path,
                format!("label {l} out of range 1..10"),
            )),
        })
        .collect()
}

/// Loads a split; `half` resizes 96→48 as the paper does.
pub fn load(dir: &Path, split: Split, half: bool) -> Result<ImageSet> {
    let dir = if dir.join("stl10_binary").is_dir() {
        dir.join("stl10_binary")
    } else {
        dir.to_path_buf()
    };
    let side = if half { SIDE / 2 } else { SIDE };
    let one = |x: &str, y: Option<&str>| -> Result<ImageSet> {
        let data = read_images(&dir.join(x), half)?;
        let n = data.len() / (3 * side * side);
        let labels = y.map(|y| read_labels(&dir.join(y), n)).transpose()?;
        Ok(ImageSet {
            c: 3,
            h: side,
            w: side,
            data,
            labels,
        })
    };
    match split {
        Split::Train => one("train_X.bin", Some("train_y.bin")),
        Split::Test => one("test_X.bin", Some("test_y.bin")),
        Split::Unlabeled => one("unlabeled_X.bin", None),
        Split::TrainUnlabeled => Ok(ImageSet::concat(vec![
            one("train_X.bin", None)?,
            one("unlabeled_X.bin", None)?,
        ])),
    }
}
