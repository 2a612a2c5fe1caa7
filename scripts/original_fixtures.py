#!/usr/bin/env python3
"""Golden fixtures from the original PBT-NAS code (github.com/AwesomeLemon/PBT-NAS).

The original has no license, so none of it is in this repository: this script imports its model
classes from a local copy and records what they compute. For each genome (drawn from a fixed seed,
plus hand-picked ones that reach every branch of the discriminator block, the ×4 bilinear
projection and the in-place skip add) it builds the original's networks at a small geometry, sets
every tensor to a closed-form value that the Rust tests compute too (`fill` below, by pbtnas's
tensor name), runs fixed inputs forward and a fixed scalar backward, and writes sampled outputs and
per-tensor gradient projections to crates/gan/tests/fixtures/original_gan.json.gz (gzipped JSON,
mtime 0, so a rerun gives the same bytes), with the
original's commit. First it checks that the benchmarks' PyTorch twin (scripts/gan_torch.py)
computes what the original computes on configs/gan/bench_genome.txt.

Run: scripts/setup-torch.sh, then .venv/bin/python scripts/original_fixtures.py ORIGINAL_REPO_DIR
"""
import contextlib
import gzip
import io
import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/gan/tests/fixtures/original_gan.json.gz"

# The small geometry of the tests: 16×16 images, the paper's structure (3 cells, 4 D blocks).
GEO = dict(gf_dim=4, df_dim=4, bottom_width=2, latent_dim=12, n_cells=3, n_cells_discr=4)
BATCH = 3
SAMPLES = 48  # output / input-gradient values recorded per forward
N_RANDOM = {"gan_hard": 300, "gan": 50}


def name_phase(name):
    """A phase per tensor name, the same in crates/gan/tests/original_code.rs."""
    return (sum((i + 1) * ord(c) for i, c in enumerate(name)) % 1009) * 0.01


def wave(n, phase, step=0.7315):
    return np.sin(step * np.arange(n, dtype=np.float64) + phase)


def fill(name, shape):
    """The closed-form value of pbtnas tensor `name` (float32)."""
    n = int(np.prod(shape)) if len(shape) else 1
    s = wave(n, name_phase(name))
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "running_var":
        v = 0.75 + 0.25 * s
    elif leaf == "running_mean":
        v = 0.1 * s
    elif leaf in ("weight_u", "weight_v"):
        v = s
    elif len(shape) >= 2:
        v = s / math.sqrt(int(np.prod(shape[1:])))
    elif ".bn." in name and leaf == "weight":
        v = 1.0 + 0.1 * s
    else:
        v = 0.1 * s
    return v.astype(np.float32).reshape(shape)


def ours(name):
    """pbtnas's name of an original state-dict entry (None: no counterpart, e.g. counters)."""
    p = name.split(".")
    net, rest = p[0], p[1:]
    leaf = {"weight_orig": "weight"}.get(rest[-1], rest[-1])
    if leaf == "num_batches_tracked":
        return None
    if net == "generator":
        if rest[0] == "projections":
            return f"gen.proj{rest[1]}.linear.{leaf}"
        if rest[0] == "to_rgb":
            return {"0": f"gen.head.bn.{leaf}", "2": f"gen.head.to_rgb.{leaf}"}[rest[1]]
        cell = rest[0]
        if rest[1] == "skip_in_ops":
            return f"gen.{cell}.skip{int(rest[2]) + 1}.{leaf}"
        if rest[1].startswith("up"):
            kind = rest[4]  # ups.0.{c|convT}.{i}
            sub = "convt" if (kind == "convT" and rest[5] == "1") else "conv"
            return f"gen.{cell}.{rest[1]}.{sub}.{leaf}"
        return f"gen.{cell}.{rest[1]}.{leaf}"  # c{k}.ops.0.op.1
    if rest[0] == "l5":
        return f"disc.head.{leaf}"
    return f"disc.{rest[0]}.{rest[1]}.{leaf}"


def r8(x):
    """8 significant digits: enough for f32, half the fixture's size."""
    return float(f"{float(x):.8g}")


def stats(t, rng_idx):
    v = t.detach().reshape(-1).double()
    return dict(
        idx=rng_idx.tolist(),
        val=[r8(x) for x in v[rng_idx]],
        sum=r8(v.sum()),
        sumsq=r8((v * v).sum()),
    )


