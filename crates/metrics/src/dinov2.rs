//! DINOv2 ViT features for FD-DINOv2 (Stein et al. 2023, the metric their study recommends over
//! Inception FID): the CLS token after the final norm of facebookresearch/dinov2's
//! `DinoVisionTransformer` (ViT-L/14 by default: 1024 features), with dgm-eval's preprocessing
//! (PIL bicubic resize of the uint8 image to 224, /255, ImageNet normalisation). Forward only.
//! Written here rather than taken from candle-transformers' `dinov2`, which resizes the
//! position embedding by nearest neighbour instead of bicubic, uses LayerNorm eps 1e-5 instead
//! of 1e-6 and needs a classification head: its features would not be DINOv2's.
//! Weights: the official `dinov2_vit{s,b,l}14_pretrain.pth` (names `blocks.N.attn.qkv.weight`,
//! `ls1.gamma`, …), converted by `pbtnas metrics import-weights`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, D};
use pbtnas_nn::layer_norm;

use crate::resize::{pil_bicubic_u8, torch_bicubic_scaled};

const PATCH: usize = 14;
const HEAD_DIM: usize = 64;
const LN_EPS: f64 = 1e-6;
/// dgm-eval's input size.
pub const INPUT_SIZE: usize = 224;
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// A DINOv2 ViT/14 (S, B or L: plain MLP blocks).
pub struct DinoV2 {
    t: HashMap<String, Tensor>,
    dim: usize,
    depth: usize,
    /// Side of the position grid it was trained with (37 for 518 px).
    grid: usize,
    input: usize,
    device: Device,
}

