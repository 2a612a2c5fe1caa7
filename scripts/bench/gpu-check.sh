#!/usr/bin/env bash
# The device check, in two halves:
#
#   scripts/bench/gpu-check.sh build   here (no GPU needed): builds the CUDA binaries (pbtnas, the GAN
#                                and DrQ-v2 step timers, the test binaries with CUDA cases) into
#                                gpu-bundle/ (git-ignored, one .tar.xz), after
#                                scripts/setup/cuda-build.sh.
#   scripts/bench/gpu-check.sh run     on a machine with an NVIDIA GPU, PyTorch and the bundle, but no
#                                Rust toolchain and no network; about 5 minutes, every stage under
#                                its own time limit. Prints the device; runs the CUDA-against-CPU
#                                tests; times a GanHard iteration at the paper's CIFAR batch and a
#                                DrQ-v2 update at batch 256 in candle and in PyTorch side by side,
#                                then again with per-phase timings, then on candle's own ops in
#                                place of pbtnas's kernels (PBTNAS_CANDLE_OPS; the stages after it
#                                keep candle's ops if pbtnas's kernels failed); runs two GAN
#                                members at once on the GPU (the paper's two members per GPU); one
#                                PBT step of a paper config with a tiny budget; the STL-size GAN
#                                iteration last. Everything goes to
#                                ${OUT:-gpu-check-out}/gpu-check.txt as it happens.
# `run` on a machine without a GPU (CHECK_DEVICE=cpu, no nvidia-smi needed) runs the same stages
# on the CPU at toy sizes: the test of this script itself (tests/gpu_check.rs).
set -uo pipefail
cd "$(dirname "$0")/../.."
bundle=${BUNDLE:-gpu-bundle}

build() {
  set -e
  # shellcheck disable=SC1090
  source <(scripts/setup/cuda-build.sh --env)
  cargo build --release --features cudnn --bin pbtnas --example gan_step --example drq_update
  local tests
  tests=$(cargo test --release --features pbtnas-nn/cudnn -p pbtnas-kernels -p pbtnas-nn -p pbtnas-gan -p pbtnas-rl \
    --test device_parity --test task --test agent --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["package_id"].split("#")[0].rsplit("/", 1)[-1] + "-" + m["target"]["name"] + " " + m["executable"])')
  rm -rf "$bundle" && mkdir -p "$bundle/tests"
  # Which source the binaries are: a bundle outlives its commit (git-ignored).
  echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' with uncommitted changes'), built $(date -u +%Y-%m-%dT%H:%MZ)" >"$bundle/COMMIT"
  cp target/release/pbtnas target/release/examples/gan_step target/release/examples/drq_update "$bundle/"
  while read -r name exe; do cp "$exe" "$bundle/tests/$name"; done <<<"$tests"
  strip "$bundle"/pbtnas "$bundle"/gan_step "$bundle"/drq_update "$bundle"/tests/*
  tar -C "$bundle" -cJf "$bundle.tar.xz" . && rm -rf "$bundle" && mkdir "$bundle" &&
    mv "$bundle.tar.xz" "$bundle/"
  du -sh "$bundle"
}

# Runs a command under a time limit (seconds) and prints the peak memory the GPU had in use
# meanwhile (MiB, whole device; sampled every 200 ms); a command that fails is named in the last
# line. On the CPU only the time limit applies.
with_peak_memory() {
  local limit=$1
  shift
  # Named by the words before the first option, without directories.
  local words=() w label
  for w; do [[ $w == -* ]] && break; words+=("${w##*/}"); done
  label="${words[*]}"
  if [ "$device" = cpu ]; then
    timeout "$limit" "$@" || { failed+=("$label"); return 1; }
    return 0
  fi
  local log
  log=$(mktemp)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$log" 2>/dev/null &
  local smi=$!
  timeout "$limit" "$@"
  local rc=$?
  kill "$smi" 2>/dev/null
  wait "$smi" 2>/dev/null
  echo "  peak GPU memory used: $(sort -n "$log" | tail -1) MiB"
  rm -f "$log"
  [ $rc = 124 ] && echo "  (stopped at its time limit of $limit s)"
  [ $rc = 0 ] || failed+=("$label")
  return $rc
}

