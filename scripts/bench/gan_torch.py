#!/usr/bin/env python3
"""The GanHard generator and discriminator in PyTorch, built from a genome in long form, and a timed
GAN training iteration: the PyTorch side of the GAN step benchmarks (BENCHMARKS.md).

The networks follow the original PBT-NAS code (models/gan/advnas*.py) as crates/gan builds them
(in-place skip quirk on, torch's old-API spectral norm, hinge loss, D every iteration, G every 5th
with twice the batch, Adam(0, 0.9, eps 1e-4), EMA of G after each G step), so that both sides do
the same arithmetic. Usage:

  scripts/bench/gan_torch.py --genome configs/gan/bench_genome.txt --geometry cifar --batch 40 \
      --iters 50 --device cuda --threads 2
prints one JSON line: {"framework": "pytorch", "ms_per_iter": ..., "params_g": ..., ...}.
"""
import argparse, json, time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from phase_timer import PhaseTimer

GEOMETRY = {"cifar": (256, 128, 4), "stl": (270, 128, 6)}
LATENT, CELLS = 120, 3
CONVS = {"conv_1x1": (1, 0, 1), "conv_3x3": (3, 1, 1), "conv_5x5": (5, 2, 1),
         "dil_conv_3x3": (3, 2, 2), "dil_conv_5x5": (5, 4, 2)}


def conv(cin, cout, k, stride=1, padding=0, dilation=1, bias=True, sn=False, groups=1):
    c = nn.Conv2d(cin, cout, k, stride, padding, dilation, groups=groups, bias=bias)
    nn.init.xavier_uniform_(c.weight)
    return spectral_norm(c) if sn else c


class Op(nn.Module):
    def __init__(self, name, cin, ch, stride=1, act=True, sn=False):
        super().__init__()
        self.name, self.act = name, act
        if name in CONVS:
            k, p, d = CONVS[name]
            self.conv = conv(cin, ch, k, stride, p, d, sn=sn)

    def forward(self, x):
        if self.name == "skip_connect":
            return x
        if self.name.startswith("avg_pool"):
            return F.avg_pool2d(x, 2)
        if self.name.startswith("max_pool"):
            return F.max_pool2d(x, 2)
        return self.conv(F.relu(x) if self.act else x)


def make_op(name, *args, **kw):
    return None if name == "none" else Op(name, *args, **kw)


def interp(x, bilinear):
    return F.interpolate(x, scale_factor=2, mode="bilinear" if bilinear else "nearest",
                         **({"align_corners": False} if bilinear else {}))


def upsample_to(x, size, bilinear):
    # As the original: a bilinear factor above 2 (a projection to the bottom width) is one
    # interpolation; nearest by doubling gives the same values.
    if bilinear and size // x.shape[-1] > 2:
        return F.interpolate(x, scale_factor=size // x.shape[-1], mode="bilinear",
                             align_corners=False)
    while x.shape[-1] < size:
        x = interp(x, bilinear)
    return x


class Up(nn.Module):
    def __init__(self, name, ch):
        super().__init__()
        self.name = name
        if name == "conv_transpose":
            self.convt = nn.ConvTranspose2d(ch, ch, 3, 2, 1, output_padding=1, groups=ch, bias=False)
            self.conv = conv(ch, ch, 1, bias=False)
        else:
            self.conv = conv(ch, ch, 1)

    def forward(self, x):
        if self.name == "conv_transpose":
            return self.conv(self.convt(F.relu(x)))
        return self.conv(F.relu(interp(x, self.name == "bilinear")))


def total(terms):
    terms = [t for t in terms if t is not None]
    return sum(terms[1:], terms[0]) if terms else None


