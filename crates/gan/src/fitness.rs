//! A member's fitness from its EMA generator's samples, higher is better: −FD-pixels8 (the CPU
//! proxy, not FID), −FID (Inception pool3 features against the dataset's reference
//! statistics; the paper searched with FID-5k) or −FD-DINOv2 (DINOv2 ViT-L/14 features, the
//! metric recent evaluation studies prefer), or −FD-classifier (the CPU proxy in the feature
//! space of a small classifier trained on the dataset). Features are streamed into the
//! statistics.

use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use pbtnas_data::ImageSet;
use pbtnas_metrics::{
    classifier, classifier_path, dinov2_ref_stats_path, dinov2_weights_path, frechet_distance,
    inception, proxy, ref_features_path, ref_stats_path, weights::sha256_file, weights_path,
    Classifier, DinoV2, FeatureStats, Inception, StatsAccumulator,
};
use serde::{Deserialize, Serialize};

/// The metric a GAN member is ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitnessMetric {
    /// Fréchet distance of 8×8-pooled pixels against up to 5,000 training images: milliseconds.
    FdPixels8,
    /// FID: Inception features (resized to 299) against `pbtnas metrics ref-stats` statistics.
    Fid,
    /// FD-DINOv2: DINOv2 CLS features (resized to 224) against
    /// `pbtnas metrics ref-stats --extractor dinov2` statistics.
    FdDinov2,
    /// Fréchet distance of the features of a small classifier trained on the dataset
    /// (`pbtnas metrics train-classifier`) against up to 5,000 training images: a CPU proxy.
    FdClassifier,
}

/// Turns samples into features and features into a distance.
pub enum Scorer {
    Pixels8 {
        real: FeatureStats,
        size: usize,
    },
    Fid {
        net: Inception,
        real: FeatureStats,
        /// Real features for KID, when `ref-stats` saved them.
        real_features: Option<Vec<f32>>,
        /// SHA-256 of the reference statistics file.
        real_sha256: String,
    },
    FdDinov2 {
        net: DinoV2,
        real: FeatureStats,
    },
    FdClassifier {
        net: Classifier,
        real: FeatureStats,
    },
}

/// Reference statistics that must exist, or an error saying how to make them.
fn ref_stats(path: &Path, make: &str) -> Result<FeatureStats> {
    if !path.exists() {
        anyhow::bail!(
            "the fitness needs the reference statistics {}: run `{make}`",
            path.display()
        );
    }
    FeatureStats::load_npz(path)
}

impl Scorer {
    /// Prepares `metric`: the proxy's statistics of `data`, or FID's network and reference
    /// statistics (errors say how to make them). `fid_stats` is a statistics file to use instead
    /// of the dataset's, with the SHA-256 it must have when given.
    pub fn new(
        metric: FitnessMetric,
        data: &ImageSet,
        (data_dir, dataset): (&Path, &str),
        fid_stats: Option<(&Path, Option<&str>)>,
        device: &Device,
    ) -> Result<Self> {
        Ok(match metric {
            FitnessMetric::FdPixels8 => {
                let n = data.len().min(5000);
                let idx: Vec<usize> = (0..n).collect();
                let feats = proxy::pixels8(&data.batch_f32(&idx), n, data.h);
                Scorer::Pixels8 {
                    real: FeatureStats::of(&feats, 192)?,
                    size: data.h,
                }
            }
            FitnessMetric::FdClassifier => {
                let path = classifier_path(data_dir, dataset, data.h);
                if !path.exists() {
                    anyhow::bail!(
                        "fitness fd-classifier needs the classifier {}: run `pbtnas metrics train-classifier {dataset} --size {}`",
                        path.display(),
                        data.h
                    );
                }
                let net = Classifier::load(&path, device)?;
                let n = data.len().min(5000);
                let mut acc = StatsAccumulator::new(classifier::FEATURES);
                for start in (0..n).step_by(500) {
                    let idx: Vec<usize> = (start..(start + 500).min(n)).collect();
                    let x = Tensor::from_vec(
                        data.batch_f32(&idx),
                        (idx.len(), data.c, data.h, data.w),
                        device,
                    )?;
                    acc.add(&net.features(&x)?.flatten_all()?.to_vec1::<f32>()?)?;
                }
                Scorer::FdClassifier {
                    net,
                    real: acc.finish()?,
                }
            }
            FitnessMetric::FdDinov2 => Scorer::FdDinov2 {
                real: ref_stats(
                    &dinov2_ref_stats_path(data_dir, dataset),
                    &format!("pbtnas metrics ref-stats {dataset} --extractor dinov2"),
                )?,
                net: DinoV2::load(&dinov2_weights_path(data_dir), device)?,
            },
            FitnessMetric::Fid => {
                let (path, features) = match fid_stats {
                    Some((path, pinned)) => {
                        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                        let beside = path.with_file_name(format!("{stem}-features.npy"));
                        let sha = sha256_file(path)
                            .with_context(|| format!("ref_stats {}", path.display()))?;
                        if let Some(want) = pinned.filter(|w| !w.eq_ignore_ascii_case(&sha)) {
                            anyhow::bail!(
                                "ref_stats {} has SHA-256 {sha}, not the {want} that ref_stats_sha256 pins: another file, or a damaged download",
                                path.display()
                            );
                        }
                        (path.to_path_buf(), beside)
                    }
                    None => {
                        let path = ref_stats_path(data_dir, dataset);
                        if !path.exists() {
                            anyhow::bail!(
                                "the fitness needs the reference statistics {}: run `pbtnas metrics ref-stats {dataset}`",
                                path.display()
                            );
                        }
                        (path, ref_features_path(data_dir, dataset))
                    }
                };
                let real = FeatureStats::load_npz(&path)
                    .with_context(|| format!("ref_stats {}", path.display()))?;
                let real_sha256 = sha256_file(&path)?;
                if real.dim() != pbtnas_metrics::inception::FEATURES {
                    anyhow::bail!(
                        "FID's reference statistics are of {} features, not Inception pool3's {}",
                        real.dim(),
                        pbtnas_metrics::inception::FEATURES
                    );
                }
                let real_features = match features.exists() {
                    true => Some(
                        Tensor::read_npy(&features)
                            .and_then(|t| t.to_dtype(candle_core::DType::F32)?.flatten_all())
                            .and_then(|t| t.to_vec1::<f32>())
                            .with_context(|| format!("reading {}", features.display()))?,
                    ),
                    false => None,
                };
                Scorer::Fid {
                    net: Inception::load(&weights_path(data_dir), device)?,
                    real,
                    real_features,
                    real_sha256,
                }
            }
        })
    }

