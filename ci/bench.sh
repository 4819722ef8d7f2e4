#!/usr/bin/env bash
# Inference benchmark: the core's forward pass beside llama.cpp's llama-bench, same machine, same run, same
# thread count. Prints pp128 / pp512 / tg128 (tokens/s), time to first token and peak memory, and the ratios.
# Not a test: these machines are noisy, so compare the ratios.
#
# Usage: ci/bench.sh [THREADS]   (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
log() { printf '[bench] %s\n' "$*" >&2; }

models_dir="$(dirname "$(ci/fetch-test-models.sh | head -n 1)")"
llama_bin="$(ci/build-llama-cpp.sh)"
log "building the core's bench (release)"
cargo build --release --locked -p jan-core --example bench >&2
bench="target/release/examples/bench"

printf '\n%-34s %-6s %10s %10s %8s\n' "model" "test" "core t/s" "llama t/s" "ratio"
for file in gemma-3-270m-q4_k_m.gguf qwen2.5-coder-0.5b-instruct.gguf; do
  model="$models_dir/$file"
  ours="$(RAYON_NUM_THREADS="$threads" "$bench" "$model" --reps 3 --json)"
  theirs="$("$llama_bin/llama-bench" -m "$model" -t "$threads" -p 128,512 -n 128 -r 3 -o json 2>/dev/null)"
  python3 - "$file" "$ours" "$theirs" <<'PY'
import json, sys
name, ours, theirs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
ref = {}
for row in theirs:
    key = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
    ref[key] = row["avg_ts"]
for key in ("pp128", "pp512", "tg128"):
    print(f"{name:<34} {key:<6} {ours[key]:10.1f} {ref.get(key, float('nan')):10.1f} {ours[key] / ref[key]:7.2f}x")
print(f"{name:<34} ttft(128 tokens) {ours['ttft_ms_128']:.0f} ms; peak RSS {ours['peak_rss_mb']:.0f} MB for a "
      f"{ours['file_mb']:.0f} MB file; load {ours['load_s']:.2f} s")
PY
done
