#!/usr/bin/env bash
# The whole GPU session in one run: correctness, speed against llama.cpp, and
# the server under concurrent load, on a lent GPU machine (the device tool),
# within about 8.5 minutes, every figure in one JSON file.
#
# Usage: bash ci/cuda/gpu-run.sh OUT                 (there: from the repo root,
#                                                      target/cuda-dist/carry carried)
#        bash ci/cuda/gpu-run.sh --dry-run-cpu OUT   (here: the same steps with
#                                                      CPU builds, smaller counts)
#
# Made by ci/cuda/pack.sh: target/cuda-dist/carry/ (see pack.sh for its layout).
# The device command (its timeout_s a little above GPU_RUN_BUDGET):
#   run(command='bash ci/cuda/gpu-run.sh "$OUT"', carry=['target/cuda-dist/carry'],
#       timeout_s=540)
#
# Steps, in order of value; each has its own time limit (`timeout`), and all of
# them together stop at the budget (the later ones are then skipped); a step
# that fails never stops the next:
#   setup        unpack the binaries and the vocab donor, source ci/cuda/env.sh,
#                nvidia-smi
#   (background) llama.cpp's CUDA build (ci/cuda/llama-cpp-cuda.sh build), nice 19,
#                all cores but 4 (LLAMA_CUDA_JOBS): jan's speed and load steps run
#                meanwhile, llama-bench after it
#   synthetic    gpu_check --synthetic: tiny random models, device vs CPU logits
#   make-models  gpu_check --make-models: random qwen2 0.5b and 7b with the real
#                shapes and quant types, the donor's tokenizer and chat template
#   speed-0.5b, speed-7b   gpu_check --speed (prompt 512/2048, decode, batched)
#   load         ci/load-test.py: jan-server (JAN_DEVICE=cuda, JAN_PARALLEL=64) on
#                the 0.5b, 1, 4, 16 and 64 streaming clients, --expect-device cuda
#   llama-build  waits for the background build
#   bench-0.5b, bench-7b   llama-bench -ngl 99 --repack 0 -p 512,2048 -n 128 -fa 0 -o json (-fa 0,1
#                where llama-cpp-cuda.sh built the FlashAttention kernels: LLAMA_CUDA_FA=ON)
#   greedy-ref   ci/gen-greedy-data.py with the CUDA llama-server on the 0.5b (-nr)
#                (--repack 0 / -nr: llama.cpp's AMX path segfaulted on a VM's CPU;
#                with every layer on the GPU, repacking changes nothing)
#   parity-gpu, parity-cpu gpu_check MODEL --data REF on the device, then --cpu
# Results in OUT (8 files at most): gpu-results.json (every step's exit status,
# duration, JSON and log tail; the date, commit, GPU, driver, and a summary),
# run.log (every step's output), llama-build.log, server.log, greedy-ref.json.
# gpu-results.json is rewritten after every step, so a run cut short keeps what
# it had. The end prints a summary: jan vs llama.cpp (pp512, pp2048, tg128 per
# model) and the concurrency figures.
#
# Environment: GPU_RUN_STEPS (only these steps, comma-separated names from the
# list above, e.g. synthetic,make-models,speed-0.5b,speed-7b,load: the others are
# recorded as `unselected`, and llama.cpp is built only with llama-build listed;
# setup always runs), GPU_RUN_LLAMA_FROM (an earlier run's gpu-results.json whose
# llama.cpp figures the summary compares with where this run benched none, e.g.
# core/benches/gpu/2026-12-04-h200/gpu-results.json), GPU_RUN_PROFILE=1 (the speed steps also time each section of
# a batched step: gpu_check --profile; and nsys, where the machine has it, profiles
# a batch of 16 on the 7b into OUT/nsys-stats.txt),
# GPU_RUN_BUDGET (seconds for all steps; default 510, dry run 1500),
# GPU_RUN_WORK (scratch folder; default /tmp/jan-gpu-run), JAN_GPU_MODELS (where
# the synthetic models go; default /tmp/jan-gpu-models), LLAMA_CPP_DIR (dry run:
# the CPU build of ci/build-llama-cpp.sh, default ~/.cache/jan-llama-cpp),
# JAN_TEST_MODELS (dry run: the qwen vocab donor's folder), GPU_RUN_NO_BUILD=1
# (dry run: use target/release as it is, no cargo build).
# Exit status: 0 every selected step passed (dry run: or was skipped), 1 some step
# failed, timed out or was skipped, 2 usage.
set -uo pipefail

