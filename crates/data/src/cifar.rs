//! CIFAR-10, binary version (`cifar-10-batches-bin/`): 3,073-byte records, label then 32×32 RGB
//! planes, row-major. No header.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::images::ImageSet;

const RECORD: usize = 3073;

/// Reads one batch file.
pub fn read_batch(path: &Path) -> Result<ImageSet> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.is_empty() || bytes.len() % RECORD != 0 {
        return Err(DataError::format(path, format!("{} bytes is not a whole number of 3,073-byte CIFAR-10 records (truncated or not a CIFAR-10 binary batch)", bytes.len())));
    }
    let n = bytes.len() / RECORD;
    let mut data = Vec::with_capacity(n * 3072);
    let mut labels = Vec::with_capacity(n);
    for r in bytes.chunks_exact(RECORD) {
        if r[0] > 9 {
            return Err(DataError::format(
                path,
                format!("label {} out of range 0..9", r[0]),
            ));
        }
        labels.push(r[0]);
        data.extend_from_slice(&r[1..]);
    }
    Ok(ImageSet {
        c: 3,
        h: 32,
        w: 32,
        data,
        labels: Some(labels),
    })
}

/// The training set (`data_batch_1..5.bin`, 50,000 images) or the test set (`test_batch.bin`).
pub fn load(dir: &Path, train: bool) -> Result<ImageSet> {
    let dir = if dir.join("cifar-10-batches-bin").is_dir() {
        dir.join("cifar-10-batches-bin")
    } else {
        dir.to_path_buf()
    };
    let files: Vec<String> = if train {
        (1..=5).map(|i| format!("data_batch_{i}.bin")).collect()
    } else {
        vec!["test_batch.bin".into()]
    };
    let parts = files
        .iter()
        .map(|f| read_batch(&dir.join(f)))
        .collect::<Result<Vec<_>>>()?;
    Ok(ImageSet::concat(parts))
}
