#!/usr/bin/env bash
# Cross-build jan-core's CUDA programs on a machine without a GPU (and without a
# system CUDA toolkit), for a lent H100/H200 that has a driver but no Rust.
#
# Usage: ci/build-cuda.sh [--example NAME]... [--all] [--server] [--caps LIST] [--print-env] [--help]
#
#   --example NAME  build this example of jan-core (repeatable; default: gpu_check,
#                   unless --server is given alone)
#   --all           build gpu_check, bench and jan
#   --server        also build the server, jan-server (host-web, --features cuda),
#                   in the same target folder, into target/cuda-dist/jan-server
#   --caps LIST     GPU generations, comma-separated (e.g. 80,90): one build
#                   each, in its own target folder (target/cuda-sm<CAP>; 90:
#                   target/cuda), its binaries in target/cuda-dist/sm<CAP>/.
#                   Without it: one build for CUDA_COMPUTE_CAP, binaries in
#                   target/cuda-dist/
#   --print-env     set up the toolchain, print `export` lines for building by
#                   hand (eval "$(ci/build-cuda.sh --print-env)"), build nothing
#
# Environment:
#   JAN_CUDA_DIR       cache outside the repo: the pip venv with CUDA 13.0, the
#                      libcuda link stub, the linker's symlink folder
#                      (default: $HOME/.cache/jan-cuda)
#   CUDA_COMPUTE_CAP   GPU generation to compile the kernels for, without --caps
#                      (default 90 = H100/H200; 80 = A100, A10/A10G, L4, L40S,
#                      RTX 3090/4090: sm_80 code runs on every 8.x GPU)
#   CARGO_TARGET_DIR   the CPU build's target folder (default: <repo>/target);
#                      the CUDA builds use its cuda/ and cuda-sm<CAP>/
#                      subfolders, so the CPU build's cache is left alone
#   CUDAFORGE_THREADS  parallel nvcc jobs (default 2; more needs more memory)
#   PYTHON             python3 with venv and pip (default: python3)
#
# Result: stripped binaries in <repo>/target/cuda-dist/ (inside the repo and
# git-ignored, so the device tool can carry that folder), their size and their
# run-time libraries are printed; stdout gets the binaries' paths, one a line.
# A clean build takes about 6.5 minutes on 2 cores per GPU generation, nearly
# all of it nvcc on candle-kernels; later builds are incremental.
#
# Why one build per generation: candle's kernels are PTX for compute_<CAP>
# (JIT-compiled by the driver for newer GPUs), but its quantized matmul kernels
# (mmq/mmvq) are machine code for sm_<CAP> only, which runs on the same major
# generation and no other. packer/files/jan-server-select.sh picks the build
# for the GPU it finds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${JAN_CUDA_DIR:-$HOME/.cache/jan-cuda}"
PYTHON="${PYTHON:-python3}"
CAP="${CUDA_COMPUTE_CAP:-90}"
TARGET_BASE="${CARGO_TARGET_DIR:-$ROOT/target}"
DIST_BASE="$ROOT/target/cuda-dist"
CARRY_LIMIT=$((64 << 20))

# CUDA 13.0, pinned: the GPU machines' driver (580) supports CUDA 13.0 and
# rejects code from a newer nvcc. Everything lands in site-packages/nvidia/cu13.
WHEELS=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-cccl==13.0.85
  nvidia-cublas==13.1.0.3
  nvidia-curand==10.4.0.35
  nvidia-cuda-nvrtc==13.0.88
)

