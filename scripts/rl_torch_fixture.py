#!/usr/bin/env python3
"""PyTorch reference for the DrQ-v2 networks of crates/rl (spec §4.3), forward and backward.

Builds, in float64 PyTorch, encoder + actor + twin critic for one architecture of the 36-gene
space that uses every op kind (conv, residual, separable conv, id; linear, residual x0.5/x2, id),
every activation and spectral norm on some networks. Parameters, observations, actions and the
upstream gradients are closed-form (`value(name, i)` below, mirrored in crates/rl/tests/
nets_vs_torch.rs), so the fixture holds only results: the actor's mean, Q1, Q2, and for every
tensor three projections of its gradient (and of the updated spectral-norm vectors).

Run: scripts/setup-torch.sh, then .venv/bin/python scripts/rl_torch_fixture.py
Writes crates/rl/tests/fixtures/nets_torch.json.
"""
import json
import math
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

B, STACK, SIZE, HIDDEN, ACTIONS = 3, 3, 12, 8, 2
CH = 32
GENOME = {
    "encoder.convnet.1": "residual_3", "encoder.convnet.2": "sep_conv_5", "encoder.convnet.3": "conv_3",
    "encoder.convnet_activ.0": "relu", "encoder.convnet_activ.1": "swish",
    "encoder.convnet_activ.2": "tanh", "encoder.convnet_activ.3": "id", "encoder.norm": "spectral",
    "actor.feature_dim": "25", "actor.trunk_activ": "swish", "actor.norm": "spectral",
    "actor.policy.1": "residual_05", "actor.policy.2": "linear", "actor.policy.3": "id",
    "actor.policy_activ.0": "tanh", "actor.policy_activ.1": "relu", "actor.policy_activ.2": "swish",
    "actor.policy_activ.3": "id",
    "critic.feature_dim": "25", "critic.trunk_activ": "tanh",
    "critic.norm_Q1": "spectral", "critic.norm_Q2": "none",
    "critic.Q1.1": "residual_2", "critic.Q1.2": "id", "critic.Q1.3": "linear",
    "critic.Q1_activ.0": "relu", "critic.Q1_activ.1": "tanh", "critic.Q1_activ.2": "id",
    "critic.Q1_activ.3": "swish",
    "critic.Q2.1": "linear", "critic.Q2.2": "linear", "critic.Q2.3": "residual_05",
    "critic.Q2_activ.0": "swish", "critic.Q2_activ.1": "relu", "critic.Q2_activ.2": "relu",
    "critic.Q2_activ.3": "tanh",
}


def name_phase(name):
    return sum(name.encode()) % 97 * 0.013


def value(name, n, scale):
    """The closed-form values of a tensor: scale * sin(0.37 i + phase(name)), rounded to f32."""
    i = np.arange(n, dtype=np.float64)
    return (scale * np.sin(0.37 * i + name_phase(name))).astype(np.float32).astype(np.float64)


P = {}


def param(name, shape, kind):
    n = int(np.prod(shape))
    scale = {"weight": 0.3, "bias": 0.1, "uv": 1.0}[kind]
    v = value(name, n, scale)
    if name.endswith("ln.weight"):
        v = 1.0 + v
    t = torch.tensor(v.reshape(shape), requires_grad=kind != "uv")
    P[name] = t
    return t


def act(a, x):
    return {"id": lambda x: x, "tanh": torch.tanh, "relu": F.relu, "swish": F.silu}[a](x)


def power_iteration(w, u, v):
    wm = w.detach().reshape(w.shape[0], -1)
    v.copy_(F.normalize(wm.t() @ u, dim=0, eps=1e-12))
    u.copy_(F.normalize(wm @ v, dim=0, eps=1e-12))


class SN:
    """A switchable spectral norm with PyTorch's power iteration (one per training forward); one
    iteration at construction, as the Rust layers run."""

    def __init__(self, prefix, w, sn):
        self.w, self.sn = w, sn
        with torch.no_grad():
            self.u = param(prefix + ".weight_u", (w.shape[0],), "uv")
            self.v = param(prefix + ".weight_v", (w[0].numel(),), "uv")
            if sn:
                power_iteration(w, self.u, self.v)

    def get(self):
        if not self.sn:
            return self.w
        with torch.no_grad():
            power_iteration(self.w, self.u, self.v)
        sigma = torch.dot(self.u, self.w.reshape(self.w.shape[0], -1) @ self.v)
        return self.w / sigma


def linear(prefix, din, dout, sn):
    w = param(prefix + ".weight", (dout, din), "weight")
    b = param(prefix + ".bias", (dout,), "bias")
    s = SN(prefix, w, sn) if sn is not None else None
    return lambda x: x @ (s.get() if s else w).t() + b


def layer_norm(prefix, d):
    g, b = param(prefix + ".weight", (d,), "weight"), param(prefix + ".bias", (d,), "bias")
    return lambda x: F.layer_norm(x, (d,), g, b, 1e-5)


