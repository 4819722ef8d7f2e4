#!/usr/bin/env bash
# Build and pack here what ci/cuda/gpu-run.sh needs on a lent GPU machine, into
# the one folder that the device tool carries: target/cuda-dist/carry/.
#
# Usage: ci/cuda/pack.sh [--no-build] [--help]
#
#   --no-build   pack what target/cuda-dist already holds (no cargo, no
#                llama.cpp pack); still fails where something is missing
#
# Steps:
#   1. ci/build-cuda.sh --all --server: the CUDA builds of gpu_check, bench, jan
#      and jan-server, stripped, into target/cuda-dist/ (uncompressed, ~50 MB
#      each: NOT carried)
#   2. the vocab donor: the CPU build of gpu_check (cargo build --release -p
#      jan-core -p jan-server --bin jan-server --example gpu_check, the build
#      that gpu-run.sh --dry-run-cpu uses too) writes
#      target/cuda-dist/vocab-qwen2.gguf from ci/fetch-test-models.sh's qwen model
#      (gpu_check --vocab-donor: its metadata, tokenizer and chat template, no
#      tensors)
#   3. ci/cuda/llama-cpp-cuda.sh pack: target/cuda-dist/llama.cpp-src.tar.xz
#   4. compression (xz -T2 -6) into the carry folder, sizes printed, checked
#
# Layout of target/cuda-dist/carry/ (everything else in target/cuda-dist stays
# here):
#   gpu_check.xz, jan-server.xz   the CUDA binaries (needed)
#   bench.xz, jan.xz              the other CUDA examples, only while the total
#                                 stays under the limit (gpu-run.sh needs neither)
#   vocab-qwen2.gguf.xz           the vocab donor
#   llama.cpp-src.tar.xz          llama.cpp's sources (a hard link to
#                                 target/cuda-dist/llama.cpp-src.tar.xz)
#   MANIFEST                      commit, date, sizes, and the sha256 of each
#                                 unpacked file as gpu-run.sh lays them out
#                                 (bin/<name>, vocab-qwen2.gguf)
# gpu-run.sh unpacks the .xz files into /tmp/jan-gpu-run/{bin/,}, checks them
# against MANIFEST and builds llama.cpp from the tarball.
#
# The carry folder must stay under CARRY_LIMIT_MIB (default 56) MiB: the device
# tool carries 64 MiB in all, the repository's own files (about 3 MiB) included.
# Exit status: 0 packed, 1 something is missing or the folder is over the limit.
#
# Device command, afterwards (see ci/cuda/gpu-run.sh):
#   run(command='bash ci/cuda/gpu-run.sh "$OUT"', carry=['target/cuda-dist/carry'], timeout_s=540)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIST="$ROOT/target/cuda-dist"
CARRY="$DIST/carry"
LIMIT=$((${CARRY_LIMIT_MIB:-56} << 20))
NEEDED_BINS=(gpu_check jan-server)
OPTIONAL_BINS=(bench jan)

log() { printf '[pack] %s\n' "$*" >&2; }
usage() { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; }

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; log "error: unknown argument: $arg"; exit 2 ;;
  esac
done
cd "$ROOT" || exit 1
errors=()
fail() { log "error: $*"; errors+=("$*"); }

# 1. The CUDA binaries.
if ((build)); then
  log "ci/build-cuda.sh --all --server"
  ci/build-cuda.sh --all --server >/dev/null || fail "ci/build-cuda.sh --all --server failed"
fi

# 2. The vocab donor.
if ((build)); then
  qwen="$(ci/fetch-test-models.sh | grep -m1 qwen)" || qwen=""
  if [[ -z "$qwen" || ! -f "$qwen" ]]; then
    fail "ci/fetch-test-models.sh gave no qwen model"
  else
    log "CPU build of gpu_check (for --vocab-donor)"
    if nice cargo build --release -j "${CARGO_JOBS:-1}" -p jan-core -p jan-server --bin jan-server --example gpu_check >&2; then
      if "${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/gpu_check" --vocab-donor "$qwen" \
        "$DIST/vocab-qwen2.gguf.tmp" >&2; then
        mv "$DIST/vocab-qwen2.gguf.tmp" "$DIST/vocab-qwen2.gguf"
      else
        fail "gpu_check --vocab-donor $qwen failed (does this gpu_check have --vocab-donor?)"
      fi
    else
      fail "the CPU build of gpu_check failed"
    fi
  fi
fi

# 3. llama.cpp's sources.
if ((build)); then
  if [[ -f ci/cuda/llama-cpp-cuda.sh ]]; then
    log "ci/cuda/llama-cpp-cuda.sh pack"
    bash ci/cuda/llama-cpp-cuda.sh pack >&2 || fail "ci/cuda/llama-cpp-cuda.sh pack failed"
  else
    fail "ci/cuda/llama-cpp-cuda.sh is missing (llama.cpp's sources cannot be packed)"
  fi
fi