impl DinoV2 {
    /// Loads converted weights (`pbtnas metrics import-weights dinov2_vitl14_pretrain.pth`).
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        if !path.exists() {
            bail!(
                "no DINOv2 weights at {}: download the official dinov2_vitl14_pretrain.pth \
                 (https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth) \
                 and run `pbtnas metrics import-weights <file>`",
                path.display()
            );
        }
        let t = candle_core::safetensors::load(path, device)
            .with_context(|| format!("reading {}", path.display()))?;
        Self::from_tensors(t, device)
    }

    /// A model from its tensors (official names); sizes are read from the shapes.
    pub fn from_tensors(t: HashMap<String, Tensor>, device: &Device) -> Result<Self> {
        if !is_dinov2(t.keys().map(String::as_str)) {
            bail!("these tensors are not a DINOv2 ViT (no cls_token / blocks.0.ls1.gamma)");
        }
        if t.contains_key("blocks.0.mlp.w12.weight") {
            bail!("ViT-g/14 (SwiGLU blocks) is not supported: use ViT-S, -B or -L/14");
        }
        let dim = t["cls_token"].dim(D::Minus1)?;
        let depth = (0..)
            .take_while(|b| t.contains_key(&format!("blocks.{b}.norm1.weight")))
            .count();
        let positions = t["pos_embed"].dim(1)? - 1;
        let grid = (positions as f64).sqrt().round() as usize;
        if grid * grid != positions || !dim.is_multiple_of(HEAD_DIM) {
            bail!("unexpected DINOv2 shapes: {positions} positions, width {dim}");
        }
        let t = t
            .into_iter()
            .map(|(k, v)| Ok((k, v.to_dtype(DType::F32)?.to_device(device)?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            t,
            dim,
            depth,
            grid,
            input: INPUT_SIZE,
            device: device.clone(),
        })
    }

    /// Resizes inputs to `size` (a multiple of 14) instead of 224.
    pub fn with_input_size(mut self, size: usize) -> Self {
        self.input = size;
        self
    }

    /// Feature width (1024 for ViT-L).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Features `(N, dim)` of images `(N, 3, H, W)` with values in 0..255 (rounded to uint8,
    /// as a saved image, before the resize).
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = images.dims4()?;
        if c != 3 {
            bail!("DINOv2 takes RGB images, got {c} channels");
        }
        let s = self.input;
        let flat = images
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let mut x = Vec::with_capacity(n * 3 * s * s);
        for img in flat.chunks(3 * h * w) {
            for (ch, plane) in img.chunks(h * w).enumerate() {
                let u8s: Vec<u8> = plane
                    .iter()
                    .map(|v| v.round().clamp(0.0, 255.0) as u8)
                    .collect();
                let resized = pil_bicubic_u8(&u8s, (h, w), (s, s));
                x.extend(
                    resized
                        .iter()
                        .map(|&v| (v as f32 / 255.0 - MEAN[ch]) / STD[ch]),
                );
            }
        }
        let x = Tensor::from_vec(x, (n, 3, s, s), &self.device)?;
        self.forward(&x)
    }

    /// The network on preprocessed input `(N, 3, S, S)`: the normed CLS token.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        let w = |k: &str| &self.t[k];
        let patches = x
            .conv2d(w("patch_embed.proj.weight"), 0, PATCH, 1, 1)?
            .broadcast_add(&w("patch_embed.proj.bias").reshape((1, self.dim, 1, 1))?)?;
        let side = patches.dim(2)?;
        let tokens = patches.flatten_from(2)?.transpose(1, 2)?;
        let cls = w("cls_token").broadcast_as((n, 1, self.dim))?;
        let mut t = Tensor::cat(&[&cls, &tokens], 1)?
            .broadcast_add(&self.positions(side)?)?
            .contiguous()?;
        let heads = self.dim / HEAD_DIM;
        let linear = |x: &Tensor, name: &str| -> Result<Tensor> {
            let y = x.broadcast_matmul(&w(&format!("{name}.weight")).t()?)?;
            Ok(y.broadcast_add(w(&format!("{name}.bias")))?)
        };
        let norm = |x: &Tensor, name: &str| -> Result<Tensor> {
            Ok(layer_norm(
                x,
                w(&format!("{name}.weight")),
                w(&format!("{name}.bias")),
                LN_EPS,
            )?)
        };
        let tokens = t.dim(1)?;
        for b in 0..self.depth {
            let p = format!("blocks.{b}");
            let y = norm(&t, &format!("{p}.norm1"))?;
            let qkv = linear(&y, &format!("{p}.attn.qkv"))?
                .reshape((n, tokens, 3, heads, HEAD_DIM))?
                .permute((2, 0, 3, 1, 4))?;
            let q = (qkv.get(0)? * (HEAD_DIM as f64).powf(-0.5))?.contiguous()?;
            let (k, v) = (qkv.get(1)?.contiguous()?, qkv.get(2)?.contiguous()?);
            let a = softmax_last(&q.matmul(&k.t()?)?)?.matmul(&v)?;
            let a = a.transpose(1, 2)?.reshape((n, tokens, self.dim))?;
            let a = linear(&a, &format!("{p}.attn.proj"))?;
            t = (t + a.broadcast_mul(w(&format!("{p}.ls1.gamma")))?)?;
            let y = norm(&t, &format!("{p}.norm2"))?;
            let y = linear(
                &linear(&y, &format!("{p}.mlp.fc1"))?.gelu_erf()?,
                &format!("{p}.mlp.fc2"),
            )?;
            t = (t + y.broadcast_mul(w(&format!("{p}.ls2.gamma")))?)?;
        }
        Ok(norm(&t, "norm")?.get_on_dim(1, 0)?)
    }

    /// The position embedding for a `side × side` patch grid: the trained grid resized
    /// bicubically (PyTorch's, scale factor `(side + 0.1) / grid`, no antialias) as DINOv2 does.
    fn positions(&self, side: usize) -> Result<Tensor> {
        let pos = &self.t["pos_embed"];
        if side == self.grid {
            return Ok(pos.clone());
        }
        let (g, d) = (self.grid, self.dim);
        // (1, g², d) → per channel g × g planes.
        let planes = pos
            .narrow(1, 1, g * g)?
            .reshape((g * g, d))?
            .t()?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let scale = (side as f64 + 0.1) / g as f64;
        let mut out = Vec::with_capacity(d * side * side);
        for plane in planes.chunks(g * g) {
            let (resized, (oh, ow)) = torch_bicubic_scaled(plane, (g, g), (scale, scale));
            if (oh, ow) != (side, side) {
                bail!("position grid {g} resized to {oh}×{ow}, not {side}");
            }
            out.extend(resized);
        }
        let patch_pos = Tensor::from_vec(out, (d, side * side), &self.device)?
            .t()?
            .reshape((1, side * side, d))?;
        Ok(Tensor::cat(&[&pos.narrow(1, 0, 1)?, &patch_pos], 1)?)
    }
}

