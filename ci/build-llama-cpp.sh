#!/usr/bin/env bash
# Build llama.cpp's command-line tools (the reference implementation that the
# project compares with) from the llama.cpp sources vendored in the pinned
# llama-cpp-python sdist on PyPI. The build lives outside the repository.
#
# Usage: ci/build-llama-cpp.sh [--force] [--source-only] [--help]
#
#   --force        delete this version's build folder and build again
#   --source-only  only download, verify and unpack the sources (no build, no
#                  CMake or compiler needed); stdout gets the llama.cpp source
#                  folder instead (ci/cuda/llama-cpp-cuda.sh packs it)
#
# Environment:
#   LLAMA_CPP_DIR     cache folder (default: $HOME/.cache/jan-llama-cpp)
#   LLAMA_CPP_JOBS    parallel compile jobs (default: 2)
#   LLAMA_CPP_NATIVE  GGML_NATIVE, ON (-march=native, fastest) or OFF (portable)
#                     (default: ON). A native build leaves out AMX (-mno-amx-*):
#                     on these VMs, which report AMX, its matrix products
#                     crash (SIGSEGV in ggml_backend_amx_mul_mat on any prompt);
#                     the other CPU repacks (AVX-512) stay on.
#   PYTHON            python interpreter with pip (default: python3)
#
# Progress goes to stderr; the folder holding the binaries is printed last,
# alone, on stdout (so `bin="$(ci/build-llama-cpp.sh)"` works). A stable link
# to it is kept at $LLAMA_CPP_DIR/bin.
set -euo pipefail

# --- pins ---------------------------------------------------------------------
LLAMA_CPP_PYTHON_VERSION="0.3.36"
LLAMA_CPP_PYTHON_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
# llama.cpp commit vendored by that release (from its CHANGELOG.md: "update
# llama.cpp to ggml-org/llama.cpp@0c1e57098"). The sdist carries no .git, so
# it is passed to CMake to make `--version` report it.
LLAMA_CPP_COMMIT="0c1e57098"
# ------------------------------------------------------------------------------

ROOT_DIR="${LLAMA_CPP_DIR:-$HOME/.cache/jan-llama-cpp}"
JOBS="${LLAMA_CPP_JOBS:-2}"
NATIVE="${LLAMA_CPP_NATIVE:-ON}"
PYTHON="${PYTHON:-python3}"
FORCE=0
SOURCE_ONLY=0

