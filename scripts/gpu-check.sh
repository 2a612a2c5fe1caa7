#!/usr/bin/env bash
# The device check, in two halves:
#
#   scripts/gpu-check.sh build   here (no GPU needed): builds the CUDA binaries (pbtnas, the GAN
#                                step timer, the GPU-capable test binaries) into gpu-bundle/
#                                (git-ignored), after scripts/setup-cuda-build.sh.
#   scripts/gpu-check.sh run     on a machine with an NVIDIA GPU, PyTorch and the bundle, but no
#                                Rust toolchain and no network; about 5 minutes. Prints the device,
#                                runs the GPU tests, times a GanHard iteration at the paper's CIFAR
#                                batch in candle and in PyTorch side by side, runs one PBT step of
#                                a paper config with a tiny budget, and writes everything to
#                                ${OUT:-gpu-check-out}/gpu-check.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=gpu-bundle

build() {
  set -e
  # shellcheck disable=SC1090
  source <(scripts/setup-cuda-build.sh --env)
  cargo build --release --features cudnn --bin pbtnas --example gan_step
  local tests
  tests=$(cargo test --release --features pbtnas-nn/cudnn -p pbtnas-nn -p pbtnas-gan \
    --test device_parity --test task --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"] + " " + m["executable"])')
  rm -rf "$bundle" && mkdir -p "$bundle/tests"
  cp target/release/pbtnas target/release/examples/gan_step "$bundle/"
  while read -r name exe; do cp "$exe" "$bundle/tests/$name"; done <<<"$tests"
  strip "$bundle"/pbtnas "$bundle"/gan_step "$bundle"/tests/*
  tar -C "$bundle" -cJf "$bundle.tar.xz" . && rm -rf "$bundle" && mkdir "$bundle" &&
    mv "$bundle.tar.xz" "$bundle/"
  du -sh "$bundle"
}

# Peak GPU memory (MiB, whole device) while a command runs.
with_peak_memory() {
  local log
  log=$(mktemp)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$log" 2>/dev/null &
  local smi=$!
  # A step that hangs must not eat the machine's time: each gets at most 3 minutes.
  timeout 180 "$@"
  local rc=$?
  kill "$smi" 2>/dev/null
  wait "$smi" 2>/dev/null
  echo "  peak GPU memory used: $(sort -n "$log" | tail -1) MiB"
  rm -f "$log"
  return $rc
}

run() {
  local out=${OUT:-gpu-check-out}
  mkdir -p "$out"
  exec > >(tee "$out/gpu-check.txt") 2>&1
  [ -f "$bundle/gpu-bundle.tar.xz" ] && tar -C "$bundle" -xJf "$bundle/gpu-bundle.tar.xz"
  # cuBLAS, cuRAND, NVRTC and the CUDA runtime from PyTorch's NVIDIA wheels; libcuda from the driver.
  local nv
  nv=$(python3 -c 'import nvidia; print(" ".join(nvidia.__path__))' | xargs -I{} find {} -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd:)
  export LD_LIBRARY_PATH=$nv:${LD_LIBRARY_PATH:-}
  ldd "$bundle/pbtnas" | grep -E "not found" && echo "(libraries missing: see above)"
  echo "== pbtnas GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name(0))'
  echo "== GPU tests (CUDA against CPU)"
  for t in "$bundle"/tests/*; do
    echo "-- $(basename "$t")"
    timeout 120 "$t" --test-threads 1 --nocapture 2>&1 |
      grep --line-buffered -E "CUDA matches|skipped|test result|panicked|FAILED|differs"
  done
  echo "== one GanHard iteration (benchmark genome; D step + every 5th G step + EMA), CIFAR size, D batch 40"
  for impl in candle pytorch; do
    if [ $impl = candle ]; then
      with_peak_memory "$bundle/gan_step" --geometry cifar --batch 40 --iters 100 --device cuda
    else
      with_peak_memory python3 scripts/gan_torch.py --geometry cifar --batch 40 --iters 100 --device cuda
    fi
  done
  echo "== same at STL size, D batch 128"
  with_peak_memory "$bundle/gan_step" --geometry stl --batch 128 --iters 30 --device cuda
  with_peak_memory python3 scripts/gan_torch.py --geometry stl --batch 128 --iters 30 --device cuda
  echo "== DrQ-v2 update at batch 256: skipped, the DrQ-v2 task does not exist yet"
  echo "== one PBT step of configs/gan/c10_ganhard_pbtnas.yaml, tiny budget (sprites instead of CIFAR-10: no network here)"
  with_peak_memory "$bundle/pbtnas" run configs/gan/c10_ganhard_pbtnas.yaml --device cuda \
    --run-dir /tmp/pbt-gpu --set population=8 --set steps=2 --set task.dataset=sprites \
    --set task.epochs_per_step=null --set task.iters_per_step=50 --set task.eval_samples=500
  "$bundle/pbtnas" status /tmp/pbt-gpu
  echo "== done"
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  *) echo "usage: $0 build|run" >&2; exit 2 ;;
esac