def sample_idx(n, salt):
    return np.unique((np.arange(SAMPLES) * 7919 + salt * 104729) % n)


def grad_projections(named_params):
    out = {}
    for on, p in named_params:
        n = ours(on)
        if n is None or p.grad is None:
            continue
        g = p.grad.detach().double().reshape(-1)
        f = torch.from_numpy(fill(n, list(p.shape)).astype(np.float64)).reshape(-1)
        out[n] = [r8((g * g).sum()), r8((g * f).sum())]
    return out


def load_closed_form(module):
    for on, t in module.state_dict().items():
        n = ours(on)
        if n is None:
            continue
        with torch.no_grad():
            t.copy_(torch.from_numpy(fill(n, list(t.shape))))


def build(repo_ss, genome, hard, stl, geo=GEO):
    from models.gan.advnas import AdvNasGandD

    params = dict(geo, g_activation="relu", d_activation="relu", d_spectral_norm=True,
                  d_type="advnas_my" if hard else "autogan", if_search_projections=hard,
                  if_stl_projections=stl)
    with contextlib.redirect_stdout(io.StringIO()):
        ss = repo_ss(model_class="AdvNas", model_parameters=params)
    pos_to_used_op = ss.decode(genome)
    torch.manual_seed(0)
    net = AdvNasGandD(pos_to_used_op=pos_to_used_op, **params)
    load_closed_form(net)
    return ss, net


def record(repo_ss, genome, hard, stl, tag):
    ss, net = build(repo_ss, genome, hard, stl)
    g, d = net.generator, net.discriminator
    out = dict(tag=tag, genes=[int(x) for x in genome], stl=stl)
    z = torch.from_numpy(wave(BATCH * GEO["latent_dim"], 0.3, 1.1).astype(np.float32))
    z = z.reshape(BATCH, GEO["latent_dim"])
    # G in eval mode (running statistics in the head's BN, no dropout).
    g.eval()
    img = g(z)
    r = torch.from_numpy(wave(img.numel(), 1.7, 0.913).astype(np.float32)).reshape(img.shape)
    (img * r).sum().backward()
    out["g_out"] = stats(img, sample_idx(img.numel(), 1))
    out["g_grads"] = grad_projections(
        (n, p) for n, p in net.named_parameters() if n.startswith("generator."))
    # D in train mode (one power iteration in every spectral norm) on a fixed image batch.
    d.train()
    side = GEO["bottom_width"] * 2 ** GEO["n_cells"]
    x = torch.from_numpy(wave(BATCH * 3 * side * side, 0.9, 0.417).astype(np.float32))
    x = x.reshape(BATCH, 3, side, side).requires_grad_()
    logits = d(x)
    rd = torch.from_numpy(np.array([1.0, -0.5, 0.25][:BATCH], dtype=np.float32)).reshape(BATCH, 1)
    (logits * rd).sum().backward()
    out["d_logits"] = [r8(v) for v in logits.detach().reshape(-1)]
    out["d_grad_x"] = stats(x.grad, sample_idx(x.numel(), 2))
    out["d_grads"] = grad_projections(
        (n, p) for n, p in net.named_parameters() if n.startswith("discriminator."))
    # D again in eval mode: the vectors the training pass left, no iteration.
    d.eval()
    with torch.no_grad():
        out["d_logits_eval"] = [r8(v) for v in d(x.detach()).reshape(-1)]
    return out


def twin_name(name):
    """pbtnas's name of a tensor of scripts/gan_torch.py (the benchmarks' PyTorch side)."""
    p = name.split(".")
    leaf = {"weight_orig": "weight"}.get(p[-1], p[-1])
    if p[0] == "proj":
        return f"gen.proj{p[1]}.linear.{leaf}"
    if p[0] in ("bn", "to_rgb"):
        return f"gen.head.{p[0]}.{leaf}"
    if p[0] == "ups":
        return f"gen.cell{int(p[1]) + 1}.up{p[2]}.{p[3]}.{leaf}"
    if p[0] == "ops":
        return f"gen.cell{int(p[1]) + 1}.c{p[2]}.{leaf}"
    if p[0] == "skips":
        return f"gen.cell{int(p[1]) + 1}.skip{int(p[2]) + 1}.{leaf}"
    if p[0] == "head":
        return f"disc.head.{leaf}"
    kind = {"ops": "c", "down": "down"}[p[2]]  # blocks.{b}.{ops|down}.{k}.conv.*
    return f"disc.block{int(p[1]) + 1}.{kind}{p[3]}.{leaf}"


