#!/usr/bin/env bash
# Installs what `cargo build --features cuda` needs on a machine WITHOUT a GPU or a CUDA toolkit:
# nvcc, ptxas, cicc and the headers and link-time libraries of CUDA 13.0, from NVIDIA's pinned PyPI
# wheels (SHA-256 checked by pip) into the git-ignored third_party/cuda. CUDA 13.0, not newer: the PTX
# that candle-kernels embeds must be loadable by the driver of the GPU machine (580.x = CUDA 13.0).
# libcuda.so (the driver) ships with the driver, not in a wheel, and cuDNN's wheel is 700 MB: stubs
# exporting the driver-API and cuDNN symbols that cudarc declares are compiled for linking; the
# real libraries (driver; cuDNN 9 from PyTorch's wheels) are loaded at run time.
# Idempotent. Prints the environment the build needs; `source <(scripts/setup/cuda-build.sh --env)`
# sets it in the current shell.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD/third_party/cuda
cap=${CUDA_COMPUTE_CAP:-90}

print_env() {
  echo "export CUDA_HOME=$root CUDA_PATH=$root NVCC=$root/bin/nvcc PATH=$root/bin:\$PATH"
  echo "export CUDA_COMPUTE_CAP=$cap CUDARC_CUDA_VERSION=13000 LIBRARY_PATH=$root/lib:$root/lib/stubs"
}

if [ -x "$root/bin/nvcc" ] && [ -f "$root/lib/stubs/libcudnn.so" ] && [ -f "$root/.complete" ]; then
  if [ "${1:-}" = --env ]; then print_env; else echo "CUDA 13.0 build kit is in $root"; print_env; fi
  exit 0
fi
mkdir -p "$root/wheels"
cat >"$root/wheels/requirements.txt" <<'REQ'
nvidia-cuda-nvcc==13.0.88 --hash=sha256:56fe502eb77625a12f25172caa3cdddb4e4c8ba2c8c17dba44b164761b380f03
nvidia-nvvm==13.0.88 --hash=sha256:c5f41ffeb6466944a026dfa5317d7d85355c119bbec279205d22f1869d1054e0
nvidia-cuda-crt==13.0.88 --hash=sha256:2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4
nvidia-cuda-runtime==13.0.96 --hash=sha256:7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548
nvidia-cuda-cccl==13.0.85 --hash=sha256:e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649
nvidia-cuda-nvrtc==13.0.88 --hash=sha256:ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575
nvidia-curand==10.4.0.35 --hash=sha256:1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc
nvidia-cublas==13.0.2.14 --hash=sha256:0cf238ffdbe46c00cb9aa98e7bca745c223a5ca5a53e686ac8b3e5a08fe80d6c
REQ
echo "fetching the CUDA 13.0 wheels (about 700 MB) into $root/wheels" >&2
python3 -m pip download -q --no-deps --only-binary=:all: --require-hashes \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --python-version 3.11 \
  -r "$root/wheels/requirements.txt" -d "$root/wheels" >&2
python3 - "$root" >&2 <<'PY'
import pathlib, sys, zipfile, os, stat
root = pathlib.Path(sys.argv[1])
for whl in sorted((root / "wheels").glob("*.whl")):
    with zipfile.ZipFile(whl) as z:
        for info in z.infolist():
            p = pathlib.PurePosixPath(info.filename)
            if p.parts[:2] != ("nvidia", "cu13") or info.is_dir():
                continue
            dest = root.joinpath(*p.parts[2:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(z.read(info))
            if "/bin/" in info.filename or info.filename.endswith(".so") or ".so." in info.filename:
                dest.chmod(dest.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
PY
# Unversioned names for the linker (the wheels ship only the sonames).
for so in "$root"/lib/lib*.so.*; do
  base=${so%%.so.*}.so
  [ -e "$base" ] || ln -s "$(basename "$so")" "$base"
done
# Link stubs: every function cudarc can reference, returning an error (34: CUDA_ERROR_STUB_LIBRARY),
# for linking and for running a CUDA build where there is no driver.
mkdir -p "$root/lib/stubs"
# cudarc's source is unpacked only once something builds it or `cargo fetch` runs (a clean clone's
# test build has no CUDA): look with a glob, not `ls`, which `pipefail` would turn into an exit.
cudarc_src() { for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.10; do [ -d "$d" ] && echo "$d" && return; done; true; }
reg=$(cudarc_src)
if [ -z "$reg" ]; then cargo fetch -q && reg=$(cudarc_src); fi
[ -n "$reg" ] || { echo "cudarc 0.19.10's source is not in cargo's registry after cargo fetch" >&2; exit 1; }
stub() { # library soname, cudarc bindings file, symbol prefix
  grep -ho "pub unsafe fn $3[A-Za-z0-9_]*" "$reg/$2" | sort -u |
    awk '{print "int " $4 "(void) { return 34; }"}' >"$root/lib/stubs/$1.c"
  gcc -shared -fPIC -Wl,-soname,"$1" -o "$root/lib/stubs/${1%%.so*}.so" "$root/lib/stubs/$1.c"
  # The soname too: with lib/stubs on LD_LIBRARY_PATH a CUDA build runs without a GPU (on the CPU).
  ln -sfn "$(basename "${1%%.so*}").so" "$root/lib/stubs/$1"
}
stub libcuda.so.1 src/driver/sys/mod.rs cu
stub libcudnn.so.9 src/cudnn/sys/mod.rs cudnn
"$root/bin/nvcc" --version | tail -2 >&2
touch "$root/.complete"
if [ "${1:-}" != --env ]; then echo "CUDA 13.0 build kit is in $root; build with:"; fi
print_env