run() {
  local out=${OUT:-gpu-check-out}
  device=${CHECK_DEVICE:-cuda} py=${PYTHON:-python3} failed=()
  mkdir -p "$out"
  exec > >(tee "$out/gpu-check.txt") 2>&1
  local t0=$SECONDS
  stage() { echo "== [$((SECONDS - t0)) s] $*"; }
  [ -f "$bundle/gpu-bundle.tar.xz" ] && tar -C "$bundle" -xJf "$bundle/gpu-bundle.tar.xz"
  [ -f "$bundle/COMMIT" ] && echo "bundle: $(cat "$bundle/COMMIT")"
  # Sizes: the paper's on the GPU, toy ones for the CPU test of this script.
  local gan_iters=50 stl_iters=20 drq_iters=20 drq="--batch 256 --size 84 --hidden 1024"
  local cifar="--geometry cifar --batch 40" stl="--geometry stl --batch 128"
  # The PBT step ranks by the pixel Fréchet distance: FID needs the Inception weights (91 MB), more
  # than a device call carries.
  local pbt=(--set population=8 --set steps=2 --set task.iters_per_step=50 --set task.eval_samples=500)
  if [ "$device" = cpu ]; then
    gan_iters=2 stl_iters=1 drq_iters=1 drq="--batch 4 --size 20 --hidden 16"
    cifar="--geometry 8,8,2 --batch 4" stl="--geometry 8,8,3 --batch 4"
    pbt=(--set population=8 --set steps=2 --set task.iters_per_step=2 --set task.eval_samples=16
      --set task.batch_size=4 --set "task.geometry={gf: 8, df: 8, bottom: 2}")
  fi
  stage "pbtnas GPU check, $(date -u +%Y-%m-%dT%H:%MZ), device $device"
  if [ "$device" != cpu ]; then
    # cuBLAS, cuRAND, cuDNN, NVRTC and the CUDA runtime from PyTorch's NVIDIA wheels; libcuda from
    # the driver.
    local nv
    nv=$(python3 -c 'import nvidia; print(" ".join(nvidia.__path__))' | xargs -I{} find {} -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd:)
    export LD_LIBRARY_PATH=$nv:${LD_LIBRARY_PATH:-}
    ldd "$bundle/pbtnas" | grep -E "not found" && echo "(libraries missing: see above)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  fi
  "$py" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda,
    torch.cuda.get_device_name(0) if torch.cuda.is_available() else "(no GPU)")'

  stage "CUDA against CPU: every op (values and gradients), a GAN member, DrQ-v2 agent updates"
  local tests=("$bundle"/tests/*)
  [ -e "${tests[0]}" ] || { echo "(no test binaries in $bundle)"; tests=(); }
  for t in "${tests[@]}"; do
    echo "-- $(basename "$t")"
    timeout 90 "$t" cuda --test-threads 1 --nocapture 2>&1 |
      grep --line-buffered -E "CUDA matches|skipped|test result|panicked|FAILED|differs"
    [ "${PIPESTATUS[0]}" = 0 ] || failed+=("${t##*/}")
  done

  stage "one GanHard iteration (benchmark genome; D step + every 5th G step + EMA), CIFAR size, D batch 40"
  local own_kernels_ok=yes
  with_peak_memory 90 "$bundle/gan_step" $cifar --iters $gan_iters --device "$device" || own_kernels_ok=no
  with_peak_memory 90 "$py" scripts/bench/gan_torch.py $cifar --iters $gan_iters --device "$device"

  stage "one DrQ-v2 update (original networks, 84x84 frames, hidden 1024), batch 256"
  with_peak_memory 90 "$bundle/drq_update" $drq --iters $drq_iters --device "$device"
  with_peak_memory 90 "$py" scripts/bench/drq_torch.py $drq --iters $drq_iters --device "$device"

  stage "where the time goes: the same two workloads with a device synchronisation after each phase (PBTNAS_PROFILE=1)"
  export PBTNAS_PROFILE=1
  with_peak_memory 90 "$bundle/gan_step" $cifar --iters $gan_iters --device "$device"
  with_peak_memory 90 "$py" scripts/bench/gan_torch.py $cifar --iters $gan_iters --device "$device"
  with_peak_memory 90 "$bundle/drq_update" $drq --iters $drq_iters --device "$device"
  with_peak_memory 90 "$py" scripts/bench/drq_torch.py $drq --iters $drq_iters --device "$device"
  unset PBTNAS_PROFILE

  stage "the same with candle's own ops instead of pbtnas's kernels (PBTNAS_CANDLE_OPS): all groups, then the convolutions only"
  with_peak_memory 90 env PBTNAS_CANDLE_OPS=all "$bundle/gan_step" $cifar --iters $gan_iters --device "$device"
  with_peak_memory 90 env PBTNAS_CANDLE_OPS=conv "$bundle/gan_step" $cifar --iters $gan_iters --device "$device"
  with_peak_memory 90 env PBTNAS_CANDLE_OPS=all "$bundle/drq_update" $drq --iters $drq_iters --device "$device"
  if [ $own_kernels_ok = no ]; then
    echo "(the GAN iteration failed on pbtnas's kernels: the stages below run candle's own ops)"
    export PBTNAS_CANDLE_OPS=all
  fi

  stage "two GAN members at once on one device (the paper's CIFAR configs: members_per_gpu 2)"
  with_peak_memory 120 bash -c "\"$bundle/gan_step\" $cifar --iters $gan_iters --device $device &
    \"$bundle/gan_step\" $cifar --iters $gan_iters --device $device; wait"

  stage "one PBT step of configs/gan/c10_ganhard_pbtnas.yaml, tiny budget (sprites instead of CIFAR-10: no network here)"
  local run_dir
  run_dir=$(mktemp -d)/pbt
  with_peak_memory 150 "$bundle/pbtnas" run configs/gan/c10_ganhard_pbtnas.yaml --device "$device" \
    --run-dir "$run_dir" --set task.dataset=sprites --set task.epochs_per_step=null --set task.fitness=fd-pixels8 "${pbt[@]}"
  "$bundle/pbtnas" status "$run_dir" || failed+=("pbtnas status")

  stage "one GanHard iteration, STL size, D batch 128"
  with_peak_memory 90 "$bundle/gan_step" $stl --iters $stl_iters --device "$device"
  with_peak_memory 90 "$py" scripts/bench/gan_torch.py $stl --iters $stl_iters --device "$device"
  local list=none
  ((${#failed[@]})) && list=$(printf '%s, ' "${failed[@]}") && list=${list%, }
  stage "done; failed: $list"
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  *) echo "usage: $0 build|run" >&2; exit 2 ;;
esac
