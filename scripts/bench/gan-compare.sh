#!/usr/bin/env bash
# Side-by-side GanHard training iterations (benchmark genome) in pbtnas and in PyTorch on the
# CPU, interleaved: ROUNDS rounds of (pbtnas, PyTorch, PyTorch with pbtnas's allocator settings)
# per geometry; prints the median ms per iteration of each and the ratios (pbtnas / PyTorch; < 1
# means faster). Same networks (the
# parameter counts are printed and must agree), same loss, optimizers, n_critic and EMA.
#   scripts/bench/gan-compare.sh [ROUNDS=3] [THREADS=2]
# CASES="GEOMETRY BATCH N_CRITIC ITERS;..." picks the cases (default: quick with n_critic 5 and 1,
# CIFAR).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; threads=${2:-2}
scripts/setup/torch.sh > /dev/null
cargo build --release --quiet --example gan_step
out=$(mktemp -d)
# geometry, D batch, n_critic, timed iterations (the quick config's schedule is n_critic 1)
IFS=';' read -ra cases <<<"${CASES:-16,16,2 16 5 50;16,16,2 16 1 50;cifar 40 5 10}"
for case in "${cases[@]}"; do
  read -r geo batch ncritic iters <<<"$case"
  for r in $(seq 1 "$rounds"); do
    echo "$geo b$batch round $r/$rounds" >&2
    RAYON_NUM_THREADS=$threads "${CARGO_TARGET_DIR:-target}"/release/examples/gan_step --geometry "$geo" --batch "$batch" \
      --n-critic "$ncritic" --iters "$iters" --device cpu >> "$out/rust.jsonl"
    OMP_NUM_THREADS=$threads .venv/bin/python scripts/bench/gan_torch.py --geometry "$geo" --batch "$batch" \
      --n-critic "$ncritic" --iters "$iters" --threads "$threads" >> "$out/torch.jsonl"
    # PyTorch again with the allocator settings pbtnas applies to itself (crates/nn/src/alloc.rs).
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 MALLOC_ARENA_MAX=1 OMP_NUM_THREADS=$threads .venv/bin/python \
      scripts/bench/gan_torch.py --geometry "$geo" --batch "$batch" --n-critic "$ncritic" --iters "$iters" \
      --threads "$threads" --label pytorch-heap >> "$out/torch.jsonl"
  done
done
python3 - "$out" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)  # (geometry, batch, n_critic) -> records of both frameworks
for name in ("rust.jsonl", "torch.jsonl"):
    with open(f"{sys.argv[1]}/{name}") as f:
        for r in map(json.loads, f):
            runs[r["geometry"], r["batch"], r["n_critic"]].append(r)
print("| geometry | D batch | n_critic | params G / D | pbtnas ms/iter | PyTorch ms/iter | ratio "
      "| PyTorch, same allocator settings | ratio |")
print("|---|---|---|---|---|---|---|---|---|")
for (geo, batch, ncritic), rs in runs.items():
    assert len({(r["params_g"], r["params_d"]) for r in rs}) == 1, "the networks differ"
    ms = {fw: statistics.median(r["ms_per_iter"] for r in rs if r["framework"] == fw)
          for fw in ("candle", "pytorch", "pytorch-heap")}
    print(f"| {geo} | {batch} | {ncritic} | {rs[0]['params_g']:,} / {rs[0]['params_d']:,} | {ms['candle']:.1f} "
          f"| {ms['pytorch']:.1f} | {ms['candle'] / ms['pytorch']:.2f} "
          f"| {ms['pytorch-heap']:.1f} | {ms['candle'] / ms['pytorch-heap']:.2f} |")
PY
