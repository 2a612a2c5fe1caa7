//! GAN metrics as functions over feature matrices and logits, so the feature extractor is
//! pluggable (docs/metrics.md): Gaussian statistics of features (f64,
//! streamed), the Fréchet distance (FID when the features are Inception pool3), the Inception
//! Score from logits, the unbiased KID, TF1's bilinear resize and the uint8 quantisation the
//! paper applied to generated images, precision/recall/density/coverage, and the cheap pixel
//! proxy used on CPU.

pub mod classifier;
pub mod dinov2;
pub mod frechet;
pub mod inception;
pub mod inception_score;
pub mod input;
pub mod kid;
mod pool;
pub mod prdc;
pub mod proxy;
pub mod resize;
pub mod stats;
pub mod weights;

pub use classifier::Classifier;
pub use dinov2::DinoV2;
pub use frechet::frechet_distance;
pub use inception::Inception;
pub use inception_score::{inception_score, IsOptions, PAPER_IS_SAMPLES};
pub use kid::{kernel_distance, KidOptions};
pub use prdc::{prdc, Prdc, PrdcOptions};
pub use stats::{FeatureStats, StatsAccumulator};

/// The converted Inception weights under a data dir (`pbtnas metrics import-weights`).
pub fn weights_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("weights/inception-pool3.safetensors")
}

/// A dataset's Inception reference statistics under a data dir (`pbtnas metrics ref-stats`).
pub fn ref_stats_path(data_dir: &std::path::Path, dataset: &str) -> std::path::PathBuf {
    data_dir.join(format!("stats/{dataset}-inception.npz"))
}

/// The converted DINOv2 weights under a data dir (`pbtnas metrics import-weights`).
pub fn dinov2_weights_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("weights/dinov2.safetensors")
}

/// The domain classifier of the FD-classifier proxy for a dataset at an image size
/// (`pbtnas metrics train-classifier`).
pub fn classifier_path(
    data_dir: &std::path::Path,
    dataset: &str,
    size: usize,
) -> std::path::PathBuf {
    data_dir.join(format!("weights/{dataset}-{size}px-classifier.safetensors"))
}

/// A dataset's DINOv2 reference statistics (`pbtnas metrics ref-stats --extractor dinov2`).
pub fn dinov2_ref_stats_path(data_dir: &std::path::Path, dataset: &str) -> std::path::PathBuf {
    data_dir.join(format!("stats/{dataset}-dinov2.npz"))
}

/// A dataset's real Inception features kept for KID (the first [`KID_REAL_FEATURES`] images,
/// f32 rows of 2048), next to its statistics.
pub fn ref_features_path(data_dir: &std::path::Path, dataset: &str) -> std::path::PathBuf {
    data_dir.join(format!("stats/{dataset}-inception-features.npy"))
}

/// Real images whose features `pbtnas metrics ref-stats` keeps for KID (80 MB at 2048-d f32).
pub const KID_REAL_FEATURES: usize = 10_000;

/// Mean and standard deviation (ddof 0, numpy's default) of a set of scores.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}
