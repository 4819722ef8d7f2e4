#!/bin/bash
# /usr/local/bin/jan-server on CUDA images: runs the jan-server build made for this machine's GPU.
#
# A CUDA build's quantized matmul kernels are machine code for one GPU generation (ci/build-cuda.sh --caps 80,90),
# so a CUDA image carries one build per generation in JAN_SERVER_BUILDS (default /usr/local/lib/jan-server:
# jan-server-sm80, jan-server-sm90) and this picks one by the first GPU's compute capability (nvidia-smi):
#   8.x  jan-server-sm80   A100, A30, A40, A10/A10G, RTX A6000, L4, L40S, RTX 3090/4090
#   9.0  jan-server-sm90   H100, H200, GH200
# Anything else (no GPU, T4, V100, Blackwell) is refused with a message naming it: those builds link the driver's
# libcuda and have no kernels for other generations. JAN_SERVER_BUILD=sm80|sm90 overrides the choice (where
# nvidia-smi is missing in a container: NVIDIA_DRIVER_CAPABILITIES needs `utility`).
# `jan-server-select --which` prints the chosen binary's path instead of running it.
set -euo pipefail

dir="${JAN_SERVER_BUILDS:-/usr/local/lib/jan-server}"
log() { printf 'jan-server-select: %s\n' "$*" >&2; }

build="${JAN_SERVER_BUILD:-}"
if [[ -z "$build" ]]; then
  if ! command -v nvidia-smi >/dev/null; then
    log "no nvidia-smi: cannot tell the GPU's generation. Run with the NVIDIA driver (containers: --gpus all, or"
    log "NVIDIA_DRIVER_CAPABILITIES=compute,utility), or set JAN_SERVER_BUILD=sm80 (A100, L4, RTX 4090...) or sm90"
    log "(H100, H200)."
    exit 69
  fi
  if ! caps="$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>&1)" || [[ -z "$caps" ]]; then
    log "nvidia-smi found no GPU: ${caps:-no output}"
    log "this image needs an NVIDIA GPU (sm_80 or sm_90); use the CPU image on a machine without one"
    exit 69
  fi
  first="$(head -n 1 <<<"$caps")"
  name="${first%,*}"
  cap="$(tr -d ' ' <<<"${first##*,}")"
  case "$cap" in
    8.*) build=sm80 ;;
    9.0) build=sm90 ;;
    *)
      log "GPU $name has compute capability $cap: this image has builds for 8.x (A100, L4, RTX 4090...) and"
      log "9.0 (H100, H200) only; build one for it with ci/build-cuda.sh --caps ${cap/./} --server"
      exit 69
      ;;
  esac
fi

bin="$dir/jan-server-$build"
if [[ ! -x "$bin" ]]; then
  log "no build $build: $bin is missing (JAN_SERVER_BUILD=$build?)"
  exit 69
fi
if [[ "${1:-}" == --which ]]; then
  echo "$bin"
  exit 0
fi
exec -a jan-server "$bin" "$@"
