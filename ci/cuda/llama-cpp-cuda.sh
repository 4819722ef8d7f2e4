#!/usr/bin/env bash
# llama.cpp's CUDA tools (llama-bench, llama-server) for a lent GPU machine: we
# cannot build them here in time (no GPU, 2 cores), so the sources travel with
# the repository and are built there, next to the other device checks.
#
# Usage: ci/cuda/llama-cpp-cuda.sh pack [OUT]
#        ci/cuda/llama-cpp-cuda.sh build [SRC_TARBALL] [PREFIX]
#        ci/cuda/llama-cpp-cuda.sh --help
#
#   pack   (here; needs PyPI) take the llama.cpp sources that ci/build-llama-cpp.sh
#          pins and verifies (its cache is reused), keep only what a CMake build
#          of llama-bench and llama-server needs, and write them as OUT (default:
#          target/cuda-dist/llama.cpp-src.tar.xz, git-ignored, carried with
#          target/cuda-dist). Stdout: OUT.
#   build  (there; needs a CUDA toolkit with nvcc, CMake, a C++ compiler, no
#          network) unpack SRC_TARBALL (default: pack's OUT) under
#          $LLAMA_CUDA_WORK, configure with GGML_CUDA=ON, build llama-bench and
#          llama-server with all cores, copy them to PREFIX/bin (default:
#          /tmp/llama-cuda/bin) and print their libraries. Stdout: PREFIX/bin.
#          Logs: $LLAMA_CUDA_WORK/{configure,build}.log. Should the CUDA
#          libraries only resolve with LD_LIBRARY_PATH, PREFIX/env.sh sets it.
#
# Environment (build):
#   LLAMA_CUDA_ARCH        CMAKE_CUDA_ARCHITECTURES (default 90-real: H100/H200
#                          machine code only, no PTX)
#   LLAMA_CUDA_FA          GGML_CUDA_FA, ON or OFF (default OFF: the FlashAttention
#                          kernels compile to nothing, minutes saved; run the
#                          tools with `-fa off`, they cannot use it)
#   LLAMA_CUDA_JOBS        parallel compile jobs (default: all cores)
#   LLAMA_CUDA_WORK        work folder, src/ and build/ (default /tmp/llama-cuda-work);
#                          a second run with the same tarball builds incrementally
#   LLAMA_CUDA_TARGETS     targets to build (default "llama-bench llama-server")
#   LLAMA_CUDA_CPU_ONLY    1: GGML_CUDA=OFF, no toolkit needed (checks the tarball)
#   LLAMA_CUDA_CONFIGURE_ONLY  1: stop after configuring (and checking the targets)
#   LLAMA_CUDA_CMAKE_ARGS  extra CMake arguments, split on spaces
#   LLAMA_CUDA_LIBRARY_PATH  folders (a:b) searched first for libcuda/libcudart/
#                          libcublas when the toolkit lacks the unversioned .so
#   CUDACXX                nvcc (default: PATH, /usr/local/cuda*/bin, then the
#                          nvidia pip packages of $PYTHON)
#   PYTHON                 python3, for pip's cmake, ninja or nvcc (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
DEFAULT_TARBALL="$ROOT/target/cuda-dist/llama.cpp-src.tar.xz"
SIZE_WARN=$((10 << 20))
# The tarball's top folder and the manifest written into it.
TOP=llama.cpp
MANIFEST=JAN-SOURCE.txt