MODE=gpu
if [[ "${1:-}" == "--dry-run-cpu" ]]; then MODE=cpu; shift; fi
if [[ $# -ne 1 || "$1" == -* ]]; then
  sed -n '2,51p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
OUT="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 2
mkdir -p "$OUT" || exit 2
OUT="$(cd "$OUT" && pwd)"

START=$SECONDS
if [[ $MODE == gpu ]]; then
  BUDGET="${GPU_RUN_BUDGET:-510}"
  WORK="${GPU_RUN_WORK:-/tmp/jan-gpu-run}"
else
  BUDGET="${GPU_RUN_BUDGET:-1500}"
  WORK="${GPU_RUN_WORK:-/tmp/jan-gpu-run-dry}"
fi
DEADLINE=$((START + BUDGET))
[[ $MODE == cpu ]] && DEADLINE=$((DEADLINE + 3600)) # until the dry run's cargo build is done
MODELS="${JAN_GPU_MODELS:-/tmp/jan-gpu-models}"
CARRY="$ROOT/target/cuda-dist/carry"
RESERVE=8 # seconds kept for the last merge
rm -rf "$WORK"
mkdir -p "$WORK/json" "$WORK/bin"
STEPS="$WORK/steps.tsv"
: >"$STEPS"
RUNLOG="$OUT/run.log"
: >"$RUNLOG"
: >"$OUT/server.log"
: >"$OUT/llama-build.log"

say() { printf '[gpu-run %4ds] %s\n' "$((SECONDS - START))" "$*" | tee -a "$RUNLOG"; }

# The list of what ran, as the merge reads it: one tab-separated line a step,
# with the step's first and last line in run.log.
# record NAME STATUS RC SECONDS LIMIT JSON_FILE COMMAND [FIRST_LINE]
record() {
  local from="${8:-$(wc -l <"$RUNLOG")}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$from" "$(wc -l <"$RUNLOG")" \
    "${7//$'\t'/ }" >>"$STEPS"
}

# step NAME CAP JSON_FILE -- COMMAND...: runs COMMAND under `timeout` (CAP, or
# less where the budget is running out), its output appended to run.log.
step() {
  local name="$1" cap="$2" json="$3"
  shift 4
  if ! selected "$name"; then
    record "$name" unselected "" 0 0 "" "not in GPU_RUN_STEPS"
    return 0
  fi
  local left=$((DEADLINE - SECONDS - RESERVE)) limit rc t0 from
  limit=$cap
  ((left < limit)) && limit=$left
  if ((limit < 5)); then
    say "$name: skipped, no time left"
    record "$name" skipped "" 0 0 "" "$*"
    merge
    return 0
  fi
  say "$name: start (limit ${limit} s)"
  from=$(($(wc -l <"$RUNLOG") + 1))
  printf '%s\n' "----- $name: $* -----" >>"$RUNLOG"
  t0=$(date +%s.%N)
  timeout -k 10 "$limit" "$@" >>"$RUNLOG" 2>&1 </dev/null
  rc=$?
  local secs status
  secs=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  case $rc in
    0) status=ok ;;
    124 | 137) status=timeout ;;
    *) status=failed ;;
  esac
  say "$name: $status (exit $rc) after $secs s"
  record "$name" "$status" "$rc" "$secs" "$limit" "$json" "$*" "$from"
  merge
  return 0
}

# selected NAME: whether GPU_RUN_STEPS (when set) lists the step; setup always runs.
selected() {
  [[ -z "${GPU_RUN_STEPS:-}" || "$1" == setup || ",$GPU_RUN_STEPS," == *",$1,"* ]]
}

# skip NAME WHY: a step that cannot run.
skip() {
  if ! selected "$1"; then
    record "$1" unselected "" 0 0 "" "not in GPU_RUN_STEPS"
    return 0
  fi
  say "$1: skipped: $2"
  record "$1" skipped "" 0 0 "" "$2"
  merge
}

