#!/usr/bin/env bash
# Side-by-side DrQ-v2 updates (original networks, random pixel batch) in pbtnas and in PyTorch on
# the CPU, interleaved: ROUNDS rounds of (pbtnas, PyTorch, PyTorch with pbtnas's allocator
# settings) per case; prints the median ms per update of each and the ratios (pbtnas / PyTorch;
# < 1 means faster). Same networks (parameter
# counts printed and checked equal), same losses, optimizers and target update.
#   scripts/bench/drq-compare.sh [ROUNDS=3] [THREADS=2]
# CASES="BATCH SIZE HIDDEN ITERS;..." picks the cases (default: the paper's 256 84 1024, and the
# CPU pixel config's 128 48 256).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; threads=${2:-2}
scripts/setup/torch.sh > /dev/null
cargo build --release --quiet --example drq_update
out=$(mktemp -d)
IFS=';' read -ra cases <<<"${CASES:-256 84 1024 3;128 48 256 10}"
for case in "${cases[@]}"; do
  read -r batch size hidden iters <<<"$case"
  for r in $(seq 1 "$rounds"); do
    echo "b$batch ${size}px h$hidden round $r/$rounds" >&2
    RAYON_NUM_THREADS=$threads target/release/examples/drq_update --batch "$batch" --size "$size" \
      --hidden "$hidden" --iters "$iters" --device cpu >> "$out/rust.jsonl"
    OMP_NUM_THREADS=$threads .venv/bin/python scripts/bench/drq_torch.py --batch "$batch" --size "$size" \
      --hidden "$hidden" --iters "$iters" --threads "$threads" >> "$out/torch.jsonl"
    # PyTorch again with the allocator settings pbtnas applies to itself (crates/nn/src/alloc.rs).
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 MALLOC_ARENA_MAX=1 OMP_NUM_THREADS=$threads .venv/bin/python \
      scripts/bench/drq_torch.py --batch "$batch" --size "$size" --hidden "$hidden" --iters "$iters" \
      --threads "$threads" --label pytorch-heap >> "$out/torch.jsonl"
  done
done
python3 - "$out" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for name in ("rust.jsonl", "torch.jsonl"):
    with open(f"{sys.argv[1]}/{name}") as f:
        for r in map(json.loads, f):
            runs[r["batch"], r["size"], r["hidden"]].append(r)
print("| batch | frames | hidden | parameters | pbtnas ms/update | PyTorch ms/update | ratio "
      "| PyTorch, same allocator settings | ratio |")
print("|---|---|---|---|---|---|---|---|---|")
for (batch, size, hidden), rs in runs.items():
    assert len({r["params"] for r in rs}) == 1, "the networks differ"
    ms = {fw: statistics.median(r["ms_per_update"] for r in rs if r["framework"] == fw)
          for fw in ("candle", "pytorch", "pytorch-heap")}
    print(f"| {batch} | 9×{size}×{size} | {hidden} | {rs[0]['params']:,} | {ms['candle']:.1f} "
          f"| {ms['pytorch']:.1f} | {ms['candle'] / ms['pytorch']:.2f} "
          f"| {ms['pytorch-heap']:.1f} | {ms['candle'] / ms['pytorch-heap']:.2f} |")
PY
