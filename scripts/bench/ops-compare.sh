#!/usr/bin/env bash
# Side-by-side timing of the CPU kernels and PyTorch on the same workloads, interleaved: ROUNDS
# rounds, each running the Rust timer, the PyTorch one, and PyTorch again with the allocator
# settings pbtnas applies to itself (crates/nn/src/alloc.rs); prints per-workload medians over the
# rounds and the ratios (pbtnas / PyTorch; < 1 means faster).
#   scripts/bench/ops-compare.sh [ROUNDS=3] [THREADS=2] [FILTER]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; threads=${2:-2}; filter=${3:-}
scripts/setup/torch.sh > /dev/null
cargo build --release --quiet --example bench_ops
out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  RAYON_NUM_THREADS=$threads target/release/examples/bench_ops --reps 3 --filter "$filter" >> "$out/rust.jsonl"
  OMP_NUM_THREADS=$threads .venv/bin/python scripts/bench/ops-torch.py --reps 3 --threads "$threads" --filter "$filter" >> "$out/torch.jsonl"
  MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 MALLOC_ARENA_MAX=1 OMP_NUM_THREADS=$threads \
    .venv/bin/python scripts/bench/ops-torch.py --reps 3 --threads "$threads" --filter "$filter" >> "$out/torch-heap.jsonl"
done
python3 - "$out" "$threads" <<'PY'
import json, statistics, sys, platform, subprocess
out, threads = sys.argv[1], sys.argv[2]
def load(f):
    d = {}
    for line in open(f"{out}/{f}"):
        r = json.loads(line); d.setdefault(r["name"], []).append(r["median_s"])
    return d
rust, torch, heap = load("rust.jsonl"), load("torch.jsonl"), load("torch-heap.jsonl")
tv = subprocess.run([".venv/bin/python", "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
print(f"threads {threads}, torch {tv}, medians over {len(next(iter(rust.values())))} interleaved rounds")
print("| workload | pbtnas (s) | PyTorch (s) | ratio | PyTorch, same allocator settings (s) | ratio |")
print("|---|---|---|---|---|---|")
for name, ts in rust.items():
    a, b, c = statistics.median(ts), statistics.median(torch[name]), statistics.median(heap[name])
    print(f"| {name} | {a:.3f} | {b:.3f} | {a / b:.2f} | {c:.3f} | {a / c:.2f} |")
PY
