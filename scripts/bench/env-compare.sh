#!/usr/bin/env bash
# Frames/s of the whole DrQ-v2 pixel step (physics x action repeat 2 + one 84x84 render + frame
# stack for pbtnas) for each embedded task and the MuJoCo-backed walker/quadruped/humanoid/cheetah
# run tasks: pbtnas (one thread) and dm_control 1.0.50 / MuJoCo
# 3.17 with its EGL renderer on Mesa llvmpipe (LP_NUM_THREADS=1, one core), interleaved.
#   scripts/bench/env-compare.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import dm_control" 2>/dev/null || .venv/bin/pip install -q mujoco==3.17.0 dm_control==1.0.50
scripts/setup/mujoco.sh > /dev/null
cargo build --release --quiet --features mujoco
mj_tasks="walker_run quadruped_run humanoid_run cheetah_run"
out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  for t in $(target/release/pbtnas env list | grep -v -e dmc/cartpole -e dmc/reacher -e _stand -e _walk); do
    fps=$(RAYON_NUM_THREADS=1 target/release/pbtnas env run "$t" --episodes 1 | sed -n 's/.*(\([0-9.]*\) frames\/s).*/\1/p')
    echo "{\"task\": \"$t\", \"frames_per_s\": $fps}" >> "$out/rust.jsonl"
  done
  MUJOCO_GL=egl LP_NUM_THREADS=1 .venv/bin/python scripts/bench/env-dmc.py 2>/dev/null >> "$out/dmc.jsonl"
  MUJOCO_GL=egl LP_NUM_THREADS=1 .venv/bin/python scripts/bench/env-dmc.py $mj_tasks 2>/dev/null >> "$out/dmc.jsonl"
done
python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
def load(f):
    d = {}
    for line in open(f"{out}/{f}"):
        r = json.loads(line); d.setdefault(r["task"], []).append(r["frames_per_s"])
    return d
rust, dmc = load("rust.jsonl"), load("dmc.jsonl")
print("| task | pbtnas frames/s | dm_control frames/s | speed-up |\n|---|---|---|---|")
for t in rust:
    a, b = statistics.median(rust[t]), statistics.median(dmc[t])
    print(f"| {t} | {a:.0f} | {b:.0f} | {a / b:.1f}x |")
PY