log() { printf '[llama-cpp-cuda] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

TMP_DIR=""
OUT_TMP=""
cleanup() {
  if [[ -n "$TMP_DIR" ]]; then rm -rf "$TMP_DIR"; fi
  if [[ -n "$OUT_TMP" ]]; then rm -f "$OUT_TMP"; fi
}
trap cleanup EXIT

# --- pack ---------------------------------------------------------------------

# What a build of llama-bench and llama-server (tools, examples and tests off)
# reads, relative to the llama.cpp root. Everything else is left out: models/
# (vocab GGUFs, 75 MB), docs/, media/, tests/, examples/, pocs/, benches/,
# .github/, gguf-py/, conversion/, the python scripts, grammars/, ...
PACK_KEEP=(
  CMakeLists.txt CMakePresets.json LICENSE licenses
  cmake include src common ggml tools vendor app
  scripts/ui-assets.cmake
)
# Left out inside the kept folders: ggml backends that are only added when
# their GGML_<NAME> option is ON (CPU, CUDA, BLAS, RPC and the HIP/MUSA
# wrappers of the CUDA sources stay), the web UI's sources (the server is built
# without it, LLAMA_BUILD_UI=OFF and LLAMA_USE_PREBUILT_UI=OFF: only its CMake
# files and templates are read), server and mtmd test data.
PACK_DROP=(
  ggml/src/ggml-cann ggml/src/ggml-et ggml/src/ggml-hexagon ggml/src/ggml-metal
  ggml/src/ggml-opencl ggml/src/ggml-openvino ggml/src/ggml-sycl
  ggml/src/ggml-virtgpu ggml/src/ggml-vulkan ggml/src/ggml-webgpu
  ggml/src/ggml-zdnn ggml/src/ggml-zendnn
  tools/server/tests tools/server/bench
  tools/mtmd/tests tools/mtmd/legacy-models
  tools/mtmd/test-1.jpeg tools/mtmd/test-2.mp3 tools/mtmd/test-3.mp4
)
PACK_UI_KEEP=(CMakeLists.txt sources.cmake ui.cpp.in ui.h.in)
# Must be there, or the tarball is useless.
PACK_NEED=(
  CMakeLists.txt ggml/CMakeLists.txt ggml/src/CMakeLists.txt
  ggml/src/ggml-cuda/CMakeLists.txt ggml/src/ggml-cpu/CMakeLists.txt
  src/CMakeLists.txt common/CMakeLists.txt vendor/CMakeLists.txt
  tools/CMakeLists.txt tools/llama-bench/CMakeLists.txt
  tools/server/CMakeLists.txt tools/mtmd/CMakeLists.txt
  tools/ui/CMakeLists.txt tools/ui/ui.cpp.in tools/ui/ui.h.in
  scripts/ui-assets.cmake
)

# A pin of ci/build-llama-cpp.sh (NAME="value").
pin() {
  sed -n "s/^$1=\"\\([^\"]*\\)\".*/\\1/p" "$ROOT/ci/build-llama-cpp.sh" | head -n 1
}

cmd_pack() {
  [[ $# -le 1 ]] || die "pack takes at most one argument (OUT)"
  local out="${1:-$DEFAULT_TARBALL}"
  local version commit sdist_sha src stage p f rel size
  version="$(pin LLAMA_CPP_PYTHON_VERSION)"
  commit="$(pin LLAMA_CPP_COMMIT)"
  sdist_sha="$(pin LLAMA_CPP_PYTHON_SHA256)"
  [[ -n "$version" && -n "$commit" ]] || die "could not read the pins from ci/build-llama-cpp.sh"
  command -v xz >/dev/null 2>&1 || die "xz is not installed"

  log "llama.cpp sources of llama-cpp-python $version (commit $commit), from ci/build-llama-cpp.sh --source-only"
  src="$("$ROOT/ci/build-llama-cpp.sh" --source-only)" || die "ci/build-llama-cpp.sh --source-only failed"
  [[ -f "$src/CMakeLists.txt" ]] || die "no llama.cpp sources in '$src'"

  TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/llama-cpp-cuda.XXXXXX")"
  stage="$TMP_DIR/$TOP"
  mkdir -p "$stage"
  for p in "${PACK_KEEP[@]}"; do
    [[ -e "$src/$p" ]] || die "$src/$p is missing"
  done
  (cd "$src" && tar -cf - "${PACK_KEEP[@]}") | (cd "$stage" && tar -xf -)
  for p in "${PACK_DROP[@]}"; do
    rm -rf "${stage:?}/$p"
  done
  # tools/ui: only the files that CMake reads.
  for f in "$stage"/tools/ui/* "$stage"/tools/ui/.[!.]*; do
    [[ -e "$f" ]] || continue
    rel="${f##*/}"
    case " ${PACK_UI_KEEP[*]} " in
      *" $rel "*) ;;
      *) rm -rf "$f" ;;
    esac
  done
  find "$stage" \( -name __pycache__ -o -name '*.pyc' -o -name .DS_Store \) -prune -exec rm -rf {} +
  for p in "${PACK_NEED[@]}"; do
    [[ -f "$stage/$p" ]] || die "the trimmed tree lacks $p"
  done

  cat >"$stage/$MANIFEST" <<EOF
llama.cpp sources for ci/cuda/llama-cpp-cuda.sh build (written by its pack step).
llama-cpp-python: $version (sdist sha256 $sdist_sha), vendor/llama.cpp
llama.cpp commit: $commit
kept: ${PACK_KEEP[*]}
dropped inside: ${PACK_DROP[*]} tools/ui/* except ${PACK_UI_KEEP[*]}
EOF

  mkdir -p "$(dirname "$out")"
  log "compressing $(du -sh "$stage" | cut -f1) of sources ($(find "$stage" -type f | wc -l) files) with xz -9"
  # Stable order, owners and times (those of the sdist's CMakeLists.txt), so
  # that the same sources give the same tarball: `build` only rebuilds from
  # scratch when the tarball changed.
  OUT_TMP="$out.tmp"
  tar -C "$TMP_DIR" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$(stat -c %Y "$src/CMakeLists.txt")" -cf - "$TOP" \
    | xz -9 -T2 -c >"$out.tmp"
  mv "$out.tmp" "$out"
  OUT_TMP=""
  size="$(stat -c %s "$out")"
  log "$out: $size bytes ($((size >> 10)) KiB), sha256 $(sha256_of "$out")"
  ((size <= SIZE_WARN)) || log "warning: larger than $((SIZE_WARN >> 20)) MiB; the device transfer holds 64 MiB in all"
  printf '%s\n' "$out"
}

# --- build --------------------------------------------------------------------

# A usable nvcc: $CUDACXX, PATH, the usual toolkit folders, then the nvidia
# pip packages (cu13 layout first, then cu12's nvidia/cuda_nvcc).
find_nvcc() {
  local c
  if [[ -n "${CUDACXX:-}" ]]; then
    [[ -x "$CUDACXX" ]] || die "CUDACXX=$CUDACXX is not executable"
    printf '%s\n' "$CUDACXX"
    return 0
  fi
  c="$(command -v nvcc 2>/dev/null || true)"
  if [[ -n "$c" ]]; then printf '%s\n' "$c"; return 0; fi
  local -a cands=(/usr/local/cuda/bin/nvcc)
  mapfile -t -O 1 cands < <(find /usr/local -maxdepth 3 -path '/usr/local/cuda-*/bin/nvcc' 2>/dev/null | sort -rV)
  cands+=(/opt/cuda/bin/nvcc)
  for c in "${cands[@]}"; do
    if [[ -x "$c" ]]; then printf '%s\n' "$c"; return 0; fi
  done
  "$PYTHON" - <<'EOF' 2>/dev/null || true
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
for r in roots:
    for pat in ("cu13/bin/nvcc", "cuda_nvcc/bin/nvcc", "cu*/bin/nvcc", "*/bin/nvcc"):
        for f in sorted(glob.glob(os.path.join(r, pat)), reverse=True):
            if os.access(f, os.X_OK):
                print(f)
                raise SystemExit(0)
EOF
}

