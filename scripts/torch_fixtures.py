#!/usr/bin/env python3
"""Reference values from PyTorch for the CPU kernels in crates/nn/src/ops.

Writes crates/nn/tests/fixtures/torch_ops.json: for a grid of shapes, the inputs (float32 values),
an upstream gradient, and PyTorch's outputs and gradients computed in float64.
Run: scripts/setup-torch.sh, then .venv/bin/python scripts/torch_fixtures.py
"""
import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(20261128)


def arr(*shape):
    return torch.tensor(rng.standard_normal(shape).astype(np.float32), dtype=torch.float64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def kernel(k):
    """A kernel size: k, or (kh, kw)."""
    return (k, k) if isinstance(k, int) else k


def conv2d_case(n, c, h, w, o, k, stride, padding, dilation, groups):
    x, wt = arr(n, c, h, w).requires_grad_(), arr(o, c // groups, *kernel(k)).requires_grad_()
    y = F.conv2d(x, wt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    gy = arr(*y.shape)
    y.backward(gy)
    return dict(x_shape=list(x.shape), w_shape=list(wt.shape), stride=stride, padding=padding,
                dilation=dilation, groups=groups, output_padding=0, x=flat(x), w=flat(wt),
                y_shape=list(y.shape), y=flat(y), gy=flat(gy), gx=flat(x.grad), gw=flat(wt.grad))


def conv_t_case(n, cin, h, w, cout, k, stride, padding, output_padding, dilation, groups):
    x, wt = arr(n, cin, h, w).requires_grad_(), arr(cin, cout // groups, *kernel(k)).requires_grad_()
    y = F.conv_transpose2d(x, wt, stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, groups=groups)
    gy = arr(*y.shape)
    y.backward(gy)
    return dict(x_shape=list(x.shape), w_shape=list(wt.shape), stride=stride, padding=padding,
                dilation=dilation, groups=groups, output_padding=output_padding, x=flat(x),
                w=flat(wt), y_shape=list(y.shape), y=flat(y), gy=flat(gy), gx=flat(x.grad),
                gw=flat(wt.grad))


def bn_case(shape, eps=1e-5):
    c = shape[1]
    x, g, b = arr(*shape).requires_grad_(), arr(c).requires_grad_(), arr(c).requires_grad_()
    y = F.batch_norm(x, None, None, g, b, training=True, eps=eps)
    gy = arr(*shape)
    y.backward(gy)
    dims = [0] + list(range(2, len(shape)))
    return dict(shape=list(shape), eps=eps, x=flat(x), gamma=flat(g), beta=flat(b), gy=flat(gy),
                y=flat(y), gx=flat(x.grad), ggamma=flat(g.grad), gbeta=flat(b.grad),
                mean=flat(x.mean(dims)), var=flat(x.var(dims, unbiased=False)))


def sn_case(shape, iters=1):
    """torch.nn.utils.spectral_norm (the old API PBT-NAS uses) in training mode: one forward
    updates u, v (v first, then u) and divides the weight by sigma = u . W v."""
    import torch.nn.utils as U
    w = arr(*shape)
    conv = torch.nn.Conv2d(shape[1], shape[0], shape[2], bias=False).double() if len(shape) == 4 else torch.nn.Linear(shape[1], shape[0], bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(w)
    U.spectral_norm(conv, n_power_iterations=iters)
    u_in, v_in = arr(shape[0]), arr(int(np.prod(shape[1:])))
    with torch.no_grad():
        conv.weight_u.copy_(u_in / u_in.norm())
        conv.weight_v.copy_(v_in / v_in.norm())
    u_start, v_start = conv.weight_u.clone(), conv.weight_v.clone()
    conv.train()
    hook = conv._forward_pre_hooks[next(iter(conv._forward_pre_hooks))]
    hook(conv, None)
    w_sn = conv.weight
    g = arr(*shape)
    (w_sn * g).sum().backward()
    return dict(shape=list(shape), w=flat(w), u=flat(u_start), v=flat(v_start), w_sn=flat(w_sn),
                u_new=flat(conv.weight_u), v_new=flat(conv.weight_v), g=flat(g), gw=flat(conv.weight_orig.grad))


def ln_case(shape, eps=1e-5):
    d = shape[-1]
    x, g, b = arr(*shape).requires_grad_(), arr(d).requires_grad_(), arr(d).requires_grad_()
    y = F.layer_norm(x, (d,), g, b, eps)
    gy = arr(*shape)
    y.backward(gy)
    return dict(shape=list(shape), eps=eps, x=flat(x), gamma=flat(g), beta=flat(b), gy=flat(gy), y=flat(y),
                gx=flat(x.grad), ggamma=flat(g.grad), gbeta=flat(b.grad))


def upsample_case(shape, mode):
    x = arr(*shape).requires_grad_()
    y = F.interpolate(x, scale_factor=2, mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
    gy = arr(*y.shape)
    y.backward(gy)
    return dict(shape=list(shape), bilinear=mode == "bilinear", x=flat(x), gy=flat(gy), y=flat(y),
                gx=flat(x.grad))


fixtures = dict(
    torch_version=torch.__version__,
    conv2d=[
        conv2d_case(2, 3, 7, 6, 4, 3, 1, 1, 1, 1),
        conv2d_case(1, 4, 9, 9, 6, 3, 2, 1, 1, 2),   # batch 1, stride 2, groups 2
        conv2d_case(2, 6, 8, 7, 6, 3, 1, 2, 2, 6),   # depthwise, dilation 2
        conv2d_case(2, 3, 5, 5, 2, 1, 1, 0, 1, 1),   # 1x1
        conv2d_case(1, 2, 10, 8, 3, 5, 3, 2, 1, 1),  # k5 stride 3
        conv2d_case(3, 4, 6, 6, 4, 4, 2, 1, 1, 1),   # even kernel
        conv2d_case(2, 9, 11, 11, 5, 3, 2, 0, 1, 1),  # DrQ-like first layer, odd size
        conv2d_case(2, 3, 6, 9, 4, (1, 7), 1, (0, 3), 1, 1),  # Inception 1x7, padding (h, w)
        conv2d_case(1, 4, 9, 7, 4, (3, 1), 2, (1, 0), 1, 2),  # 3x1 stride 2, groups 2
    ],
    conv_transpose2d=[
        conv_t_case(2, 4, 4, 4, 3, 4, 2, 1, 0, 1, 1),   # GAN upsampling k4 s2 p1
        conv_t_case(1, 3, 5, 4, 6, 3, 2, 1, 1, 1, 1),   # output_padding 1
        conv_t_case(2, 4, 3, 3, 4, 3, 1, 1, 0, 2, 2),   # dilation 2, groups 2
        conv_t_case(2, 2, 3, 5, 3, 1, 1, 0, 0, 1, 1),   # 1x1
        conv_t_case(2, 3, 4, 5, 2, (3, 1), 2, (1, 0), 1, 1, 1),  # 3x1, padding (h, w)
    ],
    batch_norm=[bn_case((4, 3, 5, 5)), bn_case((16, 6)), bn_case((1, 2, 3, 7))],
    spectral_norm=[sn_case((4, 3, 3, 3)), sn_case((5, 7))],
    layer_norm=[ln_case((6, 50)), ln_case((2, 3, 9))],
    upsample2x=[upsample_case((2, 3, 4, 5), "bilinear"), upsample_case((1, 2, 1, 3), "bilinear"),
                upsample_case((1, 1, 2, 1), "bilinear"), upsample_case((2, 3, 3, 4), "nearest")],
)
out = pathlib.Path(__file__).resolve().parent.parent / "crates/nn/tests/fixtures/torch_ops.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(fixtures))
print(f"wrote {out} ({out.stat().st_size} bytes) with torch {torch.__version__}")