log() { printf '[build-llama-cpp] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --source-only) SOURCE_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

mkdir -p "$ROOT_DIR"
ROOT_DIR="$(cd "$ROOT_DIR" && pwd)"
WORK_DIR="$ROOT_DIR/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"
SRC_DIR="$WORK_DIR/src"
LLAMA_SRC="$SRC_DIR/vendor/llama.cpp"
# The folder's name changes with the flags, so a cached build of other flags is
# not taken for this one.
BUILD_DIR="$WORK_DIR/build-noamx"
BIN_DIR="$BUILD_DIR/bin"
mkdir -p "$WORK_DIR"

# Sources already unpacked: they are only ever replaced when missing, so a
# --source-only run need not wait for a build holding the lock.
if ((SOURCE_ONLY)) && [[ -f "$LLAMA_SRC/CMakeLists.txt" ]]; then
  printf '%s\n' "$LLAMA_SRC"
  exit 0
fi

# Serialise concurrent runs.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$ROOT_DIR/.lock"
  if ! flock -n 9; then
    log "another run holds $ROOT_DIR/.lock; waiting"
    flock 9
  fi
fi

TMP_DIR=""
cleanup() { if [[ -n "$TMP_DIR" ]]; then rm -rf "$TMP_DIR"; fi; }
trap cleanup EXIT

# The tools to build. llama-completion (the classic prompt-in/text-out
# program) only exists in newer llama.cpp, where llama-cli became a chat UI.
tools() {
  local t=(llama-tokenize llama-simple llama-bench llama-server llama-cli llama-quantize)
  if [[ ! -d "$LLAMA_SRC" ]] || [[ -d "$LLAMA_SRC/tools/completion" ]]; then
    t+=(llama-completion)
  fi
  printf '%s\n' "${t[@]}"
}

all_built() {
  local t
  while read -r t; do
    [[ -x "$BIN_DIR/$t" ]] || return 1
  done < <(tools)
}

report() {
  local t v
  ln -sfn "llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION/$(basename "$BUILD_DIR")/bin" "$ROOT_DIR/bin"
  v="$("$BIN_DIR/llama-tokenize" --version 2>&1 | grep -m1 '^version' || true)"
  log "llama-cpp-python $LLAMA_CPP_PYTHON_VERSION, llama.cpp ${v:-version unknown}"
  while read -r t; do
    log "  $BIN_DIR/$t"
  done < <(tools)
  printf '%s\n' "$BIN_DIR"
}

if ((SOURCE_ONLY)); then
  :
elif ((FORCE)); then
  log "--force: removing $BUILD_DIR"
  rm -rf "$BUILD_DIR"
elif all_built; then
  log "already built, skipping"
  report
  exit 0
fi

# --- build tools ----------------------------------------------------------------
need_apt=()
if ((!SOURCE_ONLY)); then
  command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
  command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
  command -v make >/dev/null 2>&1 || command -v ninja >/dev/null 2>&1 || need_apt+=(make)
fi
if ((${#need_apt[@]})); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${need_apt[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${need_apt[@]}" >&2 \
      || { apt-get update >&2 && apt-get install -y --no-install-recommends "${need_apt[@]}" >&2; } \
      || die "apt-get install ${need_apt[*]} failed"
  else
    die "missing ${need_apt[*]}: install them (not root, or no apt-get)"
  fi
fi

# --- sources ------------------------------------------------------------------
if [[ ! -f "$LLAMA_SRC/CMakeLists.txt" ]]; then
  "$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' is not available"
  TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/jan-llama-cpp.XXXXXX")"
  sdist_name="llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
  log "downloading the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist from PyPI"
  # pip prepares the package's metadata (it fetches scikit-build-core into an
  # isolated build environment for that); if that step fails the sdist is
  # still left in a pip-unpack-* folder under TMPDIR, which is ours here.
  if ! TMPDIR="$TMP_DIR" "$PYTHON" -m pip download --quiet --no-deps --no-cache-dir \
      --disable-pip-version-check --no-binary llama-cpp-python \
      -d "$TMP_DIR/dl" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2; then
    log "pip download reported a failure; looking for the sdist it fetched"
  fi
  sdist="$(find "$TMP_DIR" -name "$sdist_name" -type f | head -n 1)"
  [[ -n "$sdist" ]] || die "could not download $sdist_name"
  got="$(sha256_of "$sdist")"
  [[ "$got" == "$LLAMA_CPP_PYTHON_SHA256" ]] \
    || die "$sdist_name: sha256 $got, expected $LLAMA_CPP_PYTHON_SHA256"
  log "sdist verified (sha256 $got); unpacking"
  mkdir -p "$TMP_DIR/unpack"
  tar -xzf "$sdist" -C "$TMP_DIR/unpack"
  [[ -f "$TMP_DIR/unpack/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp/CMakeLists.txt" ]] \
    || die "the sdist has no vendor/llama.cpp/CMakeLists.txt"
  rm -rf "$SRC_DIR" "$BUILD_DIR"
  mv "$TMP_DIR/unpack/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION" "$SRC_DIR"
  rm -rf "$TMP_DIR"
  TMP_DIR=""
fi

if ((SOURCE_ONLY)); then
  printf '%s\n' "$LLAMA_SRC"
  exit 0
fi

# --- configure and build ------------------------------------------------------
mapfile -t TOOLS < <(tools)
NO_AMX=""
if [[ "$NATIVE" == ON ]]; then
  NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
log "configuring ($LLAMA_SRC -> $BUILD_DIR, GGML_NATIVE=$NATIVE)"
# LLAMA_CURL is deprecated (ignored, with a warning) in this llama.cpp but kept
# for older pins. No prebuilt web UI: it would be downloaded from Hugging Face
# at build time, which CI machines cannot reach; llama-server then runs
# without its browser UI (the HTTP API is unaffected). Static libraries make
# the binaries self-contained (they can be copied elsewhere on this CPU).
cmake -S "$LLAMA_SRC" -B "$BUILD_DIR" \
  -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE="$NATIVE" \
  -DCMAKE_C_FLAGS="$NO_AMX" -DCMAKE_CXX_FLAGS="$NO_AMX" \
  -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_BUILD_UI=OFF \
  -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_COMMIT="$LLAMA_CPP_COMMIT" >&2

log "building ${TOOLS[*]} with $JOBS jobs (several minutes on 2 cores)"
start=$SECONDS
cmake --build "$BUILD_DIR" --config Release -j "$JOBS" --target "${TOOLS[@]}" >&2
log "build took $((SECONDS - start)) s"

all_built || die "the build finished but some tools are missing in $BIN_DIR"
report