# cmake on PATH, else the one of python's cmake package.
find_cmake() {
  local c
  c="$(command -v cmake 2>/dev/null || true)"
  if [[ -z "$c" ]]; then
    c="$("$PYTHON" -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))' 2>/dev/null || true)"
  fi
  [[ -n "$c" && -x "$c" ]] && printf '%s\n' "$c"
}

# ninja on PATH, else the one of python's ninja package (its BIN_DIR, or the
# scripts folder it was installed to); nothing when there is none.
find_ninja() {
  local c
  c="$(command -v ninja 2>/dev/null || true)"
  if [[ -z "$c" ]]; then
    c="$("$PYTHON" - <<'EOF' 2>/dev/null || true
import os, sys, sysconfig
try:
    import ninja
except Exception:
    raise SystemExit(0)
dirs = [getattr(ninja, "BIN_DIR", ""), os.path.join(os.path.dirname(ninja.__file__), "data", "bin"),
        sysconfig.get_path("scripts"), os.path.dirname(sys.executable),
        os.path.join(os.path.dirname(os.path.dirname(ninja.__file__)), "bin")]
for d in dirs:
    f = os.path.join(d, "ninja") if d else ""
    if f and os.access(f, os.X_OK):
        print(f)
        break
EOF
)"
  fi
  [[ -n "$c" && -x "$c" ]] && printf '%s\n' "$c"
  return 0
}

