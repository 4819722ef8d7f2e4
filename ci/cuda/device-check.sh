#!/usr/bin/env bash
# Run the CUDA build's gpu_check on a lent GPU machine (the device tool), from
# the repo root, with target/cuda-dist carried (made by ci/build-cuda.sh).
#
# Usage: bash ci/cuda/device-check.sh [gpu_check arguments]   (default: --synthetic)
#
# The GPU machine has the driver (libcuda.so.1, libnvidia-ml.so.1) but no CUDA
# libraries on the loader's path: libcublas/libcublasLt/libcudart .so.13 and
# libcurand.so.10 come from PyTorch's pip packages (nvidia/cu13/lib). This
# finds them, checks that every library resolves, prints the GPU, then runs
# gpu_check. Exit status: gpu_check's (0 pass, 1 a check failed, 2 could not
# run), 3 when the binary or a library is missing.
set -uo pipefail

BIN="${GPU_CHECK:-target/cuda-dist/gpu_check}"
[[ $# -gt 0 ]] || set -- --synthetic

say() { printf '[device-check] %s\n' "$*"; }

if [[ ! -f "$BIN" ]]; then
  say "$BIN is missing: build it with ci/build-cuda.sh and carry target/cuda-dist"
  exit 3
fi
chmod +x "$BIN" 2>/dev/null || true

# The CUDA 13 libraries' folders go first on LD_LIBRARY_PATH (ci/cuda/env.sh:
# python's nvidia packages first, then the usual toolkit places, then a bounded
# search; a library not found is a warning).
JAN_CUDA_ENV_TAG=device-check
# shellcheck source=ci/cuda/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv 2>&1 | sed 's/^/[device-check] /'
missing="$(ldd "$BIN" | grep 'not found')"
if [[ -n "$missing" ]]; then
  ldd "$BIN"
  say "libraries not found: $missing"
  exit 3
fi
ldd "$BIN" | grep -E 'cuda|cublas|curand|nvrtc' | sed 's/^/[device-check] /'

say "running $BIN $*"
start=$(date +%s.%N)
"$BIN" "$@"
rc=$?
say "gpu_check exited with $rc after $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
exit "$rc"
