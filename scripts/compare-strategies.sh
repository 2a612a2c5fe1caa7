#!/usr/bin/env bash
# Runs every strategy and ablation of configs/regression/ for several seeds and prints the best
# fitness of the last population (mean ± std over seeds, ddof 0, as the paper reports).
#   scripts/compare-strategies.sh [SEEDS=3] [OUT=runs/compare]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
out=${2:-runs/compare}
cargo build --release --quiet
bin=target/release/pbtnas
for cfg in configs/regression/*.yaml; do
  name=$(basename "$cfg" .yaml)
  for k in $(seq 0 $((seeds - 1))); do
    dir="$out/$name/seed$k"
    echo "== $name seed $k" >&2
    "$bin" run "$cfg" --set seed=$((31173 + k)) --run-dir "$dir" --quiet > /dev/null
    "$bin" status "$dir" --json > "$dir/status.json"
  done
done
python3 - "$out" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
print(f"{'config':<24} {'last-population best fitness (mean ± std)':>44}  seeds")
for cfg in sorted(p for p in out.iterdir() if p.is_dir()):
    bests = []
    for run in sorted(cfg.glob("seed*/status.json")):
        trials = json.loads(run.read_text())["trials"]
        last = max(t["generation"] for t in trials)
        bests.append(max(t["fitness"] for t in trials if t["generation"] == last and t["fitness"] is not None))
    print(f"{cfg.name:<24} {statistics.mean(bests):>30.6f} ± {statistics.pstdev(bests):.6f}  {len(bests)}")
PY