    /// The metric's name in the run's metrics (`eval/<name>`).
    pub fn name(&self) -> &'static str {
        match self {
            Scorer::Pixels8 { .. } => "fd_pixels8",
            Scorer::Fid { .. } => "fid",
            Scorer::FdDinov2 { .. } => "fd_dinov2",
            Scorer::FdClassifier { .. } => "fd_classifier",
        }
    }

    /// Feature width.
    pub fn dim(&self) -> usize {
        match self {
            Scorer::Pixels8 { .. } => 192,
            Scorer::Fid { .. } => inception::FEATURES,
            Scorer::FdDinov2 { net, .. } => net.dim(),
            Scorer::FdClassifier { .. } => classifier::FEATURES,
        }
    }

    /// Samples per generator call (Inception's activations at 299 are large).
    pub fn chunk(&self) -> usize {
        match self {
            Scorer::Pixels8 { .. } | Scorer::FdClassifier { .. } => 250,
            Scorer::Fid { .. } | Scorer::FdDinov2 { .. } => 50,
        }
    }

    /// Features of generated `(N, 3, S, S)` images in [-1, 1], and for FID with weights that
    /// have the classifier head also IS logits. For FID the images become `x·127.5 + 127.5`
    /// clamped to 0..255, not quantised, as the paper's clean-fid call; DINOv2 rounds them to
    /// uint8 (a saved image) before its resize, as dgm-eval's pipeline.
    pub fn features(&self, images: &Tensor) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        Ok(match self {
            Scorer::Pixels8 { size, .. } => {
                let n = images.dim(0)?;
                let f = proxy::pixels8(&images.flatten_all()?.to_vec1::<f32>()?, n, *size);
                (f, None)
            }
            Scorer::Fid { net, .. } => {
                let pixels = ((images * 127.5)? + 127.5)?.clamp(0f32, 255f32)?;
                let feats = net.features(&pixels)?;
                let logits = match net.logits(&feats)? {
                    Some(l) => Some(l.flatten_all()?.to_vec1::<f32>()?),
                    None => None,
                };
                (feats.flatten_all()?.to_vec1::<f32>()?, logits)
            }
            Scorer::FdDinov2 { net, .. } => {
                let pixels = ((images * 127.5)? + 127.5)?.clamp(0f32, 255f32)?;
                (
                    net.features(&pixels)?.flatten_all()?.to_vec1::<f32>()?,
                    None,
                )
            }
            Scorer::FdClassifier { net, .. } => {
                (net.features(images)?.flatten_all()?.to_vec1::<f32>()?, None)
            }
        })
    }

    /// Inception logits of images in [-1, 1] quantised as the original's final IS did
    /// (`×127.5 + 127.5`, clamped to [0, 255], truncated to uint8); `None` without the
    /// classifier head or for another extractor.
    pub fn uint8_logits(&self, images: &Tensor) -> Result<Option<Vec<f32>>> {
        let Scorer::Fid { net, .. } = self else {
            return Ok(None);
        };
        let pixels = ((images * 127.5)? + 127.5)?.clamp(0f32, 255f32)?.floor()?;
        Ok(match net.logits(&net.features(&pixels)?)? {
            Some(l) => Some(l.flatten_all()?.to_vec1::<f32>()?),
            None => None,
        })
    }

    /// SHA-256 of FID's reference statistics file.
    pub fn reference_sha256(&self) -> Option<&str> {
        match self {
            Scorer::Fid { real_sha256, .. } => Some(real_sha256),
            _ => None,
        }
    }

    /// The real features KID compares with, if any.
    pub fn real_features(&self) -> Option<&[f32]> {
        match self {
            Scorer::Fid {
                real_features: Some(f),
                ..
            } => Some(f),
            _ => None,
        }
    }

    /// The distance of the accumulated sample statistics to the data's.
    pub fn distance(&self, samples: &StatsAccumulator) -> Result<f64> {
        let real = match self {
            Scorer::Pixels8 { real, .. }
            | Scorer::Fid { real, .. }
            | Scorer::FdDinov2 { real, .. }
            | Scorer::FdClassifier { real, .. } => real,
        };
        frechet_distance(real, &samples.finish()?).context("the Fréchet distance of the samples")
    }
}
