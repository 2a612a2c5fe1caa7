#!/usr/bin/env python3
"""Reference numbers for crates/report's tests, from the reference implementations:
scipy.stats.wilcoxon (the paper's plot/stat_test.py uses it), numpy mean/std (ddof 0), and
TensorBoard's own event-file writer. Writes crates/report/tests/fixtures/reference.json.

Setup: python3 -m venv .venv && .venv/bin/pip install numpy scipy tensorboard
Run:   .venv/bin/python scripts/report_reference.py
"""
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.stats import wilcoxon

OUT = Path(__file__).resolve().parent.parent / "crates/report/tests/fixtures/reference.json"

rng = np.random.default_rng(7)
cases = []


def case(name, x, y):
    for alt in ["greater", "less", "two-sided"]:
        r = wilcoxon(x, y, alternative=alt)
        cases.append({"name": name, "x": list(map(float, x)), "y": list(map(float, y)),
                      "alternative": alt, "statistic": float(r.statistic),
                      "p_value": float(r.pvalue)})


# Equal |x - y| in floating point (0.3 twice): ties.
case("ties_9", [12.1, 13.4, 11.9, 14.2, 12.8, 13.3, 12.0, 15.1, 12.6],
     [13.0, 13.9, 12.5, 14.0, 14.1, 13.0, 13.2, 16.0, 12.9])
# No ties or zeros: the exact null distribution.
case("exact_20", rng.normal(0.3, 1, 20).round(6), rng.normal(0, 1, 20).round(6))
# Ties in |x - y| with few pairs: scipy's exact sign-flip permutation test.
case("ties_8", [3, 5, 2, 6, 4, 7, 1, 9], [1, 3, 4, 4, 2, 5, 3, 8])
# A zero difference (dropped) with few pairs.
case("zero_7", [1.5, 2.5, 3.0, 4.0, 2.0, 6.0, 1.0], [1.0, 2.5, 2.0, 4.5, 1.0, 3.0, 0.5])
# Ties and many pairs: the normal approximation with tie correction.
case("ties_30", rng.integers(0, 6, 30), rng.integers(0, 5, 30))

# Made-up runs for `compare`: best-ever fitness per run, three configs x 9 seeds (the paper
# pools 3 settings x 3 seeds).
groups = {
    "made-up-pbtnas": [-12.21, -12.05, -12.40, -13.25, -11.60, -14.89, -25.11, -24.20, -26.02],
    "made-up-random": [-13.39, -13.10, -13.70, -16.79, -15.80, -17.78, -28.58, -26.81, -30.35],
    "made-up-searl": [-11.90, -12.76, -14.80, -13.00, -13.50, -14.50, -26.94, -25.01, -27.87],
}
compare = {"groups": [], "tests": []}
for name, v in groups.items():
    a = np.array(v)
    compare["groups"].append({"name": name, "scores": v, "mean": float(a.mean()),
                              "std": float(a.std(ddof=0))})
first = np.array(groups["made-up-pbtnas"])
for name in ["made-up-random", "made-up-searl"]:
    r = wilcoxon(first, np.array(groups[name]), alternative="greater")
    compare["tests"].append({"against": name, "statistic": float(r.statistic),
                             "p_value": float(r.pvalue)})

# TensorBoard's own writer, with fixed wall times.
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: E402

scalars = [("fitness", 1, 1700000001.5, -14.5), ("metrics/train/g_loss", 1, 1700000001.5, 0.6931),
           ("fitness", 2, 1700000100.25, -9.75), ("fitness", 300, 1700009999.0, 123456.0)]
with tempfile.TemporaryDirectory() as d:
    real_time = time.time
    time.time = lambda: 1700000000.0
    w = EventFileWriter(d)
    time.time = real_time
    for tag, step, wall, value in scalars:
        s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
        w.add_event(event_pb2.Event(wall_time=wall, step=step, summary=s))
    w.close()
    (f,) = os.listdir(d)
    events = (Path(d) / f).read_bytes()

OUT.write_text(json.dumps({
    "versions": {"scipy": scipy.__version__, "numpy": np.__version__},
    "wilcoxon": cases,
    "compare": compare,
    "tensorboard": {"start": 1700000000.0,
                    "scalars": [{"tag": t, "step": s, "wall_time": w, "value": v} for t, s, w, v in scalars],
                    "file_hex": events.hex()},
}, indent=1) + "\n")
print(f"wrote {OUT}")