# shellcheck disable=SC2094 # python3 reads run.log by name; its own messages are appended to it
merge() {
  timeout 30 python3 - "$STEPS" "$RUNLOG" "$OUT/gpu-results.json" "$WORK" "$MODE" "$BUDGET" "$((SECONDS - START))" \
    >>"$RUNLOG" 2>&1 <<'PY' || true
import json, os, sys, time
steps_file, runlog, out, work, mode, budget, elapsed = sys.argv[1:8]
lines = open(runlog, errors="replace").read().splitlines()
info = {}
try:
    info = json.load(open(os.path.join(work, "info.json")))
except (OSError, ValueError):
    pass
steps = []
for row in open(steps_file).read().splitlines():
    f = row.split("\t")
    f += [""] * (9 - len(f))
    name, status, rc, secs, limit, jpath, frm, to, cmd = f[:9]
    s = {"name": name, "status": status, "exit_status": int(rc) if rc.strip("-").isdigit() else None,
         "seconds": float(secs or 0), "limit_s": int(limit or 0), "command": cmd}
    if jpath:
        try:
            s["json"] = json.load(open(jpath))
        except (OSError, ValueError) as e:
            s["json_error"] = f"{jpath}: {e}"
    # The step's own lines of run.log (the last 40): the header line is 1-based index frm.
    if frm.isdigit() and to.isdigit():
        own = lines[int(frm) - 1:int(to)]
        s["log_tail"] = own[-40:]
    steps.append(s)
res = {
    "generated_by": "ci/cuda/gpu-run.sh", "mode": mode, "budget_s": int(budget), "elapsed_s": int(elapsed),
    **info, "steps": steps,
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
os.replace(tmp, out)
PY
}

# ------------------------------------------------------------------------------------------------------------
say "mode $MODE, budget $BUDGET s, work folder $WORK, results in $OUT"

# The CUDA 13 libraries (PyTorch's nvidia/cu13/lib) on LD_LIBRARY_PATH, for everything below.
if [[ $MODE == gpu ]]; then
  export JAN_CUDA_ENV_TAG=gpu-run
  # shellcheck source=ci/cuda/env.sh
  source "$ROOT/ci/cuda/env.sh" >>"$RUNLOG" 2>&1
  say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
fi

# (b) llama.cpp: the CUDA build in the background (GPU), or the CPU build (dry run).
# LLAMA_PID: the background build's `timeout` (a TERM to it reaches the whole
# build); LLAMA_RC: the exit status when there is no build to wait for.
LLAMA_PID=""
LLAMA_RC=""
LLAMA_START=$SECONDS
LLAMA_LIMIT=$((BUDGET - 150))
((LLAMA_LIMIT >= 60)) || LLAMA_LIMIT=60
if [[ $MODE == gpu ]]; then
  LLAMA_PREFIX=/tmp/llama-cuda
  if ! selected llama-build; then
    echo "llama.cpp: not built (llama-build is not in GPU_RUN_STEPS)" | tee "$OUT/llama-build.log" >>"$RUNLOG"
    LLAMA_RC=3
  elif [[ -f "$CARRY/llama.cpp-src.tar.xz" && -f ci/cuda/llama-cpp-cuda.sh ]]; then
    # Four cores stay free for the steps that run meanwhile (their speed is measured).
    cores=$(nproc)
    export LLAMA_CUDA_JOBS="${LLAMA_CUDA_JOBS:-$((cores > 8 ? cores - 4 : cores))}"
    say "llama.cpp: building in the background, nice 19, $LLAMA_CUDA_JOBS jobs, limit $LLAMA_LIMIT s (log: llama-build.log)"
    timeout -k 10 "$LLAMA_LIMIT" nice -n 19 bash ci/cuda/llama-cpp-cuda.sh build \
      "$CARRY/llama.cpp-src.tar.xz" "$LLAMA_PREFIX" >"$OUT/llama-build.log" 2>&1 </dev/null &
    LLAMA_PID=$!
  else
    echo "no $CARRY/llama.cpp-src.tar.xz or no ci/cuda/llama-cpp-cuda.sh" | tee "$OUT/llama-build.log" >>"$RUNLOG"
    LLAMA_RC=3
  fi
else
  LLAMA_PREFIX="${LLAMA_CPP_DIR:-$HOME/.cache/jan-llama-cpp}"
  if ! selected llama-build; then
    echo "dry run: llama.cpp not used (llama-build is not in GPU_RUN_STEPS)" | tee "$OUT/llama-build.log" >>"$RUNLOG"
    LLAMA_RC=3
  elif [[ -x "$LLAMA_PREFIX/bin/llama-bench" && -x "$LLAMA_PREFIX/bin/llama-server" ]]; then
    echo "dry run: llama.cpp's CPU build in $LLAMA_PREFIX/bin" >"$OUT/llama-build.log"
    LLAMA_RC=0
  else
    echo "dry run: no CPU build of llama.cpp in $LLAMA_PREFIX/bin (ci/build-llama-cpp.sh): llama.cpp steps skipped" \
      | tee "$OUT/llama-build.log" >>"$RUNLOG"
    LLAMA_RC=3
  fi
fi

# Where the programs come from.
if [[ $MODE == gpu ]]; then
  GPU_CHECK="$WORK/bin/gpu_check"
  SERVER="$WORK/bin/jan-server"
  VOCAB="$WORK/vocab-qwen2.gguf"
  DEV=()
  JAN_DEVICE_RUN=cuda
  PY=python3
else
  GPU_CHECK="$ROOT/target/release/examples/gpu_check"
  SERVER="$ROOT/target/release/jan-server"
  VOCAB="$ROOT/target/cuda-dist/vocab-qwen2.gguf"
  DEV=(--cpu)
  JAN_DEVICE_RUN=cpu
  PY=python3
  python3 -c 'import httpx' 2>/dev/null || PY="$(ci/python-env.sh 2>>"$RUNLOG")" || PY=python3
fi

# setup: unpack (GPU) or build (dry run); the CUDA libraries; the GPU.
# (Both run in `bash -c`, under `timeout`.)
# shellcheck disable=SC2317
setup_gpu() {
  set -e
  [[ -d "$CARRY" ]] || { echo "no $CARRY: run ci/cuda/pack.sh and carry target/cuda-dist/carry"; exit 3; }
  ls -l "$CARRY"
  cat "$CARRY/MANIFEST" 2>/dev/null || true
  local pids=() f
  for f in "$CARRY"/*.xz; do
    case "$(basename "$f")" in
      llama.cpp-src.tar.xz) continue ;;
      vocab-*.gguf.xz) (xz -dc -T0 "$f" >"$WORK/$(basename "${f%.xz}")") & pids+=($!) ;;
      *) (xz -dc -T0 "$f" >"$WORK/bin/$(basename "${f%.xz}")") & pids+=($!) ;;
    esac
  done
  for p in "${pids[@]}"; do wait "$p"; done
  chmod +x "$WORK"/bin/*
  (cd "$WORK/bin" && sha256sum -- *) || true
  if [[ -f "$CARRY/MANIFEST" ]]; then
    # The MANIFEST's sha256 lines ("<sha>  bin/<name>" or "<sha>  <name>"), checked.
    (cd "$WORK" && grep -E '^[0-9a-f]{64}  ' "$CARRY/MANIFEST" | sha256sum -c -) || { echo "checksum mismatch"; exit 3; }
  fi
  ls -l "$WORK" "$WORK/bin"
  nvidia-smi || true
  local missing
  for f in "$WORK"/bin/*; do
    missing="$(ldd "$f" | grep 'not found' || true)"
    if [[ -n "$missing" ]]; then echo "$f: $missing"; exit 3; fi
  done
  ldd "$GPU_CHECK" | grep -E 'cuda|cublas|curand|nvrtc' || true
}

# shellcheck disable=SC2317
setup_cpu() {
  set -e
  if [[ "${GPU_RUN_NO_BUILD:-0}" != 1 ]]; then
    nice cargo build --release -j1 -p jan-core -p jan-server --bin jan-server --example gpu_check
  fi
  if [[ ! -f "$VOCAB" ]]; then
    VOCAB="$WORK/vocab-qwen2.gguf"
    local donor
    donor="$(ci/fetch-test-models.sh | grep -m1 qwen)"
    "$GPU_CHECK" --vocab-donor "$donor" "$VOCAB"
  fi
  ls -l "$VOCAB" "$GPU_CHECK" "$SERVER"
}

if [[ $MODE == gpu ]]; then
  export -f setup_gpu
  export WORK CARRY GPU_CHECK
  step setup 40 "" -- bash -c setup_gpu
else
  export -f setup_cpu
  export WORK GPU_CHECK SERVER VOCAB GPU_RUN_NO_BUILD
  step setup 3600 "" -- bash -c setup_cpu
  [[ -f "$VOCAB" ]] || VOCAB="$WORK/vocab-qwen2.gguf"
  DEADLINE=$((SECONDS + BUDGET)) # the dry run's budget starts after its cargo build
fi

# What the merge adds on top: date, commit, GPU.
python3 - "$WORK/info.json" "$MODE" "$CARRY/MANIFEST" <<'PY' 2>>"$RUNLOG"
import json, subprocess, sys, time
out, mode, manifest = sys.argv[1:4]
info = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
try:
    for line in open(manifest):
        k, sep, v = line.strip().partition("=")
        if sep and k in ("commit", "dirty_files", "packed", "branch"):
            info[f"pack_{k}"] = v
except OSError:
    pass
info["git_commit"] = run("git", "rev-parse", "HEAD") or info.get("pack_commit", "")
q = run("nvidia-smi", "--query-gpu=name,driver_version,memory.total,compute_cap", "--format=csv,noheader")
if q:
    parts = [p.strip() for p in q.splitlines()[0].split(",")]
    info.update(zip(["gpu_name", "driver", "gpu_memory", "compute_cap"], parts))
    info["gpus"] = q.splitlines()
cuda = run("nvidia-smi")
for line in cuda.splitlines():
    if "CUDA Version" in line:
        info["driver_cuda_version"] = line.split("CUDA Version:")[1].split()[0]
info["cpu"] = run("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
info["cores"] = run("nproc")
json.dump(info, open(out, "w"), indent=1)
PY
merge

# Sizes: the GPU run's, and the dry run's smaller ones.
M05="$MODELS/synthetic-qwen2-0.5b.gguf"
M7="$MODELS/synthetic-qwen2-7b.gguf"
if [[ $MODE == gpu ]]; then
  CLIENTS=1,4,16,64 PARALLEL=64 MAX_TOKENS=128 CTX=2048 CLIENT_TIMEOUT=75
  BENCH_P=512,2048 BENCH_N=128 BENCH_R=3 NGL=(-ngl 99) REF_NGL=(--ngl 99) MAKE_ONLY=()
  SPEED_ARGS=()
  CAP_SYN=60 CAP_MAKE=75 CAP_S05=45 CAP_S7=70 CAP_LOAD=100 CAP_B05=35 CAP_B7=50 CAP_REF=50 CAP_PG=40 CAP_PC=60
else
  CLIENTS=1,2,4 PARALLEL=4 MAX_TOKENS=16 CTX=1024 CLIENT_TIMEOUT=120
  BENCH_P=512 BENCH_N=16 BENCH_R=1 NGL=(-ngl 0) REF_NGL=() MAKE_ONLY=(--only 0.5b)
  CAP_SYN=240 CAP_MAKE=240 CAP_S05=300 CAP_S7=0 CAP_LOAD=240 CAP_B05=120 CAP_B7=0 CAP_REF=240 CAP_PG=300 CAP_PC=0
  SPEED_ARGS=(--batches "1,4")
fi
if [[ "${GPU_RUN_PROFILE:-0}" == 1 ]]; then
  SPEED_ARGS+=(--profile)
fi

have() { [[ -x "$1" ]]; }

# (c) the synthetic check.
if have "$GPU_CHECK"; then
  step synthetic $CAP_SYN "$WORK/json/synthetic.json" -- "$GPU_CHECK" "${DEV[@]}" --synthetic --json "$WORK/json/synthetic.json"
else
  skip synthetic "no gpu_check"
fi

# (d) the synthetic models.
if [[ $MODE == cpu && -f "$M05" && "$M05" -nt "$GPU_CHECK" ]]; then
  say "make-models: dry run keeps the models in $MODELS (newer than gpu_check)"
  record make-models ok 0 0 0 "" "kept $MODELS"
elif have "$GPU_CHECK" && [[ -f "$VOCAB" ]]; then
  rm -rf "$MODELS"
  mkdir -p "$MODELS"
  step make-models $CAP_MAKE "" -- "$GPU_CHECK" --make-models "$MODELS" --vocab-from "$VOCAB" "${MAKE_ONLY[@]}"
  ls -l "$MODELS" >>"$RUNLOG" 2>&1
else
  skip make-models "no gpu_check or no vocab donor ($VOCAB)"
fi

# (e) jan's speed.
for spec in "0.5b:$M05:$CAP_S05" "7b:$M7:$CAP_S7"; do
  IFS=: read -r size model cap <<<"$spec"
  if ((cap == 0)); then
    skip "speed-$size" "not in the dry run (too slow on this CPU)"
  elif [[ -f "$model" ]]; then
    step "speed-$size" "$cap" "$WORK/json/speed-$size.json" -- \
      "$GPU_CHECK" "${DEV[@]}" --speed "$model" "${SPEED_ARGS[@]}" --json "$WORK/json/speed-$size.json"
  else
    skip "speed-$size" "no $model"
  fi
done

# (e2) nsys, where the machine has it (GPU_RUN_PROFILE=1): kernel and CUDA API time of a batch of 16 on the 7b
# (the largest gap to llama.cpp), as summary tables in OUT/nsys-stats.txt.
NSYS="$(command -v nsys || find /usr/local/cuda/bin /opt/nvidia -name nsys -type f -perm -u+x 2>/dev/null | head -n 1 || true)"
if [[ "${GPU_RUN_PROFILE:-0}" != 1 ]]; then
  record nsys unselected "" 0 0 "" "GPU_RUN_PROFILE is not 1"
elif [[ $MODE == gpu && -n "$NSYS" && -f "$M7" ]] && have "$GPU_CHECK"; then
  # shellcheck disable=SC2016 # the script's arguments expand in the inner bash
  step nsys 60 "" -- bash -c '"$1" profile --force-overwrite true -o "$2/nsys" --stats=true \
      "$3" --speed "$4" --batches 16 >"$5" 2>&1; rc=$?; tail -n 80 "$5"; exit $rc' _ \
    "$NSYS" "$WORK" "$GPU_CHECK" "$M7" "$OUT/nsys-stats.txt"
else
  skip nsys "no nsys on this machine (or no 7b model, or the dry run)"
fi

# (f) the server under load.
if have "$SERVER" && [[ -f "$M05" ]]; then
  step load $CAP_LOAD "$WORK/json/load.json" -- "$PY" ci/load-test.py --server "$SERVER" --model-file "$M05" \
    --clients-list "$CLIENTS" --max-tokens "$MAX_TOKENS" --ctx "$CTX" --timeout "$CLIENT_TIMEOUT" \
    --env "JAN_DEVICE=$JAN_DEVICE_RUN" --env "JAN_PARALLEL=$PARALLEL" \
    --expect-device "$JAN_DEVICE_RUN" --server-log "$OUT/server.log" --json "$WORK/json/load.json"
else
  skip load "no jan-server or no $M05"
fi

# (g) llama.cpp's speed: wait for its build (at most until 120 s before the end).
if [[ -n "$LLAMA_PID" ]]; then
  say "llama-build: waiting"
  until=$((DEADLINE - RESERVE - 120))
  while kill -0 "$LLAMA_PID" 2>/dev/null && ((SECONDS < until)); do sleep 2; done
  if kill -0 "$LLAMA_PID" 2>/dev/null; then
    kill -TERM "$LLAMA_PID" 2>/dev/null # timeout passes it on to the build
    wait "$LLAMA_PID" 2>/dev/null
    rc=124
  else
    wait "$LLAMA_PID"
    rc=$?
  fi
  LLAMA_PID=""
else
  rc=$LLAMA_RC
fi
from=$(($(wc -l <"$RUNLOG") + 1))
echo "----- llama-build: the end of llama-build.log -----" >>"$RUNLOG"
tail -n 20 "$OUT/llama-build.log" >>"$RUNLOG"
case $rc in 0) st=ok ;; 124 | 137) st=timeout ;; *) st=failed ;; esac
[[ $MODE == cpu && $rc -ne 0 ]] && st=skipped
selected llama-build || st=unselected
say "llama-build: $st (exit $rc) $((SECONDS - LLAMA_START)) s after its start"
record llama-build "$st" "$rc" "$((SECONDS - LLAMA_START))" "$LLAMA_LIMIT" "" \
  "ci/cuda/llama-cpp-cuda.sh build (log: llama-build.log)" "$from"
merge
LLAMA_BIN="$LLAMA_PREFIX/bin"
# The build's own library path, should it need one (llama-cpp-cuda.sh writes it).
if [[ -f "$LLAMA_PREFIX/env.sh" ]]; then
  # shellcheck disable=SC1091
  source "$LLAMA_PREFIX/env.sh" >>"$RUNLOG" 2>&1
fi
# -fa 1 only where the FlashAttention kernels were built (llama-cpp-cuda.sh: LLAMA_CUDA_FA, default OFF).
BENCH_FA=0
[[ $MODE == gpu && "${LLAMA_CUDA_FA:-OFF}" == ON ]] && BENCH_FA=0,1
[[ $MODE == cpu ]] && BENCH_FA=0,1
if [[ $rc -eq 0 && -x "$LLAMA_BIN/llama-bench" ]]; then
  for spec in "0.5b:$M05:$CAP_B05" "7b:$M7:$CAP_B7"; do
    IFS=: read -r size model cap <<<"$spec"
    if ((cap == 0)); then
      skip "bench-$size" "not in the dry run"
    elif [[ -f "$model" ]]; then
      # llama-bench's JSON goes to stdout; its log to run.log.
      # shellcheck disable=SC2016 # the script's arguments expand in the inner bash
      step "bench-$size" "$cap" "$WORK/json/bench-$size.json" -- bash -c \
        '"$1" -m "$2" "${@:5}" -o json >"$3.tmp" 2>>"$4"; rc=$?; mv "$3.tmp" "$3"; exit $rc' _ \
        "$LLAMA_BIN/llama-bench" "$model" "$WORK/json/bench-$size.json" "$RUNLOG" \
        "${NGL[@]}" --repack 0 -p "$BENCH_P" -n "$BENCH_N" -fa "$BENCH_FA" -r "$BENCH_R"
    else
      skip "bench-$size" "no $model"
    fi
  done
else
  skip bench-0.5b "no llama.cpp build"
  skip bench-7b "no llama.cpp build"
fi

# (h) greedy parity: llama.cpp's reference on the 0.5b, then gpu_check on the device and on the CPU.
REF="$OUT/greedy-ref.json"
if [[ $rc -eq 0 && -x "$LLAMA_BIN/llama-server" && -f "$M05" ]]; then
  step greedy-ref $CAP_REF "" -- python3 ci/gen-greedy-data.py --model "$M05" --llama-bin "$LLAMA_BIN" \
    "${REF_NGL[@]}" --llama-arg=-nr --out "$REF"
else
  skip greedy-ref "no llama.cpp build or no $M05"
fi
if [[ -f "$REF" ]] && have "$GPU_CHECK"; then
  step parity-gpu $CAP_PG "$WORK/json/parity-gpu.json" -- \
    "$GPU_CHECK" "${DEV[@]}" "$M05" --data "$REF" --json "$WORK/json/parity-gpu.json"
  if ((CAP_PC > 0)); then
    step parity-cpu $CAP_PC "$WORK/json/parity-cpu.json" -- \
      "$GPU_CHECK" --cpu "$M05" --data "$REF" --json "$WORK/json/parity-cpu.json"
  else
    skip parity-cpu "the dry run's parity-gpu already ran on the CPU"
  fi
else
  skip parity-gpu "no reference data"
  skip parity-cpu "no reference data"
fi

merge

# ------------------------------------------------------------------------------------------------------------
# The summary: into gpu-results.json and on stdout.
python3 - "$OUT/gpu-results.json" <<'PY' 2>&1 | tee -a "$RUNLOG"
import json, os, re, sys
path = sys.argv[1]
res = json.load(open(path))
steps = {s["name"]: s for s in res["steps"]}

LABEL_KEYS = ("name", "test", "label", "mode", "kind")
COUNT_KEYS = ("tokens", "n_prompt", "prompt_tokens", "n_gen", "sequences", "seqs", "n_seq", "batch", "batch_size",
              "clients", "parallel", "n", "len", "size", "count")

def flat(v, prefix=""):
    """(path, number) for every number in a JSON value; a list's item is named by its label and count fields."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield from flat(x, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            name = str(i)
            if isinstance(x, dict):
                parts = [str(x[k]) for k in LABEL_KEYS if isinstance(x.get(k), str)]
                parts += [f"{k}={x[k]}" for k in COUNT_KEYS if isinstance(x.get(k), int) and not isinstance(x.get(k), bool)]
                name = ",".join(parts) or name
            yield from flat(x, f"{prefix}[{name}]")
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        yield prefix, v

RATE = re.compile(r"tok_?s|tok/s|tokens?_per_s|per_sec|_ts$|^ts$|tps|rate|throughput|speed")
BATCH = re.compile(r"batch|seq|parallel|concurr|multi")
PROMPT = re.compile(r"pp|prompt|prefill")

def num(n):
    return rf"(?<!\d){n}(?!\d)"

def jan_speed(data):
    """pp512, pp2048, tg and the batched decode aggregates from gpu_check --speed's JSON, found by their names
    (a rate: a last component like tok_s / tokens_per_s / *_ts; the test in the path: pp512, prompt..512,
    tg / decode, batch..64)."""
    out = {}
    def is_rate(p):
        last = re.split(r"[.\[]", p)[-1]
        if re.search(r"^ms|_ms$|mib|mb$|seconds|secs|bytes", last):
            return False
        return bool(re.match(r"^(pp|tg)\d+$", last) or any(RATE.search(c) for c in re.split(r"[.\[\]]", p)))
    items = [(p.lower(), v) for p, v in flat(data) if is_rate(p.lower())]
    for key, test in (("pp512", lambda p: PROMPT.search(p) and re.search(num(512), p)),
                      ("pp2048", lambda p: PROMPT.search(p) and re.search(num(2048), p)),
                      ("tg128", lambda p: re.search(r"tg|decode|gen", p) and not PROMPT.search(p))):
        hits = [v for p, v in items if test(p) and not BATCH.search(p)]
        if hits:
            out[key] = hits[0]
    for n in (1, 4, 16, 64):
        hits = [(p, v) for p, v in items if BATCH.search(p) and re.search(num(n), p)
                and not re.search(r"per_?(stream|seq)", p.rsplit(".", 1)[-1])]
        best = [v for p, v in hits if re.search(r"aggregate|total|sum", p)] or [v for _, v in hits]
        if best:
            out[f"batch{n}"] = best[0]
    return out

def llama_speed(data):
    out = {}
    for r in data if isinstance(data, list) else []:
        # flash_attn: 0 / 1 (-1: auto), as a number or a string depending on the version.
        fa = {"1": 1, "true": 1, "on": 1, "enabled": 1}.get(str(r.get("flash_attn")).lower(), 0)
        if r.get("n_gen", 0) == 0 and r.get("n_prompt"):
            out[(f"pp{r['n_prompt']}", fa)] = r.get("avg_ts")
        elif r.get("n_prompt", 0) == 0 and r.get("n_gen"):
            out[(f"tg{r['n_gen']}", fa)] = r.get("avg_ts")
    return out

summary = {"speed": {}, "concurrency": None, "checks": {}}
lines = []
earlier, earlier_path = {}, os.environ.get("GPU_RUN_LLAMA_FROM", "")
if earlier_path:
    try:
        earlier = json.load(open(earlier_path)).get("summary") or {}
        summary["llama_figures_from"] = earlier_path
        lines.append(f"llama.cpp figures where this run has none: {earlier_path}")
    except (OSError, ValueError) as e:
        lines.append(f"GPU_RUN_LLAMA_FROM={earlier_path}: not read ({e})")
fmt = lambda x: "-" if x is None else f"{x:.1f}"
lines.append("")
lines.append(f"GPU {res.get('gpu_name', '?')}, driver {res.get('driver', '?')}, commit {res.get('git_commit', '?')[:12]}, "
             f"mode {res['mode']}, {res.get('elapsed_s')} s of {res['budget_s']}")
lines.append("")
lines.append(f"{'step':<12} {'status':<8} {'exit':>4} {'seconds':>8} {'limit':>6}")
for s in res["steps"]:
    lines.append(f"{s['name']:<12} {s['status']:<8} {'' if s['exit_status'] is None else s['exit_status']:>4} "
                 f"{s['seconds']:>8.1f} {s['limit_s']:>6}")
lines.append("")
lines.append(f"{'model':<6} {'test':<7} {'jan tok/s':>10} {'llama fa0':>10} {'llama fa1':>10} {'jan/fa0':>8} {'jan/best':>8}")
for size in ("0.5b", "7b"):
    jan = jan_speed(steps.get(f"speed-{size}", {}).get("json", {}))
    llama = llama_speed(steps.get(f"bench-{size}", {}).get("json", []))
    if not llama and earlier:
        # llama.cpp not benched in this run: an earlier run's figures on the same (seeded) models stand in.
        for t, v in earlier.get("speed", {}).get(size, {}).get("tests", {}).items():
            for fa in (0, 1):
                if v.get(f"llama_fa{fa}"):
                    llama[(t, fa)] = v[f"llama_fa{fa}"]
    tests = ["pp512", "pp2048"] + sorted({t for t, _ in llama if t.startswith("tg")} or {"tg128"})
    rows = {}
    for t in tests:
        j = jan.get("tg128" if t.startswith("tg") else t)
        l0, l1 = llama.get((t, 0)), llama.get((t, 1))
        best = max([x for x in (l0, l1) if x], default=None)
        r0 = j / l0 if j and l0 else None
        rb = j / best if j and best else None
        rows[t] = {"jan": j, "llama_fa0": l0, "llama_fa1": l1, "jan_over_fa0": r0, "jan_over_best": rb}
        lines.append(f"{size:<6} {t:<7} {fmt(j):>10} {fmt(l0):>10} {fmt(l1):>10} "
                     f"{'-' if r0 is None else f'{r0:.2f}':>8} {'-' if rb is None else f'{rb:.2f}':>8}")
    raw = steps.get(f"speed-{size}", {}).get("json")
    if raw and not jan:
        lines.append(f"{size:<6} (gpu_check --speed's JSON has no figure this summary recognises: see gpu-results.json)")
    batched = {k: v for k, v in jan.items() if k.startswith("batch")}
    if batched:
        lines.append(f"{size:<6} jan batched decode aggregate tok/s: "
                     + ", ".join(f"{k[5:]} seq {v:.0f}" for k, v in batched.items()))
    summary["speed"][size] = {"tests": rows, "jan_batched": batched}
load = steps.get("load", {}).get("json")
if load:
    summary["concurrency"] = load.get("rounds")
    dc = load.get("device_check") or {}
    lines.append("")
    lines.append(f"jan-server load ({load.get('model')}, env {load.get('server_env')}, max_tokens {load.get('max_tokens')}); "
                 f"device check: {'ok' if dc.get('ok') else 'FAILED ' + str(dc.get('problems'))} "
                 f"{dc.get('devices')} GPUs {dc.get('gpus')}")
    lines.append(f"{'clients':>7} {'done':>5} {'err':>4} {'429':>4} {'agg tok/s':>10} {'ttft p50':>9} {'ttft p95':>9} "
                 f"{'stream tok/s':>12} {'peak RSS MiB':>12}")
    f3 = lambda x: "-" if x is None else f"{x:.3f}"
    for r in load.get("rounds", []):
        lines.append(f"{r['clients']:>7} {r['completed']:>5} {r['errors']:>4} {r['http_429']:>4} {fmt(r['aggregate_tok_s']):>10} "
                     f"{f3(r['ttft_p50_s']):>9} {f3(r['ttft_p95_s']):>9} {fmt(r['per_stream_tok_s_p50']):>12} "
                     f"{r['peak_rss_mib']:>12.0f}")
for name in ("synthetic", "parity-gpu", "parity-cpu", "greedy-ref", "load"):
    if name in steps:
        summary["checks"][name] = steps[name]["status"]
lines.append("")
lines.append("checks: " + ", ".join(f"{k} {v}" for k, v in summary["checks"].items()))
print("\n".join(lines))
res["summary"] = summary
json.dump(res, open(path, "w"), indent=1)
PY

find "$OUT" -maxdepth 1 -type f -printf '%s\t%f\n' | sort -k2 | tee -a "$RUNLOG"
n=$(find "$OUT" -maxdepth 1 -type f | wc -l)
((n <= 8)) || say "warning: $n files in $OUT (only 8 come back)"
# The dry run skips what this machine cannot do (the 7b, llama.cpp without its CPU build); the GPU run skips nothing.
if awk -F'\t' -v mode="$MODE" '$2 != "ok" && $2 != "unselected" && !(mode == "cpu" && $2 == "skipped") { bad = 1 } END { exit bad }' "$STEPS"; then
  say "every step passed$([[ $MODE == cpu ]] && echo ' (or was skipped in the dry run)')"
  exit 0
fi
say "some steps failed, timed out or were skipped (see the table above)"
exit 1
