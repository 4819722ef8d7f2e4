#!/usr/bin/env bash
# Synthetic models of the sizes people run, for ci/bench.sh --sizes: the qwen2 architecture and the qwen test
# model's tokenizer, random weights with Qwen2.5 1.5B's and 7B's shapes, written in F16 by the core's
# gpu_check --make-models and quantized by llama.cpp's own llama-quantize (so the tensor types are those of
# the Q4_K_M and Q8_0 files people download). Made once into the cache, never committed; the F16 files are
# deleted once quantized.
#
# Usage: ci/bench-models.sh [SIZES] [QUANTS]   (default: 1.5b,7b q4_k_m,q8_0)
#
# Environment:
#   JAN_BENCH_MODELS  cache folder (default: $HOME/.cache/jan-test-models/bench)
#
# Progress goes to stderr; the models' paths, one a line, go to stdout. Making the 7B ones takes about 10
# minutes on 2 cores and up to 28 GB of disk at once (F16 15 GB, Q8_0 8 GB, Q4_K_M 4.4 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${1:-1.5b,7b}"
quants="${2:-q4_k_m,q8_0}"
dir="${JAN_BENCH_MODELS:-$HOME/.cache/jan-test-models/bench}"
log() { printf '[bench-models] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Bytes of F16 per size (the largest file made), to refuse early when the disk cannot hold it.
declare -A f16_gb=([0.5b]=2 [1.5b]=4 [7b]=16)
for size in ${sizes//,/ }; do
  [[ -n "${f16_gb[$size]:-}" ]] || die "unknown size $size (0.5b, 1.5b or 7b)"
done
for q in ${quants//,/ }; do
  case "$q" in q4_k_m|q8_0|q4_0|q5_k_m|q6_k) ;; *) die "unknown quantization $q" ;; esac
done

mkdir -p "$dir"
missing() { [[ ! -s "$dir/synthetic-qwen2-$1-$2.gguf" ]]; }
todo=0
for size in ${sizes//,/ }; do
  for q in ${quants//,/ }; do
    if missing "$size" "$q"; then todo=1; fi
  done
done

if ((todo)); then
  donor="$(ci/fetch-test-models.sh | grep qwen)"
  llama_bin="$(ci/build-llama-cpp.sh)"
  log "building gpu_check (release), which writes the F16 models"
  cargo build --release --locked -p jan-core --example gpu_check >&2
  for size in ${sizes//,/ }; do
    need=()
    for q in ${quants//,/ }; do
      if missing "$size" "$q"; then need+=("$q"); fi
    done
    ((${#need[@]})) || continue
    free_gb=$(($(df -Pk "$dir" | awk 'NR == 2 { print $4 }') / 1024 / 1024))
    ((free_gb >= f16_gb[$size] * 2)) || die "$dir has $free_gb GB free; $size needs about $((f16_gb[$size] * 2))"
    f16="$dir/synthetic-qwen2-$size-f16.gguf"
    if [[ ! -s "$f16" ]]; then
      log "writing $f16"
      target/release/examples/gpu_check --make-models "$dir" --vocab-from "$donor" --only "$size" --f16 >&2
    fi
    for q in "${need[@]}"; do
      out="$dir/synthetic-qwen2-$size-$q.gguf"
      log "quantizing $size to ${q^^} with llama-quantize"
      start=$SECONDS
      "$llama_bin/llama-quantize" "$f16" "$out.tmp" "${q^^}" "$(nproc)" >"$dir/quantize-$size-$q.log" 2>&1 \
        || { rm -f "$out.tmp"; die "llama-quantize failed; see $dir/quantize-$size-$q.log"; }
      mv "$out.tmp" "$out"
      log "  $out ($(($(stat -c %s "$out") >> 20)) MiB) in $((SECONDS - start)) s"
    done
    rm -f "$f16"
  done
fi

for size in ${sizes//,/ }; do
  for q in ${quants//,/ }; do
    printf '%s\n' "$dir/synthetic-qwen2-$size-$q.gguf"
  done
done
