#!/usr/bin/env python3
"""Reference precision, recall, density and coverage for crates/metrics/tests/prdc.rs, computed
by the reference implementations on fixed feature sets: the `prdc` package (0.2; Naeem et al.
2020) for all four, and torch-fidelity (0.4; Kynkäänniemi et al. 2019) for precision and recall.
Writes crates/metrics/tests/fixtures/prdc.json: the f32 feature sets (seeded numpy, each value
written as the shortest decimal that reads back as the same f32) and the scores. Usage: .venv/bin/pip install prdc torch-fidelity && .venv/bin/python scripts/prdc_reference.py
"""
import json
import os

import numpy as np
import prdc
import torch
from torch_fidelity.metric_prc import prc_features_to_metric

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "metrics", "tests", "fixtures")
rng = np.random.default_rng(31173)
n, d = 300, 16
real = rng.standard_normal((n, d)).astype(np.float32)
sets = {
    "real": real,
    # the same distribution
    "same": rng.standard_normal((250, d)).astype(np.float32),
    # mode collapse: jittered copies of 5 real samples
    "collapsed": (real[rng.integers(0, n, 250) % 5] + 0.05 * rng.standard_normal((250, d))).astype(np.float32),
    # shifted and narrowed
    "shifted": (0.6 * rng.standard_normal((250, d)) + 0.8).astype(np.float32),
}
cases = {}
for name in ("same", "collapsed", "shifted"):
    fake = sets[name]
    pr = prdc.compute_prdc(real, fake, nearest_k=3)
    dc = prdc.compute_prdc(real, fake, nearest_k=5)
    tf = prc_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=3,
                                prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    cases[name] = {
        "prdc_k3": {k: float(v) for k, v in pr.items()},
        "prdc_k5": {k: float(v) for k, v in dc.items()},
        "torch_fidelity_k3": {"precision": tf["precision"], "recall": tf["recall"]},
    }
with open(os.path.join(OUT, "prdc.json"), "w") as f:
    features = {k: {"shape": list(v.shape),
                    "values": [float(np.format_float_positional(x, unique=True)) for x in v.ravel()]}
                for k, v in sets.items()}
    json.dump({"source": "scripts/prdc_reference.py (prdc 0.2, torch-fidelity 0.4.0)", "cases": cases,
               "features": features}, f, indent=1)
print(json.dumps(cases, indent=1))

