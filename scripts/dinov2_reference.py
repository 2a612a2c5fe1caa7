#!/usr/bin/env python3
"""Reference values for crates/metrics/tests/dinov2.rs: DINOv2 features (the CLS token after the
final norm, as FD-DINOv2 takes them, Stein et al. 2023 / dgm-eval) of a small ViT whose
parameters are a closed-form formula (the same in the Rust test), computed by a forward written
after facebookresearch/dinov2's `DinoVisionTransformer` (LayerNorm eps 1e-6, LayerScale, exact
GELU, the position embedding resized bicubically with the 0.1 offset and no antialias), and the
preprocessing of dgm-eval (PIL bicubic resize of the uint8 image, /255, ImageNet normalisation).
Needs torch and Pillow:
    .venv/bin/pip install torch pillow && .venv/bin/python scripts/dinov2_reference.py
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

DIM, DEPTH, GRID, PATCH = 128, 2, 4, 14  # two heads of 64, a 4x4 position grid (56 px)
SIZE = 42  # images are resized to 42 px: a 3x3 patch grid, so the positions are interpolated


def param(shape, t, scale, base=0.0):
    """Tensor number t of the model: base + scale * sin(0.37 i + 1.3 t) over its flat index i."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    return torch.tensor(base + scale * np.sin(0.37 * i + 1.3 * t), dtype=torch.float32).reshape(shape)


def model_params():
    """Name -> tensor, in the official checkpoint's names; the order fixes each tensor's t."""
    names = [("cls_token", (1, 1, DIM), 0.5, 0.0), ("pos_embed", (1, 1 + GRID * GRID, DIM), 0.5, 0.0),
             ("patch_embed.proj.weight", (DIM, 3, PATCH, PATCH), 0.05, 0.0), ("patch_embed.proj.bias", (DIM,), 0.1, 0.0)]
    for b in range(DEPTH):
        p = f"blocks.{b}."
        names += [(p + "norm1.weight", (DIM,), 0.1, 1.0), (p + "norm1.bias", (DIM,), 0.1, 0.0),
                  (p + "attn.qkv.weight", (3 * DIM, DIM), 0.08, 0.0), (p + "attn.qkv.bias", (3 * DIM,), 0.1, 0.0),
                  (p + "attn.proj.weight", (DIM, DIM), 0.08, 0.0), (p + "attn.proj.bias", (DIM,), 0.1, 0.0),
                  (p + "ls1.gamma", (DIM,), 0.2, 0.5),
                  (p + "norm2.weight", (DIM,), 0.1, 1.0), (p + "norm2.bias", (DIM,), 0.1, 0.0),
                  (p + "mlp.fc1.weight", (4 * DIM, DIM), 0.08, 0.0), (p + "mlp.fc1.bias", (4 * DIM,), 0.1, 0.0),
                  (p + "mlp.fc2.weight", (DIM, 4 * DIM), 0.04, 0.0), (p + "mlp.fc2.bias", (DIM,), 0.1, 0.0),
                  (p + "ls2.gamma", (DIM,), 0.2, 0.5)]
    names += [("norm.weight", (DIM,), 0.1, 1.0), ("norm.bias", (DIM,), 0.1, 0.0)]
    return {n: param(s, t, scale, base) for t, (n, s, scale, base) in enumerate(names)}


def images(n):
    """n uint8 RGB 20x20 images: a closed-form pattern."""
    y, x = np.meshgrid(np.arange(20), np.arange(20), indexing="ij")
    out = []
    for k in range(n):
        chans = [127.5 + 127.5 * np.sin(0.3 * x + 0.5 * y * (c + 1) + k) for c in range(3)]
        out.append(np.clip(np.round(np.stack(chans, -1)), 0, 255).astype(np.uint8))
    return out


def preprocess(img, size):
    """dgm-eval: PIL bicubic resize of the uint8 image, ToTensor, ImageNet normalisation."""
    r = np.asarray(Image.fromarray(img).resize((size, size), Image.BICUBIC), dtype=np.float32) / 255.0
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return torch.tensor(((r - mean) / std).transpose(2, 0, 1), dtype=torch.float32)


def forward(p, x):
    b, _, h, w = x.shape
    t = F.conv2d(x, p["patch_embed.proj.weight"], p["patch_embed.proj.bias"], stride=PATCH)
    t = t.flatten(2).transpose(1, 2)
    t = torch.cat([p["cls_token"].expand(b, -1, -1), t], 1)
    pos = p["pos_embed"]
    cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
    w0, h0 = w // PATCH, h // PATCH
    sx, sy = (w0 + 0.1) / GRID, (h0 + 0.1) / GRID
    patch_pos = F.interpolate(patch_pos.reshape(1, GRID, GRID, DIM).permute(0, 3, 1, 2),
                              scale_factor=(sx, sy), mode="bicubic", antialias=False)
    patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, -1, DIM)
    t = t + torch.cat([cls_pos, patch_pos], 1)
    heads = DIM // 64
    for i in range(DEPTH):
        q = f"blocks.{i}."
        y = F.layer_norm(t, (DIM,), p[q + "norm1.weight"], p[q + "norm1.bias"], eps=1e-6)
        qkv = F.linear(y, p[q + "attn.qkv.weight"], p[q + "attn.qkv.bias"])
        qkv = qkv.reshape(b, -1, 3, heads, 64).permute(2, 0, 3, 1, 4)
        a = torch.softmax((qkv[0] * 64 ** -0.5) @ qkv[1].transpose(-2, -1), -1) @ qkv[2]
        a = F.linear(a.transpose(1, 2).reshape(b, -1, DIM), p[q + "attn.proj.weight"], p[q + "attn.proj.bias"])
        t = t + p[q + "ls1.gamma"] * a
        y = F.layer_norm(t, (DIM,), p[q + "norm2.weight"], p[q + "norm2.bias"], eps=1e-6)
        y = F.linear(F.gelu(F.linear(y, p[q + "mlp.fc1.weight"], p[q + "mlp.fc1.bias"])),
                     p[q + "mlp.fc2.weight"], p[q + "mlp.fc2.bias"])
        t = t + p[q + "ls2.gamma"] * y
    t = F.layer_norm(t, (DIM,), p["norm.weight"], p["norm.bias"], eps=1e-6)
    return t[:, 0]


def main():
    torch.set_grad_enabled(False)
    p = model_params()
    imgs = images(3)
    x = torch.stack([preprocess(i, SIZE) for i in imgs])
    feats = forward(p, x)
    # PIL's bicubic resize alone, on a float image (no uint8 rounding), up and down.
    small = np.sin(0.7 * np.arange(35, dtype=np.float32)).reshape(5, 7) * 100 + 100
    up = np.asarray(Image.fromarray(small, mode="F").resize((11, 9), Image.BICUBIC))
    out = {
        "dim": DIM, "depth": DEPTH, "grid": GRID, "size": SIZE,
        "images": [i.tolist() for i in imgs],
        "features": feats.flatten().tolist(),
        "resize": {"input": small.tolist(), "output": up.tolist()},
    }
    path = os.path.join(os.path.dirname(__file__), "..", "crates", "metrics", "tests", "fixtures", "dinov2.json")
    with open(path, "w") as f:
        json.dump(out, f)
    # The same parameters as a torch.save checkpoint, for the import test when asked.
    if os.environ.get("DINOV2_PTH"):
        torch.save(p, os.environ["DINOV2_PTH"])
    print(f"wrote {path}: features {tuple(feats.shape)}, |f| max {feats.abs().max():.3f}")


if __name__ == "__main__":
    main()
