#!/usr/bin/env python3
"""Golden fixtures for the DrQ-v2 networks from the original PBT-NAS code (AwesomeLemon/PBT-NAS).

The original has no license, so none of it is in this repository: this script imports the
original's search space (search_space/rl_normact_ss.py: RlNormActSearchSpace) and network classes
(models/rl/drqv2_nets_normact.py: EncoderNormActNAS, ActorNormActNAS, CriticNormActNAS) from a
local copy and records what they compute. crates/rl/tests/original_code.rs rebuilds pbtnas's
networks (crates/rl/src/nets) for the same genomes and compares.

For each genome (100 drawn uniformly per gene with numpy seed 31173 in the original's encoding,
plus hand-picked ones that put every op, activation, feature dim and spectral-norm setting at every
position, plus two at the paper's size: 84×84 frames, where the original's hard-coded repr_dim
32·41·41 is used, and hidden 1024) the script

  * builds the original's encoder, actor and critic as models/rl/drqv2.py's DrQV2Agent does (the
    same split of the decoded genome per network, the same feature dims), with the RL configs'
    search settings (configs/main/*run_*.yml: per-network norm, per-layer activations, 4 layers);
  * maps every key of their state_dicts to pbtnas's tensor name (`our_name` below) and sets every
    tensor, spectral norm's u and v included, to the closed-form value of that name (`fill`,
    mirrored in the Rust test), so no initialisation matters;
  * runs fixed observations and actions forward in float32 in train mode (one power iteration
    per spectral-normed layer: u first), then backward of a fixed scalar (closed-form weights on
    mu, Q1 and Q2), then forward again in eval mode (no power iteration: the updated u, v);
  * records the actor's mean and Q1/Q2 of both passes, for every trainable tensor its shape and
    the gradient's [sum of squares, dot with the tensor's own value, dot with a closed-form probe]
    (the dot with the value is ~0 for spectral-normed weights: w/σ(w) does not change along w),
    and for every u/v vector its shape and, after the training pass, [dot with its closed-form
    start, dot with the probe].

Genes are written in pbtnas's order and option indices (configs/spaces/rl.yaml); the table
`space` in the fixture pairs each of our genes with the original's position and options, and the
Rust test checks it against the real space.

Run: scripts/setup-torch.sh, then
    .venv/bin/python scripts/original_fixtures_rl.py ORIGINAL_REPO_DIR [--commit HASH]
The original's commit is read with `git -C ORIGINAL_REPO_DIR rev-parse HEAD`; a copy that is not
a git checkout needs --commit. `--calibrate` instead reruns every case in float64 and prints the
worst float32 error under the Rust test's measures (nothing is written).
Writes crates/rl/tests/fixtures/original_rl.json. First it checks that the benchmarks' PyTorch
DrQ-v2 (scripts/drq_torch.py) computes what the original's DrQ-v2 networks compute.
"""
import argparse
import contextlib
import io
import json
import math
import pathlib
import re
import subprocess
import sys
import types

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/rl/tests/fixtures/original_rl.json"

BATCH, STACK, ACTIONS = 2, 3, 3
SMALL = dict(size=15, hidden=10)  # frames 15×15 -> 7×7 features (repr 32·49), hidden 10 (×0.5 = 5)
PAPER = dict(size=84, hidden=1024)  # DrQ-v2's frames and the configs' hidden_dim
N_RANDOM, SEED = 100, 31173
CH = 32
STD = 0.5  # the actor's std argument; only its mean is recorded

# The RL configs' search settings (configs/main/{quadrun,humanrun,walkerrun}_*.yml).
MODEL_PARAMETERS = dict(
    search_norm_type="per_network", search_activ_type="per_layer",
    activation_options=["id", "tanh", "relu", "swish"],
    search_encoder=True, n_layers_encoder=4, search_actor=True, n_layers_actor=4,
    search_critic=True, n_layers_critic=4, search_q_sep_critic=True)


# ---------------------------------------------------------------------------------------------
# pbtnas's genes (configs/spaces/rl.yaml, in order) and their positions in the original's space.

