#!/usr/bin/env bash
# nvcc for a build that checks the CUDA feature compiles and links but runs no kernel (CI has no GPU):
# object files (`-c`) are compiled to unoptimised PTX, which the driver would compile when loaded,
# instead of optimised machine code. The only objects in the build are candle-kernels' static
# library of quantized-model kernels (libmoe: GGUF matmuls, mixture of experts), which pbtnas never
# calls; they took 14 of a clean CUDA build's 24 minutes on 2 cores, 3 this way. PTX builds
# (candle's and pbtnas's own kernels) pass through unchanged. `NVCC=scripts/ci/nvcc-quick.sh` selects
# it; a build for a GPU (`scripts/bench/gpu-check.sh build`) uses nvcc itself.
set -euo pipefail
nvcc="${CUDA_HOME:?CUDA_HOME: source <(scripts/setup/cuda-build.sh --env)}/bin/nvcc"
args=("$@")
if [[ " $* " == *" -c "* ]]; then
  for i in "${!args[@]}"; do
    # -gencode=arch=compute_90a,code=sm_90a -> -gencode=arch=compute_90a,code=compute_90a
    if [[ ${args[$i]} =~ ^-gencode=arch=([a-z0-9_]+),code=sm_ ]]; then
      args[i]="-gencode=arch=${BASH_REMATCH[1]},code=${BASH_REMATCH[1]}"
    fi
  done
  args+=(-Xcicc -O0)
fi
exec "$nvcc" "${args[@]}"
