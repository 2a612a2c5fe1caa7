#!/usr/bin/env python3
"""The workloads of benches/workloads.rs in PyTorch (CPU, float32), one JSON line each.

Usage: .venv/bin/python scripts/bench/ops-torch.py [--reps N] [--threads T] [--filter TEXT]
(scripts/setup/torch.sh installs PyTorch into .venv.)
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--filter", default="")
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def randn(*s, grad=False):
    return torch.randn(*s).requires_grad_(grad)


def conv(x_shape, w_shape, backward, input_grad, **kw):
    x = randn(*x_shape, grad=input_grad)
    w = (torch.randn(*w_shape) * 0.05).requires_grad_()

    def run():
        y = F.conv2d(x, w, **kw)
        if backward:
            y.sum().backward()
    return run


def workloads():
    a, b = randn(2048, 2048), randn(2048, 2048)
    yield "matmul 2048^3", lambda: a @ b
    for name, s, bwd in [("conv 256->256 @32 b64 fwd", (64, 256, 32, 32), False),
                         ("conv 256->256 @32 b64 fwd+bwd", (64, 256, 32, 32), True),
                         ("conv 256->256 @16 b64 fwd+bwd", (64, 256, 16, 16), True),
                         ("conv 128->128 @32 b64 fwd+bwd", (64, 128, 32, 32), True)]:
        yield name, conv(s, (s[1], s[1], 3, 3), bwd, True, padding=1)
    yield "drq conv 9->32 s2 @84 b256 fwd+bwd", conv((256, 9, 84, 84), (32, 9, 3, 3), True, False, stride=2)
    yield "drq conv 32->32 @41 b256 fwd+bwd", conv((256, 32, 41, 41), (32, 32, 3, 3), True, True)
    xt, wt = randn(64, 256, 16, 16, grad=True), (torch.randn(256, 256, 4, 4) * 0.05).requires_grad_()
    yield "conv_transpose k4 s2 256 16->32 b64 fwd+bwd", lambda: F.conv_transpose2d(xt, wt, stride=2, padding=1).sum().backward()
    xb, g, bb, up = randn(64, 256, 32, 32, grad=True), torch.ones(256, requires_grad=True), torch.zeros(256, requires_grad=True), torch.randn(64, 256, 32, 32)
    yield "batch norm train (64,256,32,32) fwd+bwd", lambda: (F.batch_norm(xb, None, None, g, bb, training=True) * up).sum().backward()
    yield "batch norm train (64,256,32,32) fwd+bwd, gradient given", lambda: F.batch_norm(xb, None, None, g, bb, training=True).backward(up)
    xu, gu = randn(80, 256, 16, 16, grad=True), torch.randn(80, 256, 32, 32)
    yield "bilinear upsample x2 (80,256,16,16) fwd+bwd, gradient given", lambda: F.interpolate(xu, scale_factor=2, mode="bilinear", align_corners=False).backward(gu)


for name, run in workloads():
    if args.filter not in name:
        continue
    run()
    times = []
    for _ in range(args.reps):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"name": name, "median_s": times[len(times) // 2], "times_s": times}), flush=True)