# The library folders of the nvidia pip packages (nvidia/cu13/lib, or cu12's
# nvidia/<package>/lib).
pip_lib_dirs() {
  "$PYTHON" - <<'EOF' 2>/dev/null || true
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "*", "lib"))):
        print(d)
EOF
}

# The toolkit's library folders (stubs last).
toolkit_lib_dirs() {
  local root="$1" d
  for d in "$root/lib64" "$root/lib" "$root"/targets/*/lib "$root/lib64/stubs" "$root/lib/stubs" "$root"/targets/*/lib/stubs; do
    if [[ -d "$d" ]]; then printf '%s\n' "$d"; fi
  done
}

# CMake's FindCUDAToolkit wants libcudart.so, libcublas.so, libcublasLt.so and
# libcuda.so, in the toolkit's or the system's folders. pip's toolkit packages
# ship only the versioned files (libcudart.so.13) and a driver without a
# toolkit only libcuda.so.1. Each one missing there is linked into $1 from
# $LLAMA_CUDA_LIBRARY_PATH, the nvidia pip packages or a versioned file (the
# folder then goes to CMake as CMAKE_LIBRARY_PATH); prints $1 when used.
link_shims() {
  local shim="$1" root="$2" name d f found used=0
  local -a own=() extra=()
  mapfile -t own < <(toolkit_lib_dirs "$root")
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /lib/x86_64-linux-gnu /usr/lib/wsl/lib; do
    if [[ -d "$d" ]]; then own+=("$d"); fi
  done
  if [[ -n "${LLAMA_CUDA_LIBRARY_PATH:-}" ]]; then
    IFS=: read -r -a extra <<<"$LLAMA_CUDA_LIBRARY_PATH"
  fi
  mapfile -t -O "${#extra[@]}" extra < <(pip_lib_dirs)
  rm -rf "$shim"
  for name in cudart cublas cublasLt cuda; do
    found=""
    for d in "${own[@]}"; do
      if [[ -e "$d/lib$name.so" ]]; then found=own; break; fi
    done
    if [[ "$found" == own ]]; then continue; fi
    for d in "${extra[@]}"; do
      if [[ -e "$d/lib$name.so" ]]; then found="$d/lib$name.so"; break; fi
    done
    if [[ -z "$found" ]]; then
      for d in "${extra[@]}" "${own[@]}"; do
        f="$(find "$d/" -maxdepth 1 -name "lib$name.so.[0-9]*" 2>/dev/null | sort -V | head -n 1 || true)"
        if [[ -n "$f" ]]; then found="$f"; break; fi
      done
    fi
    if [[ -z "$found" && "$name" == cuda ]]; then
      found="$(ldconfig -p 2>/dev/null | sed -n 's/.*libcuda\.so\.1 .*=> //p' | head -n 1 || true)"
    fi
    if [[ -z "$found" ]]; then
      log "warning: no lib$name.so found: CMake will not find CUDA::$([[ $name == cuda ]] && echo cuda_driver || echo "$name") (set LLAMA_CUDA_LIBRARY_PATH)"
      continue
    fi
    mkdir -p "$shim"
    ln -sfn "$found" "$shim/lib$name.so"
    # The versioned names too, so that the binaries' RUNPATH (CMake adds this
    # folder) finds them; not the driver's: the system's libcuda.so.1 is used.
    if [[ "$name" != cuda ]]; then
      for f in "$(dirname "$(readlink -f "$found")")/lib$name.so".[0-9]*; do
        if [[ -e "$f" ]]; then ln -sfn "$f" "$shim/${f##*/}"; fi
      done
    fi
    log "lib$name.so -> $found (linked in $shim)"
    used=1
  done
  if ((used)); then printf '%s\n' "$shim"; fi
}