log() { printf '[build-cuda] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }

examples=()
print_env=0
server=0
caps=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --example) [[ $# -ge 2 ]] || die "--example needs a name"; examples+=("$2"); shift ;;
    --all) examples+=(gpu_check bench jan) ;;
    --server) server=1 ;;
    --caps) [[ $# -ge 2 ]] || die "--caps needs a list"; caps="$2"; shift ;;
    --print-env) print_env=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ ${#examples[@]} -gt 0 || $server -eq 1 ]] || examples=(gpu_check)
cap_list=()
if [[ -n "$caps" ]]; then
  IFS=, read -r -a cap_list <<<"$caps"
  for c in "${cap_list[@]}"; do
    [[ "$c" =~ ^[0-9]{2,3}$ ]] || die "--caps: not a compute capability: '$c' (e.g. 80,90)"
  done
fi

for tool in cargo gcc strip readelf flock "$PYTHON"; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
mkdir -p "$CACHE"
# One run at a time per cache (cargo locks the target folder itself).
exec 9>"$CACHE/.lock"
flock 9

# 1. The CUDA toolkit from PyPI, in a venv (about 1.2 GB), installed once.
venv="$CACHE/venv"
stamp="$venv/.jan-wheels"
if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "${WHEELS[*]}" ]]; then
  log "installing CUDA 13.0 wheels into $venv (about 1.2 GB, a few minutes)"
  [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${WHEELS[@]}"
  printf '%s' "${WHEELS[*]}" >"$stamp"
fi
C="$("$venv/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')"
[[ -x "$C/bin/nvcc" ]] || die "nvcc not found under $C"

# 2. The libcuda stub, made from the cudarc version in Cargo.lock.
cudarc_dir="$(cd "$ROOT" && cargo metadata --format-version 1 --features jan-core/cuda 2>/dev/null |
  "$PYTHON" -c 'import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "cudarc":
        print(os.path.dirname(p["manifest_path"]))
        break')"
[[ -n "$cudarc_dir" ]] || die "cudarc is not in the dependency graph (is the cuda feature in core/Cargo.toml?)"
stub_dir="$CACHE/stub/$(basename "$cudarc_dir")"
if [[ ! -f "$stub_dir/libcuda.so.1" ]]; then
  bash "$ROOT/ci/cuda/make-libcuda-stub.sh" "$cudarc_dir" "$stub_dir"
fi

# 3. Unversioned names for the linker (the wheels ship only the .so.N files).
link="$CACHE/link"
mkdir -p "$link"
ln -sfn "$stub_dir/libcuda.so.1" "$link/libcuda.so"
for pair in cudart:13 cublas:13 cublasLt:13 nvrtc:13 curand:10; do
  lib="${pair%%:*}"
  ln -sfn "$C/lib/lib$lib.so.${pair##*:}" "$link/lib$lib.so"
done

# LIBRARY_PATH rather than RUSTFLAGS=-L: changing RUSTFLAGS changes every
# crate's hash and recompiles the kernels.
export NVCC="$C/bin/nvcc" CUDA_HOME="$C" CUDA_PATH="$C" CUDA_ROOT="$C"
export PATH="$C/bin:$PATH"
export LIBRARY_PATH="$link${LIBRARY_PATH:+:$LIBRARY_PATH}"
export CUDAFORGE_THREADS="${CUDAFORGE_THREADS:-2}"

# target_of CAP: the target folder of one generation's build (90 keeps the
# folder that builds without --caps have always used).
target_of() {
  if [[ "$1" == 90 ]]; then echo "$TARGET_BASE/cuda"; else echo "$TARGET_BASE/cuda-sm$1"; fi
}

if [[ $print_env -eq 1 ]]; then
  export CUDA_COMPUTE_CAP="$CAP"
  CARGO_TARGET_DIR="$(target_of "$CAP")"
  export CARGO_TARGET_DIR
  for v in NVCC CUDA_HOME CUDA_PATH CUDA_ROOT PATH CUDA_COMPUTE_CAP LIBRARY_PATH CUDAFORGE_THREADS CARGO_TARGET_DIR; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  exit 0
fi

allowed='^(libcuda\.so\.1|libcublas\.so\.13|libcublasLt\.so\.13|libcudart\.so\.13|libcurand\.so\.10|libnvrtc\.so\.13|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libm\.so\.6|libc\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-x86-64\.so\.2)$'
total=0
built=() # every binary made, for stdout

# build_for CAP DIST: 4. build for one GPU generation, 5. strip, inspect and
# report its binaries in DIST.
build_for() {
  local cap="$1" dist="$2" target
  target="$(target_of "$cap")"
  export CUDA_COMPUTE_CAP="$cap" CARGO_TARGET_DIR="$target"
  # The server is a second cargo run in the same target folder: its jan-core
  # has other features (openapi), so it is compiled again, but candle and its
  # kernels are shared, and the examples' build stays as it was without --server.
  local bins=() start=$SECONDS e bin pair size glibc lib
  if [[ ${#examples[@]} -gt 0 ]]; then
    local ex_args=()
    for e in "${examples[@]}"; do
      ex_args+=(--example "$e")
      bins+=("$e:$target/release/examples/$e")
    done
    log "cargo build --release -p jan-core --features cuda ${ex_args[*]} (sm_$cap, target $target)"
    (cd "$ROOT" && cargo build --release -p jan-core --features cuda "${ex_args[@]}")
  fi
  if [[ $server -eq 1 ]]; then
    log "cargo build --release -p jan-server --features cuda (sm_$cap, target $target)"
    (cd "$ROOT" && cargo build --release -p jan-server --features cuda)
    bins+=("jan-server:$target/release/jan-server")
  fi
  log "sm_$cap built in $((SECONDS - start)) s"

  mkdir -p "$dist"
  for pair in "${bins[@]}"; do
    e="${pair%%:*}"
    bin="${pair#*:}"
    [[ -x "$bin" ]] || die "$bin was not built"
    strip -o "$dist/$e.tmp" "$bin"
    mv "$dist/$e.tmp" "$dist/$e"
    size=$(stat -c %s "$dist/$e")
    total=$((total + size))
    mapfile -t needed < <(readelf -d "$dist/$e" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    glibc=$(readelf -V -W "$dist/$e" | grep -oE 'GLIBC_[0-9.]+' | sort -uV | tail -1)
    log "$dist/$e: $((size >> 20)) MiB stripped ($size bytes, unstripped $(($(stat -c %s "$bin") >> 20)) MiB)"
    log "  needs at run time: ${needed[*]} (newest glibc symbol: $glibc)"
    for lib in "${needed[@]}"; do
      [[ "$lib" =~ $allowed ]] || die "$e needs an unexpected library: $lib"
    done
    # How the libraries resolve here, with the stub standing in for the driver.
    LD_LIBRARY_PATH="$stub_dir:$C/lib" ldd "$dist/$e" | grep -E 'cuda|cublas|curand|nvrtc|not found' | sed 's/^/[build-cuda]   /' >&2 || true
    built+=("$dist/$e")
  done
}

if [[ ${#cap_list[@]} -eq 0 ]]; then
  build_for "$CAP" "$DIST_BASE"
else
  for c in "${cap_list[@]}"; do
    build_for "$c" "$DIST_BASE/sm$c"
  done
fi
log "on the GPU machine: libcuda.so.1 comes from the driver; libcublas/libcublasLt/libcudart .so.13 and"
log "libcurand.so.10 from PyTorch's nvidia/cu13/lib (ci/cuda/env.sh sets LD_LIBRARY_PATH)"
if [[ $total -ge $CARRY_LIMIT ]]; then
  log "warning: $((total >> 20)) MiB is over the device tool's 64 MiB carry limit: carry fewer binaries, or compress them (ci/cuda/pack.sh)"
else
  log "total $((total >> 20)) MiB of the device tool's 64 MiB carry limit (the repo's own files count too)"
fi
printf '%s\n' "${built[@]}"
