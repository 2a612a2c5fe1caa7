#!/usr/bin/env python3
"""Reference values for crates/metrics/tests/closed_form.rs: the statistics and the Fréchet
distance of two deterministic feature sets (the same formula in the Rust test), computed the way
pytorch-fid / clean-fid do (np.cov, scipy.linalg.sqrtm). Needs numpy and scipy:
    .venv/bin/pip install numpy scipy && .venv/bin/python scripts/frechet_fixture.py
"""
import warnings

import numpy as np
from scipy import linalg


def features(n, d, a, b, c):
    i = np.arange(n)[:, None].astype(np.float64)
    j = np.arange(d)[None, :].astype(np.float64)
    x = np.sin(a * i + b * j) + 0.5 * np.cos(c * i * j) + 0.01 * j
    return x.astype(np.float32).astype(np.float64)


def fid(x, y):
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean), s1


warnings.filterwarnings("ignore", category=DeprecationWarning)
for name, (n1, n2) in {"full rank": (200, 150), "rank deficient": (10, 12)}.items():
    x = features(n1, 24, 0.37, 1.3, 0.11)
    y = features(n2, 24, 0.23, 0.7, 0.05)
    v, s1 = fid(x, y)
    print(f"{name}: FD {v:.12f}  sigma1[3,5] {s1[3, 5]:.15f}  mu1[7] {x.mean(0)[7]:.15f}")

