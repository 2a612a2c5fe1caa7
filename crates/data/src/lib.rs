//! Image datasets for the GAN task: loaders for CIFAR-10 (binary), STL-10 (binary, column-major,
//! 96→48 as the paper), (Fashion-)MNIST IDX (raw or gzip), image folders, and an embedded
//! procedural dataset; checksummed fetch and import. Images stay u8 in memory; batches in
//! [-1, 1] are prepared ahead on a background thread. No tensors here.

pub mod cifar;
pub mod error;
pub mod fetch;
pub mod folder;
pub mod idx;
pub mod images;
pub mod sprites;
pub mod stl10;

use std::path::Path;

pub use error::{DataError, Result};
pub use images::{ImageSet, Prefetcher};

/// Names accepted by [`load`].
pub const DATASETS: [&str; 6] = [
    "sprites",
    "shapes",
    "cifar10",
    "stl10",
    "fashion-mnist",
    "mnist",
];

/// Loads a training set by name from `data_dir/<name>` (see [`DATASETS`]; `folder:<path>` reads
/// a folder of images at `size`). GAN geometry: CIFAR-10 and (Fashion-)MNIST at 32×32 RGB
/// (MNIST padded 28→32, grey replicated), STL-10 train+unlabeled at 48×48, the embedded `sprites` and `shapes` at `size`.
pub fn load(name: &str, data_dir: &Path, size: usize) -> Result<ImageSet> {
    if let Some(path) = name.strip_prefix("folder:") {
        return folder::load(Path::new(path), size);
    }
    let dir = data_dir.join(name);
    let missing = || {
        DataError::Usage(format!(
            "{name} is not in {}: run `pbtnas data fetch {name}` (needs internet) or `pbtnas data import {name} PATH` with the official archive or files",
            dir.display()
        ))
    };
    match name {
        "sprites" => Ok(sprites::generate(10_000, size, 7)),
        "shapes" => Ok(sprites::generate_style(
            10_000,
            size,
            7,
            sprites::Style::Shapes,
        )),
        "cifar10" | "stl10" | "fashion-mnist" | "mnist" if !dir.exists() => Err(missing()),
        "cifar10" => cifar::load(&dir, true),
        "stl10" => stl10::load(&dir, stl10::Split::TrainUnlabeled, true),
        "fashion-mnist" | "mnist" => Ok(idx::load(&dir, true)?.pad(2).to_rgb()),
        other => Err(DataError::Usage(format!(
            "unknown dataset '{other}' (available: {}, folder:<path>)",
            DATASETS.join(", ")
        ))),
    }
}
