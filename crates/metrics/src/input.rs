//! One side of `pbtnas metrics fid|kid|prdc A B`: a folder of PNG/JPEG images, an image array
//! (`.npy`, or `.npz` holding one array), a dataset name known to `pbtnas data`, or a statistics
//! `.npz` with `mu` and `sigma` (the TTUR / clean-fid / pytorch-fid layout).

use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Tensor};
use pbtnas_data::ImageSet;

use crate::FeatureStats;

/// What a command-line name resolved to.
pub enum Input {
    Images(ImageSet),
    Stats(FeatureStats),
}

impl Input {
    /// Resolves `spec`: an existing folder, `.npy` or `.npz` file first, then a dataset name
    /// (training images; `size` for the generated ones). `limit` keeps the first images.
    pub fn open(spec: &str, data_dir: &Path, size: usize, limit: Option<usize>) -> Result<Input> {
        let path = Path::new(spec);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let set = if path.is_dir() {
            pbtnas_data::folder::load_native(path, limit)?
        } else if path.is_file() && ext.as_deref() == Some("npy") {
            let t = Tensor::read_npy(path).with_context(|| format!("reading {spec}"))?;
            images_of_array(&t, spec)?
        } else if path.is_file() && ext.as_deref() == Some("npz") {
            let arrays = Tensor::read_npz(path).with_context(|| format!("reading {spec}"))?;
            let has = |k: &str| arrays.iter().any(|(name, _)| name == k);
            if has("mu") && has("sigma") {
                return Ok(Input::Stats(FeatureStats::load_npz(path)?));
            }
            match arrays.as_slice() {
                [(_, t)] => images_of_array(t, spec)?,
                _ => bail!(
                    "{spec}: an .npz must hold `mu` and `sigma` (statistics) or one image array; it holds {}",
                    arrays.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
                ),
            }
        } else if path.exists() {
            bail!("{spec}: not a folder of images, an .npy/.npz file or a dataset name");
        } else if pbtnas_data::DATASETS.contains(&spec) || spec.starts_with("folder:") {
            pbtnas_data::load(spec, data_dir, size)?.to_rgb()
        } else {
            bail!(
                "{spec}: no such folder or file, and not a dataset name ({})",
                pbtnas_data::DATASETS.join(", ")
            );
        };
        Ok(Input::Images(truncate(set, limit)))
    }

    /// How it reads in a message: "N images of C×H×W" or "statistics".
    pub fn describe(&self) -> String {
        match self {
            Input::Images(s) => format!("{} images of {}×{}", s.len(), s.w, s.h),
            Input::Stats(_) => "statistics".into(),
        }
    }
}

fn truncate(mut set: ImageSet, limit: Option<usize>) -> ImageSet {
    if let Some(n) = limit.filter(|&n| n < set.len()) {
        set.data.truncate(n * set.image_len());
        if let Some(l) = set.labels.as_mut() {
            l.truncate(n);
        }
    }
    set
}

/// uint8 images `(N, H, W)`, `(N, H, W, 1|3)` (numpy's and clean-fid's layout) or
/// `(N, 1|3, H, W)`.
fn images_of_array(t: &Tensor, name: &str) -> Result<ImageSet> {
    if t.dtype() != DType::U8 {
        bail!(
            "{name}: images must be uint8 in 0..255, this array is {:?} (from floats in [0, 1]: \
             (x * 255).round().clip(0, 255).astype(np.uint8))",
            t.dtype()
        );
    }
    let t = match *t.dims() {
        [_, _, _] => t.unsqueeze(1)?,
        [_, h, w, c] if (c == 1 || c == 3) && h > 4 && w > 4 => t.permute((0, 3, 1, 2))?,
        [_, c, _, _] if c == 1 || c == 3 => t.clone(),
        ref d => bail!("{name}: an image array is (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3, not {d:?}"),
    };
    let (n, c, h, w) = t.dims4()?;
    if n == 0 {
        bail!("{name}: the array holds no images");
    }
    let set = ImageSet {
        c,
        h,
        w,
        data: t.contiguous()?.flatten_all()?.to_vec1::<u8>()?,
        labels: None,
    };
    Ok(set.to_rgb())
}

/// Inception pool3 features (rows of [`crate::inception::FEATURES`]) of a set's images, `batch`
/// at a time; `progress` gets the number of images done.
pub fn inception_features(
    set: &ImageSet,
    net: &crate::Inception,
    batch: usize,
    mut progress: impl FnMut(usize),
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(set.len() * crate::inception::FEATURES);
    for start in (0..set.len()).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(set.len());
        let pixels: Vec<f32> = set.data[start * set.image_len()..end * set.image_len()]
            .iter()
            .map(|&v| v as f32)
            .collect();
        let x = Tensor::from_vec(
            pixels,
            (end - start, set.c, set.h, set.w),
            &candle_core::Device::Cpu,
        )?;
        out.extend(net.features(&x)?.flatten_all()?.to_vec1::<f32>()?);
        progress(end);
    }
    Ok(out)
}
