#!/usr/bin/env bash
# Peak resident memory of the same training work in pbtnas and in PyTorch on the CPU: a CIFAR
# GanHard iteration (benchmark genome, D batch 40, n_critic 5) and a paper-size DrQ-v2 update
# (batch 256, 84×84, hidden 1024), ITERS of each after setup, measured by GNU time's maximum
# resident set size. PyTorch runs as installed and with pbtnas's allocator settings
# (crates/nn/src/alloc.rs). Prints one Markdown table.
#   scripts/bench/memory.sh [ITERS=2] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
iters=${1:-2}; threads=${2:-2}
scripts/setup/torch.sh > /dev/null
cargo build --release --quiet --example gan_step --example drq_update
heap="MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 MALLOC_ARENA_MAX=1"
peak() { /usr/bin/time -f %M -o /tmp/pbtnas-peak.$$ env "$@" > /dev/null; echo $(( $(cat /tmp/pbtnas-peak.$$) / 1024 )); }
gan="--geometry cifar --batch 40 --n-critic 5 --iters $iters"
drq="--batch 256 --size 84 --hidden 1024 --iters $iters"
echo "| workload | pbtnas peak MB | PyTorch peak MB | PyTorch, same allocator settings, peak MB |"
echo "|---|---|---|---|"
for w in gan drq; do
  args=${!w}
  if [ "$w" = gan ]; then ours=target/release/examples/gan_step; theirs=scripts/bench/gan_torch.py; name="GAN iteration (CIFAR, GanHard benchmark genome)"
  else ours=target/release/examples/drq_update; theirs=scripts/bench/drq_torch.py; name="DrQ-v2 update (batch 256, 84×84)"; fi
  a=$(peak RAYON_NUM_THREADS=$threads $ours $args --device cpu)
  b=$(peak OMP_NUM_THREADS=$threads .venv/bin/python $theirs $args --threads "$threads")
  # shellcheck disable=SC2086
  c=$(peak $heap OMP_NUM_THREADS=$threads .venv/bin/python $theirs $args --threads "$threads")
  echo "| $name | $a | $b | $c |"
done
rm -f /tmp/pbtnas-peak.$$
