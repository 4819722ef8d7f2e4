#!/usr/bin/env bash
# Inference benchmark: the core's forward pass beside llama.cpp's llama-bench, same machine, same run, same
# thread count. Prints prompt processing (pp<N>) and decoding (tg128) in tokens/s with the ratios, time to first
# token, and peak memory of both beside what the weights and the KV cache need. Not a test: these machines are
# noisy, so compare the ratios.
#
# Usage: ci/bench.sh [--sizes 1.5b,7b] [--quants q4_k_m,q8_0] [--prompts 128,512] [--reps N] [THREADS]
#
#   (default)  the two test models, pp128 and pp512, 3 repetitions, 2 threads
#   --sizes    synthetic qwen2 models of those sizes instead (ci/bench-models.sh makes them once); with it the
#              prompts default to 128,512,2048 and the repetitions to 1
#
# llama-bench runs with --repack 1 (its default); llama.cpp is built without AMX (ci/build-llama-cpp.sh).
# Decoding reads every weight once a token, so it is also printed against its ceiling: the threads' memory read
# speed (`bench --memory`) over the bytes a token reads.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
sizes=""
quants="q4_k_m,q8_0"
prompts=""
reps=""
while (($#)); do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --quants) quants="$2"; shift 2 ;;
    --prompts) prompts="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) threads="$1"; shift ;;
  esac
done
log() { printf '[bench] %s\n' "$*" >&2; }

if [[ -n "$sizes" ]]; then
  mapfile -t models < <(ci/bench-models.sh "$sizes" "$quants")
  prompts="${prompts:-128,512,2048}"
  reps="${reps:-1}"
else
  mapfile -t models < <(ci/fetch-test-models.sh)
  prompts="${prompts:-128,512}"
  reps="${reps:-3}"
fi
llama_bin="$(ci/build-llama-cpp.sh)"
log "building the core's bench (release)"
cargo build --release --locked -p jan-core --example bench >&2
bench="target/release/examples/bench"
# What the memory lets any program decode: read speed / the weights a decoding step reads.
mem_gbs="$(RAYON_NUM_THREADS="$threads" "$bench" --memory)"
log "memory read speed with $threads threads: $mem_gbs GB/s"

printf '\n%-38s %-7s %10s %10s %8s\n' "model" "test" "core t/s" "llama t/s" "ratio"
for model in "${models[@]}"; do
  log "$(basename "$model"): core"
  ours="$(RAYON_NUM_THREADS="$threads" "$bench" "$model" --reps "$reps" --prompts "$prompts" --json)"
  log "$(basename "$model"): llama-bench"
  python3 - "$model" "$ours" "$llama_bin/llama-bench" "$threads" "$prompts" "$reps" "$mem_gbs" <<'PY'
import json, os, resource, subprocess, sys
model, ours, llama_bench, threads, prompts, reps, mem_gbs = sys.argv[1:]
ours = json.loads(ours)
run = subprocess.run(
    [llama_bench, "-m", model, "-t", threads, "-p", prompts, "-n", "128", "-r", reps, "-o", "json"],
    capture_output=True, text=True)
if run.returncode != 0:
    sys.exit(f"llama-bench failed ({run.returncode}): {run.stderr[-2000:]}")
theirs_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
ref = {}
for row in json.loads(run.stdout):
    key = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
    ref[key] = row["avg_ts"]
name = os.path.basename(model)
for key in [f"pp{n}" for n in prompts.split(",")] + ["tg128"]:
    print(f"{name:<38} {key:<7} {ours[key]:10.1f} {ref.get(key, float('nan')):10.1f} {ours[key] / ref[key]:7.2f}x")
ceiling = float(mem_gbs) * 1e9 / (ours["read_mb"] * (1 << 20))
print(f"{name:<38} decoding ceiling: {ceiling:.1f} tokens/s ({mem_gbs} GB/s read / {ours['read_mb']:.0f} MB a token); "
      f"core at {ours['tg128'] / ceiling:.0%} of it, llama at {ref['tg128'] / ceiling:.0%}")
budget = (ours["file_mb"] + ours["kv_mb"]) * 1.15
print(f"{name:<38} time to first token (128-token prompt): core {ours['ttft_ms_128']:.0f} ms, "
      f"llama {128 / ref['pp128'] * 1000:.0f} ms (128 / pp128)")
print(f"{name:<38} peak RSS: core {ours['peak_rss_mb']:.0f} MB, llama-bench {theirs_rss_mb:.0f} MB; "
      f"file {ours['file_mb']:.0f} MB + KV {ours['kv_mb']:.0f} MB + 15% = {budget:.0f} MB "
      f"({'within' if ours['peak_rss_mb'] <= budget else 'OVER'}); load {ours['load_s']:.2f} s")
PY
done