def our_genes():
    """(name, options) of configs/spaces/rl.yaml's 36 genes, in the file's order."""
    act, norm, fd = ["id", "tanh", "relu", "swish"], ["none", "spectral"], ["25", "50", "100", "150"]
    linear = ["id", "linear", "residual_05", "residual_2"]
    conv = ["id"] + [f"{k}_{s}" for k in ("conv", "residual", "sep_conv") for s in (3, 5, 7)]
    g = [(f"actor.policy.{k}", linear) for k in range(1, 4)]
    g += [(f"actor.policy_activ.{k}", act) for k in range(4)]
    g += [("actor.feature_dim", fd), ("actor.trunk_activ", act), ("actor.norm", norm)]
    for q in ("Q1", "Q2"):
        for k in range(1, 4):
            g += [(f"critic.{q}.{k}", linear), (f"critic.{q}_activ.{k}", act)]
        g += [(f"critic.{q}_activ.0", act)]
    g += [("critic.feature_dim", fd), ("critic.trunk_activ", act),
          ("critic.norm_Q1", norm), ("critic.norm_Q2", norm)]
    g += [(f"encoder.convnet.{k}", conv) for k in range(1, 4)]
    g += [(f"encoder.convnet_activ.{k}", act) for k in range(4)]
    g += [("encoder.norm", norm)]
    return g


def original_position(our_gene):
    """The original's Position (as 'network:layer+layer') of one of our genes: the same names but
    for the feature dims (the positions of the layers they size) and the trunks' activations
    ('trunc_activ' in the original)."""
    net, rest = our_gene.split(".", 1)
    if rest == "feature_dim":
        rest = {"actor": "trunk+policy.0", "critic": "trunk+Q1.0+Q2.0"}[net]
    elif rest == "trunk_activ":
        rest = "trunc_activ"
    return f"{net}:{rest}"


def pos_str(p):
    return f"{p.network}:{'+'.join(p.layers)}"


def opt_str(o):
    return "none" if o is None else str(o)


# ---------------------------------------------------------------------------------------------
# Closed-form values by pbtnas tensor name (mirrored in crates/rl/tests/original_code.rs).