# 4. Into the carry folder: compressed once per change of the uncompressed file.
mkdir -p "$CARRY"
compress() { # SRC DEST.xz
  if [[ -f "$2" && "$2" -nt "$1" ]]; then
    log "$(basename "$2"): up to date"
    return 0
  fi
  log "xz -T2 -6 $(basename "$1") ($(($(stat -c %s "$1") >> 20)) MiB)"
  nice xz -T2 -6 -c "$1" >"$2.tmp" && mv "$2.tmp" "$2"
}
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
manifest=()
for b in "${NEEDED_BINS[@]}" "${OPTIONAL_BINS[@]}"; do
  rm -f "$CARRY/$b.xz.tmp"
done
for b in "${NEEDED_BINS[@]}"; do
  if [[ -f "$DIST/$b" ]]; then
    compress "$DIST/$b" "$CARRY/$b.xz" || fail "xz $b failed"
    manifest+=("$(sha256sum "$DIST/$b" | cut -d' ' -f1)  bin/$b")
  else
    rm -f "$CARRY/$b.xz"
    fail "$DIST/$b is missing (ci/build-cuda.sh --all --server)"
  fi
done
if [[ -f "$DIST/vocab-qwen2.gguf" ]]; then
  compress "$DIST/vocab-qwen2.gguf" "$CARRY/vocab-qwen2.gguf.xz" || fail "xz vocab-qwen2.gguf failed"
  manifest+=("$(sha256sum "$DIST/vocab-qwen2.gguf" | cut -d' ' -f1)  vocab-qwen2.gguf")
else
  rm -f "$CARRY/vocab-qwen2.gguf.xz"
  fail "$DIST/vocab-qwen2.gguf is missing (gpu_check --vocab-donor)"
fi
if [[ -f "$DIST/llama.cpp-src.tar.xz" ]]; then
  ln -f "$DIST/llama.cpp-src.tar.xz" "$CARRY/llama.cpp-src.tar.xz" 2>/dev/null ||
    cp -f "$DIST/llama.cpp-src.tar.xz" "$CARRY/llama.cpp-src.tar.xz"
else
  rm -f "$CARRY/llama.cpp-src.tar.xz"
  fail "$DIST/llama.cpp-src.tar.xz is missing (ci/cuda/llama-cpp-cuda.sh pack)"
fi

total() {
  local t=0 f
  for f in "$CARRY"/*; do t=$((t + $(size_of "$f"))); done
  echo "$t"
}
# The optional binaries, while they fit (with 1 MiB for the MANIFEST and slack).
for b in "${OPTIONAL_BINS[@]}"; do
  rm -f "$CARRY/$b.xz"
  [[ -f "$DIST/$b" ]] || continue
  compress "$DIST/$b" "$DIST/$b.xz" || continue
  if (($(total) + $(size_of "$DIST/$b.xz") + (1 << 20) <= LIMIT)); then
    ln -f "$DIST/$b.xz" "$CARRY/$b.xz" 2>/dev/null || cp -f "$DIST/$b.xz" "$CARRY/$b.xz"
    manifest+=("$(sha256sum "$DIST/$b" | cut -d' ' -f1)  bin/$b")
  else
    log "$b.xz ($(($(size_of "$DIST/$b.xz") >> 20)) MiB) left out: it would not fit"
  fi
done

{
  echo "commit=$(git rev-parse HEAD 2>/dev/null)"
  echo "branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null)"
  echo "dirty_files=$(git status --porcelain 2>/dev/null | wc -l)"
  echo "packed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for f in "$CARRY"/*; do
    [[ "$(basename "$f")" == MANIFEST ]] && continue
    echo "size $(basename "$f") $(size_of "$f")"
  done
  printf '%s\n' "${manifest[@]}"
} >"$CARRY/MANIFEST"
# Anything else in the folder (an older layout's leftovers) would travel too.
for f in "$CARRY"/*; do
  case "$(basename "$f")" in
    gpu_check.xz | jan-server.xz | bench.xz | jan.xz | vocab-qwen2.gguf.xz | llama.cpp-src.tar.xz | MANIFEST) ;;
    *) log "removing $(basename "$f") (not part of the layout)"; rm -rf "$f" ;;
  esac
done

t=$(total)
log "target/cuda-dist/carry:"
for f in "$CARRY"/*; do
  printf '[pack]   %-24s %8.2f MiB\n' "$(basename "$f")" "$(awk -v b="$(size_of "$f")" 'BEGIN { print b / 1048576 }')" >&2
done
printf '[pack]   %-24s %8.2f MiB of %d MiB allowed\n' total "$(awk -v b="$t" 'BEGIN { print b / 1048576 }')" \
  $((LIMIT >> 20)) >&2
repo=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
log "the repository's own files: $(awk -v b="${repo:-0}" 'BEGIN { printf "%.2f", b / 1048576 }') MiB"
((t <= LIMIT)) || fail "the carry folder is $((t >> 20)) MiB, over the ${CARRY_LIMIT_MIB:-56} MiB limit"
if ((${#errors[@]})); then
  log "FAILED:"
  printf '[pack]   %s\n' "${errors[@]}" >&2
  exit 1
fi
log "ok: carry target/cuda-dist/carry"
echo "$CARRY"