class Generator(nn.Module):
    def __init__(self, g, gf, bottom):
        super().__init__()
        self.gf, self.bottom = gf, bottom
        self.proj = nn.ModuleList()
        self.proj_cfg = []
        for i in range(CELLS):
            enabled = i == 0 or g[f"proj{i}.if_enabled"] == "true"
            part, which = g[f"proj{i}.linear"].split("_")
            target = bottom << i
            width = {"bottom": bottom, "prev": max(target // 2, 1)}.get(which, target)
            inp = LATENT // CELLS if part == "part" else LATENT
            self.proj.append(nn.Linear(inp, width * width * gf))
            self.proj_cfg.append((enabled, part == "part", width, g[f"proj{i}.up_mode"] == "bilinear",
                                  float(g[f"proj{i}.dropout"])))
        self.ups, self.ops, self.skips = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for c in range(1, CELLS + 1):
            self.ups.append(nn.ModuleList([Up(g[f"cell{c}.up{k}"], gf) for k in range(2)]))
            self.ops.append(nn.ModuleList([make_op(g[f"cell{c}.c{k}"], gf, gf) or nn.Identity()
                                           for k in range(5)]))
            self.skips.append(nn.ModuleList([conv(gf, gf, 1) for _ in range(1, c)]))
        self.present = [[g[f"cell{c}.c{k}"] != "none" for k in range(5)] for c in range(1, CELLS + 1)]
        self.bn = nn.BatchNorm2d(gf)
        nn.init.normal_(self.bn.weight, 1.0, 0.02)
        nn.init.zeros_(self.bn.bias)
        self.to_rgb = conv(gf, 3, 3, padding=1)

    def project(self, i, z):
        enabled, part, width, bilinear, p = self.proj_cfg[i]
        if not enabled:
            return None
        inp = z[:, i * (LATENT // CELLS):(i + 1) * (LATENT // CELLS)] if part else z
        h = self.proj[i](inp).view(-1, self.gf, width, width)
        return F.dropout(upsample_to(h, self.bottom << i, bilinear), p, self.training)

    def forward(self, z):
        x = self.project(0, z)
        skip_outs = []
        for ci in range(CELLS):
            n0, n1 = self.ups[ci][0](x), self.ups[ci][1](x)
            ap = lambda k, t: self.ops[ci][k](t) if self.present[ci][k] else None
            n2 = total([ap(0, n0), ap(1, n1)])
            n2 = n0 + n1 if n2 is None else n2
            s = total([self.skips[ci][j](upsample_to(skip_outs[j], n2.shape[-1], ci == 1))
                       for j in range(ci)])
            n2 = n2 if s is None else n2 + s
            skip_outs.append(n2)  # the original's in-place add: the skip output includes s
            n3 = total([ap(2, n0), ap(3, n1), ap(4, n2)])
            x = n2 if n3 is None else n3
            p = self.project(ci + 1, z) if ci + 1 < CELLS else None
            x = x if p is None else x + p
        return torch.tanh(self.to_rgb(F.relu(self.bn(x))))


class Block(nn.Module):
    def __init__(self, g, b, df):
        super().__init__()
        names = [g[f"block{b}.c{k}"] for k in range(7)]
        self.ops = nn.ModuleList([
            make_op(n, 3 if b == 1 and k < 3 else df, df, act=not (b == 1 and k < 3), sn=True)
            or nn.Identity() for k, n in enumerate(names)])
        self.present = [n != "none" for n in names]
        self.downsample = g[f"block{b}.downsample"] == "true"
        self.down_names = [g[f"block{b}.down{i}"] for i in range(2)]
        self.down = nn.ModuleList([Op(n, df, df, stride=2, sn=True) for n in self.down_names])

    def forward(self, x):
        ap = lambda k, t: self.ops[k](t) if self.present[k] and t is not None else None
        n0, n1, n2 = ap(0, x), ap(1, x), ap(2, x)
        if n0 is None and n1 is None and n2 is None:
            return x

        def down(i, t, at_input):
            on_input = self.down_names[i].endswith("_input")
            ok = t is not None and self.downsample and on_input == at_input
            return self.down[i](t) if ok else t

        def path(i, n, c_from_n0, c_after):
            if n is None:  # a path exists only if its own node does (the original)
                return None
            p = total([down(i, n, True), down(i, ap(c_from_n0, n0), True)])
            if self.present[c_after] and p is not None:
                p = self.ops[c_after](p)
            return down(i, p, False)

        p1, p2 = path(0, n1, 3, 5), path(1, n2, 4, 6)
        return p1 if p1 is not None else (p2 if p2 is not None else n0)


class Discriminator(nn.Module):
    def __init__(self, g, df):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(g, b, df) for b in range(1, 5)])
        self.head = spectral_norm(nn.Linear(df, 1, bias=False))

    def forward(self, x):
        return self.head(F.relu(self.blocks(x)).sum(dim=(2, 3)))


def parse_genome(text):
    return dict(item.strip().split("=") for item in text.replace("\n", "").split(",") if item.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--genome", default="configs/gan/bench_genome.txt")
    ap.add_argument("--geometry", default="cifar", help="cifar, stl, or gf,df,bottom")
    ap.add_argument("--batch", type=int, default=40)
    ap.add_argument("--n-critic", type=int, default=5, help="a G step every N iterations")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--label", default="pytorch", help="framework name in the output line")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    # Plain f32 on CUDA, as pbtnas by default (PyTorch's own default allows TF32 in cuDNN).
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    gf, df, bottom = GEOMETRY.get(a.geometry) or tuple(int(v) for v in a.geometry.split(","))
    g = parse_genome(open(a.genome).read())
    dev = torch.device(a.device)
    G, D = Generator(g, gf, bottom).to(dev), Discriminator(g, df).to(dev)
    ema = [p.detach().clone() for p in G.parameters()]
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.0, 0.9), eps=1e-4)
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.0, 0.9), eps=1e-4)
    size = bottom << CELLS
    real = torch.rand(a.batch, 3, size, size, device=dev) * 2 - 1

    def iteration(i, prof):
        prof.mark("batch")
        fake = G(torch.randn(a.batch, LATENT, device=dev)).detach()
        prof.mark("g_sample")
        d_loss = F.relu(1 - D(real)).mean() + F.relu(1 + D(fake)).mean()
        prof.mark("d_forward")
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        prof.mark("d_backward")
        opt_d.step()
        prof.mark("d_adam")
        if i % a.n_critic == 0:
            g_loss = -D(G(torch.randn(2 * a.batch, LATENT, device=dev))).mean()
            prof.mark("g_forward")
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            prof.mark("g_backward")
            opt_g.step()
            prof.mark("g_adam")
            with torch.no_grad():
                for e, p in zip(ema, G.parameters()):
                    e.mul_(0.999).add_(p, alpha=0.001)
            prof.mark("ema")

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    warm = PhaseTimer(dev, on=False)
    for i in range(5):
        iteration(i, warm)
    sync()
    prof = PhaseTimer(dev)
    t = time.perf_counter()
    for i in range(a.iters):
        iteration(i, prof)
    sync()
    ms = (time.perf_counter() - t) * 1000 / a.iters
    count = lambda m: sum(p.numel() for p in m.parameters())
    print(json.dumps({"framework": a.label, "device": str(dev), "geometry": a.geometry,
                      "batch": a.batch, "n_critic": a.n_critic, "iters": a.iters, "ms_per_iter": round(ms, 3),
                      "params_g": count(G), "params_d": count(D),
                      "peak_mem_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)
                      if dev.type == "cuda" else None, **prof.metrics(a.iters)}))


if __name__ == "__main__":
    main()