def fnv1a(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def wave(name, n):
    """sin(phase + 0.37 i + 0.0007 (i² mod 65521)) in float64: not low-rank when reshaped."""
    i = np.arange(n, dtype=np.int64)
    t = (i * i) % 65521
    phase = (fnv1a(name) % 100003) * 6.2831853e-5
    return np.sin(phase + 0.37 * i.astype(np.float64) + 0.0007 * t.astype(np.float64))


def fill(name, shape):
    """The float32 value of pbtnas tensor `name` of `shape`."""
    n = int(np.prod(shape))
    s = wave(name, n)
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("weight_u", "weight_v"):
        x = s.astype(np.float32).astype(np.float64)
        v = x / math.sqrt(float(np.sum(x * x)))
    elif len(shape) >= 2:
        v = (1.5 / math.sqrt(int(np.prod(shape[1:])))) * s
    elif name.endswith("ln.weight"):
        v = 1.0 + 0.2 * s
    else:
        v = 0.1 * s
    return v.astype(np.float32).reshape(shape)


def inputs(size):
    """Observations (0..255 integers as floats), actions and the upstream gradients of mu, Q1, Q2."""
    n = BATCH * 3 * STACK * size * size
    obs = np.floor(128.0 + 127.0 * np.sin(0.11 * np.arange(n, dtype=np.float64)))
    f32 = lambda name, rows, cols, scale=1.0: \
        (scale * wave(name, rows * cols)).astype(np.float32).reshape(rows, cols)
    return (obs.astype(np.float32).reshape(BATCH, 3 * STACK, size, size),
            f32("action", BATCH, ACTIONS, 0.5), f32("g_mu", BATCH, ACTIONS),
            f32("g_q1", BATCH, 1), f32("g_q2", BATCH, 1))


# ---------------------------------------------------------------------------------------------
# The original's state_dict keys -> pbtnas's tensor names.

LEAF = {"bias": "bias", "weight": "weight", "parametrizations.weight.original": "weight",
        "parametrizations.weight.0._u": "weight_u", "parametrizations.weight.0._v": "weight_v"}


def leaf(rest):
    if rest not in LEAF:
        raise KeyError(rest)
    return LEAF[rest]


def our_name(net, key, module):
    """pbtnas's name of `key` in the original's `net` module ('encoder', 'actor' or 'critic')."""
    def kind(path):  # the original class at a submodule path
        m = module
        for part in path.split("."):
            m = getattr(m, part) if not part.isdigit() else m[int(part)]
        return type(m).__name__

    if net == "encoder":
        m = re.fullmatch(r"convnet\.(\d)\.(op\.0|conv1|conv2)\.(.+)", key)
        k, sub, rest = m.groups()
        if k == "0":  # the fixed stride-2 ConvNormAct
            assert sub == "op.0"
            return f"encoder.convnet.0.{leaf(rest)}"
        cls = kind(f"convnet.{k}")
        sub = {("ConvNormAct", "op.0"): "conv", ("ConvResidual", "conv1"): "conv1",
               ("ConvResidual", "conv2"): "conv2", ("ConvSep", "conv1"): "depthwise",
               ("ConvSep", "conv2"): "pointwise"}[(cls, sub)]
        return f"encoder.convnet.{k}.{sub}.{leaf(rest)}"
    m = re.fullmatch(r"trunk\.1\.op\.([01])\.(weight|bias)", key)
    if m:  # ViewFlatten, then LinearNormAct(repr, feature_dim, 'layer'): Linear, LayerNorm
        return f"{net}.trunk.{'linear' if m.group(1) == '0' else 'ln'}.{m.group(2)}"
    if net == "actor":  # the policy's head is the actor's `head`
        m = re.fullmatch(r"()head\.(weight|bias)", key)
        mlp = r"(policy)"
    else:  # Q1_head, Q2_head
        m = re.fullmatch(r"(Q[12])_head\.(weight|bias)", key)
        mlp = r"(Q[12])"
    if m:
        return f"{net}.{m.group(1) or 'policy'}.head.{m.group(2)}"
    m = re.fullmatch(mlp + r"\.(\d)\.(op\.0|norm_input|linear1|linear2)\.(.+)", key)
    owner, k, sub, rest = m.groups()
    sub = {"op.0": "", "norm_input": "ln.", "linear1": "fc1.", "linear2": "fc2."}[sub]
    if sub == "ln.":
        assert rest in ("weight", "bias")
        return f"{net}.{owner}.{k}.ln.{rest}"
    if sub == "":
        assert kind(f"{owner}.{k}") == "LinearNormAct"
    return f"{net}.{owner}.{k}.{sub}{leaf(rest)}"


# ---------------------------------------------------------------------------------------------

def import_original(repo):
    sys.path.insert(0, str(repo))
    try:
        import ray  # noqa: F401  (utils/general.py needs it; these imports do not reach it)
    except ImportError:
        for name in ("ray", "ray.util", "ray.util.scheduling_strategies"):
            sys.modules[name] = types.ModuleType(name)
        sys.modules["ray.util"].placement_group = sys.modules["ray.util"].remove_placement_group = None
        sys.modules["ray.util.scheduling_strategies"].PlacementGroupSchedulingStrategy = None
    from models.rl.drqv2_nets_normact import ActorNormActNAS, CriticNormActNAS, EncoderNormActNAS
    from search_space.rl_normact_ss import RlNormActSearchSpace
    return RlNormActSearchSpace, EncoderNormActNAS, ActorNormActNAS, CriticNormActNAS


def check_twin(repo):
    """The benchmarks' PyTorch DrQ-v2 (scripts/drq_torch.py) must compute what the original's
    DrQ-v2 networks (models/rl/drqv2_nets_original.py) compute: the twin's tensors loaded into the
    original's classes by name (strict), encoder, actor mean and Q1/Q2 on fixed inputs."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import drq_torch
    from models.rl import drqv2_nets_original as orig

    torch.manual_seed(0)
    size, f_dim, hidden, actions = 84, 50, 32, 6
    twin_enc = drq_torch.Encoder()
    repr_dim = twin_enc(torch.zeros(1, 9, size, size)).shape[1]
    twins = [twin_enc, drq_torch.Actor(repr_dim, f_dim, hidden, actions),
             drq_torch.Critic(repr_dim, f_dim, hidden, actions)]
    origs = [orig.Encoder((9, size, size)), orig.Actor(repr_dim, (actions,), f_dim, hidden),
             orig.Critic(repr_dim, (actions,), f_dim, hidden)]
    for t, o in zip(twins, origs):
        o.load_state_dict(t.state_dict(), strict=True)
    obs = torch.rand(2, 9, size, size) * 255
    action = torch.rand(2, actions) * 2 - 1
    with torch.no_grad():
        h_t, h_o = twins[0](obs), origs[0](obs)
        pairs = [("encoder", h_t, h_o), ("actor mean", twins[1](h_t), origs[1](h_o, 1.0).mean)]
        pairs += list(zip(("Q1", "Q2"), twins[2](h_t, action), origs[2](h_o, action)))
    for what, a, b in pairs:
        err = float((a - b).abs().max() / b.abs().max().clamp(min=1e-6))
        if not err <= 1e-5:
            sys.exit(f"scripts/drq_torch.py computes another {what} than the original's DrQ-v2 "
                     f"networks (max relative error {err:.2e})")
    print("scripts/drq_torch.py agrees with the original's DrQ-v2 networks", file=sys.stderr)


def space_table(ss):
    """For each of our genes: (our name, original gene index, original position, options)."""
    ours = our_genes()
    assert len(ours) == ss.len == 36, (len(ours), ss.len)
    index = {pos_str(p): j for j, p in enumerate(ss.gene_to_pos)}
    table = []
    for name, options in ours:
        j = index[original_position(name)]
        orig = [opt_str(o) for o in ss.pos_to_options[ss.gene_to_pos[j]]]
        assert orig == options, (name, orig, options)
        table.append((name, j, pos_str(ss.gene_to_pos[j]), options))
    return table


def genomes(ss, table):
    """(case name, original genome, geometry) of every case."""
    n_opts = ss.get_n_options_per_gene()
    rng = np.random.RandomState(SEED)
    cases = [(f"random-{r}", [int(rng.randint(n)) for n in n_opts], SMALL) for r in range(N_RANDOM)]
    j_of = {name: j for name, j, _, _ in table}

    def genome(pick):
        """pick(our gene name, its trailing layer number or 0) -> option index (mod #options)."""
        g = [0] * ss.len
        for name, j in j_of.items():
            k = int(name[-1]) if name[-1].isdigit() else 0
            g[j] = pick(name, k) % n_opts[j]
        return g

    is_op = lambda n: re.fullmatch(r"(encoder\.convnet|actor\.policy|critic\.Q[12])\.\d", n)
    is_norm = lambda n: n.endswith(".norm") or ".norm_" in n
    # Every conv op (0..9: id, conv_3/5/7, residual_3/5/7, sep_conv_3/5/7) at every encoder
    # position (layer k gets op c + 3(k - 1)), every activation at every encoder activation, the
    # encoder's spectral norm on for odd c.
    for c in range(10):
        def pick(n, k, c=c):
            if n.startswith("encoder.convnet."):
                return c + 3 * (k - 1)
            if n == "encoder.norm":
                return c
            if "activ" in n:
                return c + k
            return 1 if is_op(n) else 0
        cases.append((f"encoder-ops-{c}", genome(pick), SMALL))
    # Every linear op (0..3: id, linear, residual_05, residual_2) at every MLP position with
    # spectral norm off (c < 4) and on (c >= 4) in the actor and Q1 (Q2: the other way round),
    # every activation at every MLP activation, every feature dim in both trunks.
    for c in range(8):
        def pick(n, k, c=c):
            if is_norm(n):
                return c // 4 + n.endswith("Q2")
            if n.endswith("feature_dim"):
                return c + n.startswith("critic")
            if is_op(n):
                return c + k + ("Q1" in n) + 2 * ("Q2" in n)
            if "activ" in n:
                return c + k + n.startswith("critic")
            return c
        cases.append((f"mlp-ops-{c}", genome(pick), SMALL))
    # Everything id and no spectral norm: features (through the trunks) straight into the heads.
    cases.append(("all-id", genome(lambda n, k: 1 if n.endswith("feature_dim") else 0), SMALL))
    # DrQ-v2's own shape: conv_3 x3 and ReLU in the encoder, one hidden linear layer and ReLU
    # in the MLPs, tanh trunks, feature dim 50, no spectral norm.
    drq = lambda n, k: (1 if is_op(n) and (n.startswith("encoder") or k == 1) else
                        0 if is_op(n) or is_norm(n) else
                        1 if n.endswith("trunk_activ") or n.endswith("feature_dim") else 2)
    cases.append(("drqv2-like", genome(drq), SMALL))
    # Spectral norm everywhere, the widest residuals, swish, feature dim 150.
    cases.append(("all-residual-sn", genome(lambda n, k: (
        6 if n.startswith("encoder.convnet.") else 1 if is_norm(n) else 3)), SMALL))
    # The paper's geometry: 84×84 frames (the original's repr_dim 32·41·41), hidden 1024.
    paper = lambda ops, norm: lambda n, k: (
        ops[n] if n in ops else norm if is_norm(n) else k + 1 + (norm == 0))
    cases.append(("paper-size-sn", genome(paper({
        "encoder.convnet.1": 6, "encoder.convnet.2": 9, "encoder.convnet.3": 2,
        "actor.policy.1": 3, "actor.policy.2": 2, "actor.policy.3": 1,
        "critic.Q1.1": 1, "critic.Q1.2": 3, "critic.Q1.3": 0,
        "critic.Q2.1": 2, "critic.Q2.2": 1, "critic.Q2.3": 3,
        "actor.feature_dim": 3, "critic.feature_dim": 1}, 1)), PAPER))
    cases.append(("paper-size-plain", genome(paper({
        "encoder.convnet.1": 1, "encoder.convnet.2": 4, "encoder.convnet.3": 7,
        "actor.policy.1": 1, "actor.policy.2": 0, "actor.policy.3": 3,
        "critic.Q1.1": 2, "critic.Q1.2": 1, "critic.Q1.3": 1,
        "critic.Q2.1": 1, "critic.Q2.2": 0, "critic.Q2.3": 2,
        "actor.feature_dim": 1, "critic.feature_dim": 2}, 0)), PAPER))
    return cases


def coverage(cases, table):
    """Every option of every gene occurs in some case (asserted)."""
    for name, j, _, options in table:
        seen = {g[j] for _, g, _ in cases}
        assert seen == set(range(len(options))), (name, seen)


def build(classes, ss, genome, geo):
    """The original's encoder, actor and critic for `genome`, as DrQV2Agent builds them."""
    _, Encoder, Actor, Critic = classes
    decoded = ss.decode(genome)
    part = lambda net: {k: v for k, v in decoded.items() if k.network == net}
    fd_actor = [v for k, v in part("actor").items() if k.layers == ("trunk", "policy.0")][0]
    fd_critic = [v for k, v in part("critic").items() if k.layers == ("trunk", "Q1.0", "Q2.0")][0]
    size, hidden = geo["size"], geo["hidden"]
    enc = Encoder((3 * STACK, size, size), part("encoder"), ss)
    side = (size - 3) // 2 + 1
    repr_dim = CH * side * side
    if size == 84:
        assert enc.repr_dim == repr_dim  # the original's hard-coded 32·41·41
        repr_dim = enc.repr_dim
    actor = Actor(repr_dim, (ACTIONS,), fd_actor, hidden, part("actor"), ss)
    critic = Critic(repr_dim, (ACTIONS,), fd_critic, hidden, part("critic"), True, ss)
    return {"encoder": enc, "actor": actor, "critic": critic}, repr_dim


def set_closed_form(nets, dtype):
    """Loads the closed-form values into every tensor; returns {our name: (net, original key)}."""
    names = {}
    for net, module in nets.items():
        state = module.state_dict()
        new = {}
        for key, t in state.items():
            name = our_name(net, key, module)
            assert name not in names, name
            names[name] = (net, key)
            new[key] = torch.from_numpy(fill(name, tuple(t.shape))).to(dtype)
        module.to(dtype)
        module.load_state_dict(new, strict=True)
    return names


def forward(nets, obs, action):
    rep = nets["encoder"](obs)
    mu = nets["actor"](rep, STD).mean
    q1, q2 = nets["critic"](rep, action)
    return mu, q1, q2


def run_case(classes, ss, genome, geo, dtype):
    nets, repr_dim = build(classes, ss, genome, geo)
    names = set_closed_form(nets, dtype)
    obs, action, g_mu, g_q1, g_q2 = [torch.from_numpy(x).to(dtype) for x in inputs(geo["size"])]
    for m in nets.values():
        m.train()
    mu, q1, q2 = forward(nets, obs, action)
    loss = (mu * g_mu).sum() + (q1 * g_q1).sum() + (q2 * g_q2).sum()
    loss.backward()
    # Eval mode after the training pass, with its u and v (at their closed-form start they are
    # far from the singular vectors, and σ = uᵀWv can come near 0: an ill-conditioned test).
    for m in nets.values():
        m.eval()
    with torch.no_grad():
        ev = forward(nets, obs, action)

    grads, uv, norms = {}, {}, {}
    states = {net: m.state_dict() for net, m in nets.items()}
    params = {net: dict(m.named_parameters()) for net, m in nets.items()}
    for name, (net, key) in sorted(names.items()):
        now = states[net][key]
        start = torch.from_numpy(fill(name, tuple(now.shape))).to(torch.float64).reshape(-1)
        probe = torch.from_numpy(wave("probe:" + name, start.numel()).astype(np.float32))
        probe = probe.to(torch.float64)
        norms[name] = (float(start.norm()), float(probe.norm()))
        if key in params[net]:
            g = params[net][key].grad
            assert g is not None, f"{net} {key}: no gradient"
            g = g.detach().to(torch.float64).reshape(-1)
            grads[name] = [list(now.shape), float((g * g).sum()), float((g * start).sum()),
                           float((g * probe).sum())]
        else:  # spectral norm's u or v after the training pass
            x = now.detach().to(torch.float64).reshape(-1)
            uv[name] = [list(now.shape), float((x * start).sum()), float((x * probe).sum())]
    out = lambda ts: {k: t.detach().to(torch.float64).reshape(-1).tolist()
                      for k, t in zip(("mu", "q1", "q2"), ts)}
    return dict(eval=out(ev), train=out((mu, q1, q2)), grad=grads, uv=uv), norms


def r8(x):
    if isinstance(x, float):
        return float(f"{x:.8g}")
    if isinstance(x, list):
        return [r8(v) for v in x]
    if isinstance(x, dict):
        return {k: r8(v) for k, v in x.items()}
    return x


def calibrate(a, b, norms):
    """Worst float32 (a) vs float64 (b) error under the Rust test's measures."""
    worst = {}

    def up(k, e):
        worst[k] = max(worst.get(k, 0.0), e)
    for mode in ("eval", "train"):
        for k in ("mu", "q1", "q2"):
            w, g = np.array(b[mode][k]), np.array(a[mode][k])
            floor = max(OUT_FLOOR * float(np.abs(w).max()), OUT_FLOOR)
            up("outputs", float(np.max(np.abs(g - w) / np.maximum(np.abs(w), floor))))
    for name, (_, sumsq, dot, dot_probe) in b["grad"].items():
        _, ga, da, dpa = a["grad"][name]
        up("grad sumsq", abs(ga - sumsq) / max(sumsq, SUMSQ_FLOOR))
        up("grad dots / (|g||w|)", max(abs(da - dot) / max(math.sqrt(sumsq) * norms[name][0], 1e-30),
                                       abs(dpa - dot_probe) / max(math.sqrt(sumsq) * norms[name][1], 1e-30)))
    for name, v in b["uv"].items():  # u and v are unit vectors
        for k in range(2):
            up("u/v dots / |ref|", abs(a["uv"][name][k + 1] - v[k + 1]) / norms[name][k])
    return worst


# The Rust test's relative errors (each must be <= 1e-4): outputs |got - want| / max(|want|,
# OUT_FLOOR · max |want| of the vector, OUT_FLOOR) (a Q near 0 is a difference of O(1) terms);
# sums of squares |got - want| / max(want, SUMSQ_FLOOR);
# dots |got - want| / (|x| |ref|), their Cauchy-Schwarz bound. Float32 against float64 (this
# script's --calibrate) reaches 1.5e-5, 2.3e-5, 7.8e-6 (gradients) and 1.3e-7 (u, v) on the
# fixture's cases.
OUT_FLOOR, SUMSQ_FLOOR = 0.1, 1e-20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("repo", type=pathlib.Path, help="a copy of github.com/AwesomeLemon/PBT-NAS")
    ap.add_argument("--commit", help="the copy's commit, when it is not a git checkout")
    ap.add_argument("--calibrate", action="store_true",
                    help="compare float32 with float64 and print the worst errors; write nothing")
    ap.add_argument("--out", type=pathlib.Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    git = subprocess.run(["git", "-C", str(args.repo), "rev-parse", "HEAD"], capture_output=True,
                         text=True)
    commit = git.stdout.strip() if git.returncode == 0 else None
    if commit and args.commit and commit != args.commit:
        sys.exit(f"{args.repo} is at {commit}, not {args.commit}")
    commit = commit or args.commit
    if not commit or not re.fullmatch(r"[0-9a-f]{40}", commit):
        sys.exit(f"{args.repo} is not a git checkout: give its commit with --commit")

    classes = import_original(args.repo)
    check_twin(args.repo)
    with contextlib.redirect_stdout(io.StringIO()):  # the space prints every position
        ss = classes[0]("drqv2", dict(MODEL_PARAMETERS, task="rl_normact"))
    table = space_table(ss)
    cases = genomes(ss, table)
    coverage(cases, table)
    perm = [j for _, j, _, _ in table]

    if args.calibrate:
        worst = {}
        for name, genome, geo in cases:
            a, norms = run_case(classes, ss, genome, geo, torch.float32)
            b, _ = run_case(classes, ss, genome, geo, torch.float64)
            for k, e in calibrate(a, b, norms).items():
                worst[k] = max(worst.get(k, 0.0), e)
            print(name, {k: f"{v:.2e}" for k, v in worst.items()}, flush=True)
        return

    records = []
    for name, genome, geo in cases:
        rec, _ = run_case(classes, ss, genome, geo, torch.float32)
        records.append(r8(dict(name=name, size=geo["size"], hidden=geo["hidden"],
                               genes=[genome[j] for j in perm], **rec)))
        print(f"{name}: {len(rec['grad'])} trainable tensors, {len(rec['uv'])} u/v", flush=True)

    head = dict(
        source="github.com/AwesomeLemon/PBT-NAS", commit=commit,
        script="scripts/original_fixtures_rl.py", batch=BATCH, stack=STACK, actions=ACTIONS,
        std=STD, model_parameters=MODEL_PARAMETERS,
        space=[dict(ours=n, original_gene=j, original=p, options=o) for n, j, p, o in table])
    lines = ["{"]
    for k, v in head.items():
        if k == "space":  # one gene a line
            lines += [' "space": [', ",\n".join("  " + json.dumps(row) for row in v), " ],"]
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)},")
    lines.append(' "cases": [')
    lines.append(",\n".join("  " + json.dumps(r, separators=(",", ":")) for r in records))
    lines += [" ]", "}"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out} ({len(records)} cases, {args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