def original_genes(ss, long_form):
    """The original's gene values of a genome in pbtnas's long form (configs/gan/bench_genome.txt)."""
    node = {"if_enabled": "if_enabled_NOWEIGHT", "up_mode": "up_mode_NOWEIGHT",
            "dropout": "dropout_NOWEIGHT", "downsample": "downsample_NOWEIGHT"}
    genes = []
    for pos in ss.gene_to_pos:
        block = pos.block.replace("projections.", "proj")
        short = {v: k for k, v in node.items()}.get(pos.node, pos.node)
        ours = long_form[f"{block}.{short}"]
        for i, opt in enumerate(ss.pos_to_options[pos]):
            text = "_".join(opt) if isinstance(opt, tuple) else str(opt)
            text = {"ConvTranspose": "conv_transpose", "True": "true", "False": "false"}.get(text, text)
            if text == ours:
                genes.append(i)
                break
        else:
            raise ValueError(f"{block}.{short}={ours} is not an option of the original")
    return genes


def check_twin(repo_ss):
    """The benchmarks' PyTorch twin (scripts/gan_torch.py) must compute what the original computes:
    both built for the benchmark genome, the same closed-form tensors, G (eval) and D (train)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import gan_torch

    text = (pathlib.Path(__file__).resolve().parent.parent / "configs/gan/bench_genome.txt").read_text()
    long_form = gan_torch.parse_genome(text)
    geo = dict(GEO, latent_dim=gan_torch.LATENT)
    with contextlib.redirect_stdout(io.StringIO()):
        ss = repo_ss(model_class="AdvNas", model_parameters=dict(
            geo, d_type="advnas_my", if_search_projections=True))
    _, net = build(repo_ss, original_genes(ss, long_form), True, False, geo)
    gen = gan_torch.Generator(long_form, geo["gf_dim"], geo["bottom_width"])
    disc = gan_torch.Discriminator(long_form, geo["df_dim"])
    for module in (gen, disc):
        with torch.no_grad():
            for name, t in module.state_dict().items():
                if not name.endswith("num_batches_tracked"):
                    t.copy_(torch.from_numpy(fill(twin_name(name), list(t.shape))))
    z = torch.from_numpy(wave(BATCH * geo["latent_dim"], 0.3, 1.1).astype(np.float32))
    z = z.reshape(BATCH, geo["latent_dim"])
    side = geo["bottom_width"] * 2 ** geo["n_cells"]
    x = torch.from_numpy(wave(BATCH * 3 * side * side, 0.9, 0.417).astype(np.float32))
    x = x.reshape(BATCH, 3, side, side)
    net.eval(), gen.eval()
    net.discriminator.train(), disc.train()
    with torch.no_grad():
        pairs = [("G(z)", gen(z), net.generator(z)), ("D(x)", disc(x), net.discriminator(x))]
    for what, twin, orig in pairs:
        err = float((twin - orig).abs().max() / orig.abs().max().clamp(min=1e-6))
        if not err <= 1e-4:
            sys.exit(f"scripts/gan_torch.py computes another {what} than the original for "
                     f"configs/gan/bench_genome.txt (max relative error {err:.2e})")
    print("scripts/gan_torch.py agrees with the original on the benchmark genome", file=sys.stderr)


def gene_index(ss, block, node):
    for i, p in enumerate(ss.gene_to_pos):
        if p.block == block and p.node == node:
            return i
    raise KeyError((block, node))


def option(ss, block, node, value):
    i = gene_index(ss, block, node)
    return i, ss.pos_to_options[ss.gene_to_pos[i]].index(value)


def hand_picked(repo_ss, base_fn):
    """GanHard genomes that reach the branches the reading of the original found."""
    with contextlib.redirect_stdout(io.StringIO()):
        ss = repo_ss(model_class="AdvNas", model_parameters=dict(
            GEO, d_type="advnas_my", if_search_projections=True))
    cases = []

    def case(tag, settings):
        for _ in range(3):
            genome = base_fn()
            for (block, node, value) in settings:
                i, o = option(ss, block, node, value)
                genome[i] = o
            cases.append((tag, genome))

    for b in (2, 3, 4):
        blk = f"block{b}"
        # Path 1 without its node: c3(n0) must not be used.
        case(f"{blk}: c1 none, c3 on n0", [(blk, "c0", "conv_3x3"), (blk, "c1", "none"),
                                          (blk, "c3", "conv_1x1"), (blk, "c5", "conv_3x3")])
        case(f"{blk}: c2 none, c4 on n0", [(blk, "c0", "conv_3x3"), (blk, "c2", "none"),
                                          (blk, "c4", "conv_1x1"), (blk, "c6", "skip_connect")])
        case(f"{blk}: only n0", [(blk, "c0", "conv_1x1"), (blk, "c1", "none"), (blk, "c2", "none"),
                                 (blk, "downsample_NOWEIGHT", True)])
        case(f"{blk}: no node", [(blk, "c0", "none"), (blk, "c1", "none"), (blk, "c2", "none")])
        case(f"{blk}: both paths, input pools", [(blk, "c1", "conv_3x3"), (blk, "c2", "conv_3x3"),
                                                 (blk, "downsample_NOWEIGHT", True),
                                                 (blk, "down0", "max_pool_input"),
                                                 (blk, "down1", "avg_pool_input")])
    for p in (0, 1, 2):
        for lin in ("whole_bottom", "part_bottom", "part_prev"):
            settings = [(f"projections.{p}", "linear", tuple(lin.split("_"))),
                        (f"projections.{p}", "up_mode_NOWEIGHT", "bilinear")]
            if p > 0:
                settings.append((f"projections.{p}", "if_enabled_NOWEIGHT", True))
            case(f"projection {p} {lin} bilinear", settings)
    for c in (1, 2, 3):
        cell = f"cell{c}"
        case(f"{cell}: lone skip c0", [(cell, "c0", "skip_connect"), (cell, "c1", "none"),
                                       (cell, "c2", "conv_3x3"), (cell, "c3", "conv_1x1")])
        case(f"{cell}: lone skip c1", [(cell, "c0", "none"), (cell, "c1", "skip_connect"),
                                       (cell, "c2", "conv_1x1"), (cell, "c3", "conv_3x3")])
        case(f"{cell}: no c0 c1", [(cell, "c0", "none"), (cell, "c1", "none"),
                                   (cell, "c4", "conv_3x3")])
        case(f"{cell}: conv-transpose ups", [(cell, "up0", "ConvTranspose"),
                                             (cell, "up1", "bilinear")])
    return cases


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    repo = pathlib.Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(repo))
    # The original's search_space package imports its RL space too; neither needs Ray.
    from search_space.advnas_ss import AdvNasMySearchSpace

    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    if len(commit) != 40:
        sys.exit(f"{repo} is not a git checkout of the original: its commit goes into the fixture")
    torch.set_grad_enabled(True)
    check_twin(AdvNasMySearchSpace)
    rng = np.random.default_rng(31173)
    spaces = {}
    for space, hard in (("gan_hard", True), ("gan", False)):
        params = dict(GEO, d_type="advnas_my" if hard else "autogan", if_search_projections=hard)
        with contextlib.redirect_stdout(io.StringIO()):
            ss = AdvNasMySearchSpace(model_class="AdvNas", model_parameters=params)
        n_opts = ss.get_n_options_per_gene()

        def draw():
            return [int(rng.integers(k)) for k in n_opts]

        genomes = [("random", draw()) for _ in range(N_RANDOM[space])]
        if hard:
            genomes += hand_picked(AdvNasMySearchSpace, draw)
        cases = [record(AdvNasMySearchSpace, gnm, hard, False, tag) for tag, gnm in genomes]
        if not hard:
            # STL-10 with the Gan space: two fixed projections of half the noise each.
            cases += [record(AdvNasMySearchSpace, draw(), False, True, "stl projections")
                      for _ in range(10)]
        spaces[space] = cases
        print(f"{space}: {len(cases)} genomes", file=sys.stderr)
    doc = dict(
        source="github.com/AwesomeLemon/PBT-NAS", commit=commit,
        script="scripts/original_fixtures.py", torch=torch.__version__,
        geometry=GEO, batch=BATCH, spaces=spaces,
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), 9, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