unpack() {
  local tarball="$1" dest="$2"
  mkdir -p "$dest"
  if command -v xz >/dev/null 2>&1; then
    tar -xJf "$tarball" -C "$dest"
  else
    "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$tarball" "$dest"
  fi
}

cmd_build() {
  [[ $# -le 2 ]] || die "build takes at most two arguments (SRC_TARBALL PREFIX)"
  local tarball="${1:-$DEFAULT_TARBALL}" prefix="${2:-/tmp/llama-cuda}"
  local work="${LLAMA_CUDA_WORK:-/tmp/llama-cuda-work}"
  local arch="${LLAMA_CUDA_ARCH:-90-real}"
  local fa="${LLAMA_CUDA_FA:-OFF}"
  local jobs="${LLAMA_CUDA_JOBS:-$(nproc 2>/dev/null || echo 4)}"
  local cpu_only="${LLAMA_CUDA_CPU_ONLY:-0}" configure_only="${LLAMA_CUDA_CONFIGURE_ONLY:-0}"
  local -a targets extra args
  read -r -a targets <<<"${LLAMA_CUDA_TARGETS:-llama-bench llama-server}"
  read -r -a extra <<<"${LLAMA_CUDA_CMAKE_ARGS:-}"
  local src build sum commit cmake ninja nvcc="" cuda_root="" shim t start missing

  [[ -f "$tarball" ]] || die "$tarball not found (make it with: ci/cuda/llama-cpp-cuda.sh pack, and carry target/cuda-dist)"
  case "$fa" in ON|OFF) ;; *) die "LLAMA_CUDA_FA must be ON or OFF, not '$fa'" ;; esac
  [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "LLAMA_CUDA_JOBS must be a positive number, not '$jobs'"
  [[ ${#targets[@]} -gt 0 ]] || die "LLAMA_CUDA_TARGETS is empty"
  mkdir -p "$work" "$prefix/bin"
  work="$(cd "$work" && pwd)"
  prefix="$(cd "$prefix" && pwd)"
  src="$work/src/$TOP"
  build="$work/build"

  # --- tools
  cmake="$(find_cmake || true)"
  [[ -n "$cmake" ]] || die "cmake not found (neither on PATH nor python's cmake package: $PYTHON -m pip install cmake)"
  command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || die "no C++ compiler (c++/g++) on PATH"
  ninja="$(find_ninja)"
  local cmake_version
  cmake_version="$("$cmake" --version | sed -n 's/^cmake version \([0-9.]*\).*/\1/p' | head -n 1)"
  [[ "$(printf '%s\n' 3.18 "$cmake_version" | sort -V | head -n 1)" == 3.18 ]] \
    || die "$cmake is version ${cmake_version:-unknown}; ggml-cuda needs CMake 3.18 or newer ($PYTHON -m pip install cmake)"
  log "$("$cmake" --version | head -n 1) ($cmake), generator: $(if [[ -n "$ninja" ]]; then echo "Ninja ($ninja)"; else echo "Unix Makefiles"; fi)"
  if [[ "$cpu_only" != 1 ]]; then
    nvcc="$(find_nvcc)"
    [[ -n "$nvcc" ]] || die "nvcc not found: not on PATH, not in /usr/local/cuda*/bin, not in $PYTHON's nvidia packages (set CUDACXX)"
    nvcc="$(readlink -f "$nvcc")"
    cuda_root="$(dirname "$(dirname "$nvcc")")"
    log "nvcc: $nvcc ($("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -n 1)), toolkit root $cuda_root"
  fi

  # --- sources: unpacked again only when the tarball changed
  sum="$(sha256_of "$tarball")"
  if [[ -f "$src/CMakeLists.txt" && "$(cat "$work/src.sha256" 2>/dev/null)" == "$sum" ]]; then
    log "sources already unpacked in $src (same tarball); the build folder is kept"
  else
    log "unpacking $tarball -> $work/src"
    rm -rf "$work/src" "$build" "$work/src.sha256"
    unpack "$tarball" "$work/src" || die "could not unpack $tarball"
    [[ -f "$src/CMakeLists.txt" ]] || die "$tarball has no $TOP/CMakeLists.txt"
    printf '%s\n' "$sum" >"$work/src.sha256"
  fi
  commit="$(sed -n 's/^llama.cpp commit: //p' "$src/$MANIFEST" 2>/dev/null | head -n 1)"

  # --- configure
  # LLAMA_CURL is deprecated (ignored) in this llama.cpp, kept for older pins.
  # No web UI (it would be downloaded from Hugging Face), no app/tests/
  # examples, static libraries (the binaries only need the CUDA libraries and
  # the driver), NCCL off (one GPU), no ccache (a cold cache only costs).
  args=(
    -S "$src" -B "$build"
    -DCMAKE_BUILD_TYPE=Release
    -DGGML_NATIVE=ON
    -DGGML_CCACHE=OFF
    -DLLAMA_CURL=OFF
    -DLLAMA_OPENSSL=OFF
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_USE_PREBUILT_UI=OFF
    -DLLAMA_BUILD_UI=OFF
    -DBUILD_SHARED_LIBS=OFF
  )
  [[ -z "$commit" ]] || args+=("-DLLAMA_BUILD_COMMIT=$commit")
  if [[ -n "$ninja" ]]; then
    args+=(-G Ninja "-DCMAKE_MAKE_PROGRAM=$ninja")
  else
    args+=(-G "Unix Makefiles")
  fi
  if [[ "$cpu_only" == 1 ]]; then
    args+=(-DGGML_CUDA=OFF)
    log "LLAMA_CUDA_CPU_ONLY=1: GGML_CUDA=OFF"
  else
    args+=(
      -DGGML_CUDA=ON
      "-DCMAKE_CUDA_COMPILER=$nvcc"
      "-DCUDAToolkit_ROOT=$cuda_root"
      "-DCMAKE_CUDA_ARCHITECTURES=$arch"
      "-DGGML_CUDA_FA=$fa"
      -DGGML_CUDA_NCCL=OFF
    )
    # pip's layout (nvidia/cu13) has lib/ where nvcc.profile says lib64/: nvcc's
    # own link step (CMake's compiler check) then misses libcudart_static.a.
    if [[ ! -d "$cuda_root/lib64" && -d "$cuda_root/lib" ]]; then
      export LIBRARY_PATH="$cuda_root/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
      log "no $cuda_root/lib64: LIBRARY_PATH=$LIBRARY_PATH"
    fi
    shim="$(link_shims "$work/cuda-link" "$cuda_root")"
    [[ -z "$shim" ]] || args+=("-DCMAKE_LIBRARY_PATH=$shim")
    log "CUDA: CMAKE_CUDA_ARCHITECTURES=$arch, GGML_CUDA_FA=$fa (FlashAttention kernels $([[ $fa == ON ]] && echo built || echo 'not built: use -fa off'))"
  fi
  args+=("${extra[@]}")

  # A changed configuration (generator, CUDA on/off, ...) starts a new build folder.
  if [[ "$(cat "$work/build.args" 2>/dev/null)" != "${args[*]}" ]]; then
    rm -rf "$build"
  fi
  rm -f "$work/build.args"
  log "configuring: cmake ${args[*]}"
  start=$SECONDS
  if ! "$cmake" "${args[@]}" 2>&1 | tee "$work/configure.log" >&2; then
    die "CMake configure failed (log: $work/configure.log)"
  fi
  printf '%s\n' "${args[*]}" >"$work/build.args"
  log "configured in $((SECONDS - start)) s"

  # The targets must exist (a file missing from the tarball could drop one).
  "$cmake" --build "$build" --target help >"$work/targets.txt" 2>&1 || die "could not list the build's targets"
  missing=()
  for t in "${targets[@]}"; do
    grep -Eq "(^|[ .])$t(:| |\$)" "$work/targets.txt" || missing+=("$t")
  done
  ((${#missing[@]} == 0)) || die "no target ${missing[*]} in the configured build (see $work/targets.txt)"
  log "targets present: ${targets[*]}"
  if [[ "$configure_only" == 1 ]]; then
    log "LLAMA_CUDA_CONFIGURE_ONLY=1: not building"
    return 0
  fi

  # --- build
  log "building ${targets[*]} with $jobs jobs"
  start=$SECONDS
  if ! "$cmake" --build "$build" --config Release -j "$jobs" --target "${targets[@]}" 2>&1 | tee "$work/build.log" >&2; then
    die "build failed after $((SECONDS - start)) s (log: $work/build.log)"
  fi
  log "build wall time: $((SECONDS - start)) s ($jobs jobs)"

  # --- install and check the libraries
  local bins=() ldd_out libpath="" bench="$prefix/bin/llama-bench"
  rm -f "$prefix/env.sh"
  for t in "${targets[@]}"; do
    if [[ -f "$build/bin/$t" && -x "$build/bin/$t" ]]; then
      cp -f "$build/bin/$t" "$prefix/bin/$t"
      bins+=("$prefix/bin/$t")
    fi
  done
  for t in llama-bench llama-server; do
    if [[ " ${targets[*]} " == *" $t "* && ! -x "$prefix/bin/$t" ]]; then
      die "the build finished but $build/bin/$t is missing"
    fi
  done
  for t in "${bins[@]}"; do log "  $t ($(($(stat -c %s "$t") >> 20)) MiB)"; done
  if [[ -x "$bench" ]]; then
    ldd_out="$(ldd "$bench" 2>&1 || true)"
    log "ldd $bench:"
    while IFS= read -r t; do log "  $t"; done <<<"$ldd_out"
    if grep -q 'not found' <<<"$ldd_out"; then
      # Retry with the toolkit's and pip's CUDA library folders.
      libpath="$( { if [[ -n "$cuda_root" ]]; then toolkit_lib_dirs "$cuda_root"; fi; pip_lib_dirs; } | grep -v '/stubs$' | awk '!seen[$0]++' | paste -sd: - || true)"
      ldd_out="$(LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$bench" 2>&1 || true)"
      if [[ -z "$libpath" ]] || grep -q 'not found' <<<"$ldd_out"; then
        die "llama-bench has unresolved libraries (see ldd above)"
      fi
      # shellcheck disable=SC2016 # expanded when env.sh is sourced
      printf 'export LD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\n' "$libpath" >"$prefix/env.sh"
      log "the libraries resolve with LD_LIBRARY_PATH=$libpath: source $prefix/env.sh before running the tools"
      export LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    { "$bench" --version 2>&1 || true; } | grep -m1 '^version' | sed 's/^/[llama-cpp-cuda] llama-bench /' >&2 || true
  fi
  printf '%s\n' "$prefix/bin"
}

# --- main ---------------------------------------------------------------------
[[ $# -ge 1 ]] || { usage >&2; die "missing subcommand (pack or build)"; }
cmd="$1"
shift
case "$cmd" in
  pack) cmd_pack "$@" ;;
  build) cmd_build "$@" ;;
  -h|--help|help) usage ;;
  *) usage >&2; die "unknown subcommand: $cmd" ;;
esac
