//! IDX files (MNIST, Fashion-MNIST), raw or gzip: big-endian header, images `0x00000803`,
//! labels `0x00000801`.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::images::ImageSet;

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt gzip: {e}")))?;
        return Ok(out);
    }
    Ok(bytes)
}

fn header(path: &Path, bytes: &[u8], magic: u32, dims: usize) -> Result<Vec<usize>> {
    let need = 4 + 4 * dims;
    if bytes.len() < need {
        return Err(DataError::format(path, "file shorter than its IDX header"));
    }
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    if word(0) != magic {
        return Err(DataError::format(
            path,
            format!("IDX magic {:#010x}, expected {magic:#010x}", word(0)),
        ));
    }
    let shape: Vec<usize> = (1..=dims).map(|i| word(i) as usize).collect();
    let payload: usize = shape.iter().product();
    if bytes.len() != need + payload {
        return Err(DataError::format(
            path,
            format!(
                "{} payload bytes, the header announces {payload} (truncated?)",
                bytes.len() - need
            ),
        ));
    }
    Ok(shape)
}

/// Reads an images file (and its labels file, if given) as 1-channel images.
pub fn read(images: &Path, labels: Option<&Path>) -> Result<ImageSet> {
    let bytes = read_maybe_gz(images)?;
    let shape = header(images, &bytes, 0x0000_0803, 3)?;
    let labels = labels
        .map(|p| -> Result<Vec<u8>> {
            let b = read_maybe_gz(p)?;
            let s = header(p, &b, 0x0000_0801, 1)?;
            if s[0] != shape[0] {
                return Err(DataError::format(
                    p,
                    format!("{} labels for {} images", s[0], shape[0]),
                ));
            }
            Ok(b[8..].to_vec())
        })
        .transpose()?;
    Ok(ImageSet {
        c: 1,
        h: shape[1],
        w: shape[2],
        data: bytes[16..].to_vec(),
        labels,
    })
}

fn find(dir: &Path, stem: &str) -> PathBuf {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.exists() {
        gz
    } else {
        dir.join(stem)
    }
}

/// The train (60k) or test (10k) set of a folder holding the four standard files (raw or `.gz`).
pub fn load(dir: &Path, train: bool) -> Result<ImageSet> {
    let prefix = if train { "train" } else { "t10k" };
    read(
        &find(dir, &format!("{prefix}-images-idx3-ubyte")),
        Some(&find(dir, &format!("{prefix}-labels-idx1-ubyte"))),
    )
}