def conv(prefix, cin, cout, k, stride, pad, groups, sn):
    w = param(prefix + ".weight", (cout, cin // groups, k, k), "weight")
    b = param(prefix + ".bias", (cout,), "bias")
    s = SN(prefix, w, sn)
    return lambda x: F.conv2d(x, s.get(), b, stride=stride, padding=pad, groups=groups)


def conv_op(prefix, op, sn):
    if op == "id":
        return lambda x, a: x
    kind, k = op.rsplit("_", 1)
    k = int(k)
    if kind == "conv":
        c = conv(prefix + ".conv", CH, CH, k, 1, k // 2, 1, sn)
        return lambda x, a: act(a, c(x))
    if kind == "residual":
        c1 = conv(prefix + ".conv1", CH, CH, k, 1, k // 2, 1, sn)
        c2 = conv(prefix + ".conv2", CH, CH, k, 1, k // 2, 1, sn)
        return lambda x, a: act(a, c2(act(a, c1(x))) + x)
    dw = conv(prefix + ".depthwise", CH, CH, k, 1, k // 2, CH, sn)
    pw = conv(prefix + ".pointwise", CH, CH, 1, 1, 0, 1, sn)
    return lambda x, a: act(a, pw(dw(x)))


def linear_op(prefix, op, sn):
    if op == "id":
        return lambda x, a: x
    if op == "linear":
        l = linear(prefix, HIDDEN, HIDDEN, sn)
        return lambda x, a: act(a, l(x))
    wide = HIDDEN // 2 if op == "residual_05" else HIDDEN * 2
    ln = layer_norm(prefix + ".ln", HIDDEN)
    f1, f2 = linear(prefix + ".fc1", HIDDEN, wide, sn), linear(prefix + ".fc2", wide, HIDDEN, sn)
    return lambda x, a: f2(act(a, f1(ln(x)))) + x


def mlp(prefix, din, dout, ops, acts, sn):
    l0 = linear(prefix + ".0", din, HIDDEN, sn)
    layers = [linear_op(f"{prefix}.{i + 1}", op, sn) for i, op in enumerate(ops)]
    head = linear(prefix + ".head", HIDDEN, dout, None)

    def f(x):
        h = act(acts[0], l0(x))
        for layer, a in zip(layers, acts[1:]):
            h = layer(h, a)
        return head(h)
    return f


def trunk(prefix, repr_dim, fd, a):
    l, ln = linear(prefix + ".linear", repr_dim, fd, None), layer_norm(prefix + ".ln", fd)
    return lambda x: act(a, ln(l(x)))


g = GENOME
sn_enc = g["encoder.norm"] == "spectral"
c0 = conv("encoder.convnet.0", 3 * STACK, CH, 3, 2, 0, 1, sn_enc)
enc_layers = [conv_op(f"encoder.convnet.{k}", g[f"encoder.convnet.{k}"], sn_enc) for k in (1, 2, 3)]
enc_acts = [g[f"encoder.convnet_activ.{k}"] for k in range(4)]
side = (SIZE - 3) // 2 + 1
repr_dim = CH * side * side

fa, fc = int(g["actor.feature_dim"]), int(g["critic.feature_dim"])
actor_trunk = trunk("actor.trunk", repr_dim, fa, g["actor.trunk_activ"])
policy = mlp("actor.policy", fa, ACTIONS, [g[f"actor.policy.{k}"] for k in (1, 2, 3)],
             [g[f"actor.policy_activ.{k}"] for k in range(4)], g["actor.norm"] == "spectral")
critic_trunk = trunk("critic.trunk", repr_dim, fc, g["critic.trunk_activ"])
qs = [mlp(f"critic.{q}", fc + ACTIONS, 1, [g[f"critic.{q}.{k}"] for k in (1, 2, 3)],
          [g[f"critic.{q}_activ.{k}"] for k in range(4)], g[f"critic.norm_{q}"] == "spectral")
      for q in ("Q1", "Q2")]

obs = torch.tensor(np.floor(128 + 127 * np.sin(0.11 * np.arange(B * 3 * STACK * SIZE * SIZE)))
                   .reshape(B, 3 * STACK, SIZE, SIZE))
action = torch.tensor(value("action", B * ACTIONS, 0.5).reshape(B, ACTIONS))

h = act(enc_acts[0], c0(obs / 255.0 - 0.5))
for layer, a in zip(enc_layers, enc_acts[1:]):
    h = layer(h, a)
rep = h.flatten(1)
mu = torch.tanh(policy(actor_trunk(rep)))
hc = torch.cat([critic_trunk(rep), action], 1)
q1, q2 = qs[0](hc), qs[1](hc)
loss = ((mu * torch.tensor(value("g_mu", B * ACTIONS, 1.0).reshape(B, ACTIONS))).sum()
        + (q1 * torch.tensor(value("g_q1", B, 1.0).reshape(B, 1))).sum()
        + (q2 * torch.tensor(value("g_q2", B, 1.0).reshape(B, 1))).sum())
loss.backward()


def projections(name, t):
    t = t.detach().reshape(-1)
    probe = torch.tensor(value("probe:" + name, t.numel(), 1.0))
    return [float(t.sum()), float((t * probe).sum()), float((t * t).sum())]


tensors = {}
for name, t in sorted(P.items()):
    if name.endswith(("weight_u", "weight_v")):
        tensors[name] = {"value": projections(name, t)}
    else:
        tensors[name] = {"grad": projections(name, t.grad)}

out = dict(batch=B, stack=STACK, size=SIZE, hidden=HIDDEN, actions=ACTIONS, genome=GENOME,
           mu=mu.detach().reshape(-1).tolist(), q1=q1.detach().reshape(-1).tolist(),
           q2=q2.detach().reshape(-1).tolist(), tensors=tensors)
path = pathlib.Path(__file__).resolve().parent.parent / "crates/rl/tests/fixtures/nets_torch.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path} ({len(tensors)} tensors, repr {repr_dim})")
