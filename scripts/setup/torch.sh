#!/usr/bin/env bash
# Installs PyTorch (CPU use) and numpy from PyPI into the git-ignored .venv, for the reference
# fixtures (scripts/fixtures/torch-ops.py) and the side-by-side benchmarks. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import torch, numpy" 2>/dev/null || .venv/bin/pip install -q "torch==2.15.0" "numpy>=2"
.venv/bin/python -c "import torch; print('torch', torch.__version__)"