/// Closed-form parameters, tensor number `t` being `base + scale·sin(0.37 i + 1.3 t)` over its
/// flat index `i` (the formula of `scripts/fixtures/dinov2.py`): a model for tests, without
/// the real weights.
pub fn synthetic_tensors(dim: usize, depth: usize, grid: usize) -> Result<HashMap<String, Tensor>> {
    let mut spec: Vec<(String, Vec<usize>, f64, f64)> = vec![
        ("cls_token".into(), vec![1, 1, dim], 0.5, 0.0),
        ("pos_embed".into(), vec![1, 1 + grid * grid, dim], 0.5, 0.0),
        (
            "patch_embed.proj.weight".into(),
            vec![dim, 3, 14, 14],
            0.05,
            0.0,
        ),
        ("patch_embed.proj.bias".into(), vec![dim], 0.1, 0.0),
    ];
    for b in 0..depth {
        let p = |n: &str| format!("blocks.{b}.{n}");
        spec.extend([
            (p("norm1.weight"), vec![dim], 0.1, 1.0),
            (p("norm1.bias"), vec![dim], 0.1, 0.0),
            (p("attn.qkv.weight"), vec![3 * dim, dim], 0.08, 0.0),
            (p("attn.qkv.bias"), vec![3 * dim], 0.1, 0.0),
            (p("attn.proj.weight"), vec![dim, dim], 0.08, 0.0),
            (p("attn.proj.bias"), vec![dim], 0.1, 0.0),
            (p("ls1.gamma"), vec![dim], 0.2, 0.5),
            (p("norm2.weight"), vec![dim], 0.1, 1.0),
            (p("norm2.bias"), vec![dim], 0.1, 0.0),
            (p("mlp.fc1.weight"), vec![4 * dim, dim], 0.08, 0.0),
            (p("mlp.fc1.bias"), vec![4 * dim], 0.1, 0.0),
            (p("mlp.fc2.weight"), vec![dim, 4 * dim], 0.04, 0.0),
            (p("mlp.fc2.bias"), vec![dim], 0.1, 0.0),
            (p("ls2.gamma"), vec![dim], 0.2, 0.5),
        ]);
    }
    spec.push(("norm.weight".into(), vec![dim], 0.1, 1.0));
    spec.push(("norm.bias".into(), vec![dim], 0.1, 0.0));
    spec.into_iter()
        .enumerate()
        .map(|(t, (name, shape, scale, base))| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|i| (base + scale * (0.37 * i as f64 + 1.3 * t as f64).sin()) as f32)
                .collect();
            Ok((name, Tensor::from_vec(v, shape, &Device::Cpu)?))
        })
        .collect()
}

/// Whether tensor names are a DINOv2 ViT's.
pub fn is_dinov2<'a>(names: impl Iterator<Item = &'a str>) -> bool {
    let (mut cls, mut ls) = (false, false);
    for n in names {
        cls |= n == "cls_token";
        ls |= n == "blocks.0.ls1.gamma";
    }
    cls && ls
}

fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let e = x.broadcast_sub(&x.max_keepdim(D::Minus1)?)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}
