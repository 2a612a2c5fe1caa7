#!/usr/bin/env bash
# Orchestration overhead and worker scaling (BENCHMARKS.md, "Orchestration"):
#  1. the sleep-task population (examples/orchestration.rs) on SQLite, and on PostgreSQL when
#     PBTNAS_STORE holds a database URL: overhead per generation for 1-24 workers, and the plot;
#  2. a fixed regression run (8 members x 6 steps) with 1, 2 and 4 worker processes on this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --example orchestration --bin pbtnas
mkdir -p docs
target/release/examples/orchestration --svg docs/orchestration_scaling.svg
if [ -n "${PBTNAS_STORE:-}" ]; then
  target/release/examples/orchestration --store "$PBTNAS_STORE" --svg docs/orchestration_scaling_postgres.svg
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'extends: %s\nsteps: 6\nworkers: 1\ntask: {iters_per_step: 3000}\n' "$PWD/configs/quick.yaml" > "$tmp/cfg.yaml"
echo "processes  wall s   (regression, 8 members x 6 steps, 1 member per process, RAYON_NUM_THREADS=1)"
for n in 1 2 4; do
  dir="$tmp/run$n"
  start=$(date +%s.%N)
  env -u PBTNAS_STORE RAYON_NUM_THREADS=1 target/release/pbtnas run "$tmp/cfg.yaml" --run-dir "$dir" -q > /dev/null &
  pids=($!)
  while [ ! -f "$dir/config.yaml" ]; do sleep 0.05; done
  for _ in $(seq 2 "$n"); do
    env -u PBTNAS_STORE RAYON_NUM_THREADS=1 target/release/pbtnas worker "$dir" -q > /dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
  end=$(date +%s.%N)
  printf '%9d  %6.1f\n' "$n" "$(echo "$end - $start" | bc)"
done
