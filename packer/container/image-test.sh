#!/usr/bin/env bash
# The container image really built and run: buildah builds the CPU image from packer/container/Dockerfile on a
# local Debian base made with debootstrap (no registry needed), podman runs it on a named volume, and the checks
# are the issue's: /health answers, the login works with credentials from the environment, the API refuses
# requests without them, and what was written survives a restart of the container and a new container on the
# same volume. Also: the process runs as `jan` (uid 10001) without new privileges, the image holds no credential,
# the HEALTHCHECK passes, the exposure rule and the secret-placeholder guard refuse to start, Runpod's proxy
# origin and Secure cookies work, SIGTERM stops it cleanly.
#
# Not part of CI (too heavy: root, a debootstrap, a vfs image build). No builder image can be pulled here, so
# jan-server is built on this machine and the Dockerfile's `runtime-prebuilt` stage takes it: the runtime stage
# (user, entrypoint, health check, environment) is what is tested; the `ui`/`builder` stages are built by
# full-build-test.sh, which then runs these checks on its image (--image).
#
# Usage: packer/container/image-test.sh [--binary PATH] [--build] [--allow-stale] [--keep] [--rebuild-base]
#        packer/container/image-test.sh --image NAME [--keep]
#
#   --image NAME     check an image built elsewhere (full-build-test.sh) instead of building one; it is kept
#   --binary PATH    the jan-server to put in the image (default: target/release/jan-server)
#   --build          cargo build --release --locked -p jan-server first (about 10 minutes on 2 cores)
#   --allow-stale    accept a binary older than HEAD's commit (it may not be built from these sources)
#   --keep           keep the image, containers and volume afterwards
#   --rebuild-base   make the debootstrap base again
#
# Environment: JAN_IMAGE_TEST_PORT (default 18337; the container uses the host's network),
# DEBIAN_MIRROR (default http://deb.debian.org/debian). Needs root; installs buildah, podman, runc, debootstrap,
# curl and jq with apt-get when missing. Ends with "N passed, N failed".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=packer/container/local-images.sh
source packer/container/local-images.sh

binary="$ROOT/target/release/jan-server"
build=0 allow_stale=0 keep=0 rebuild_base=0 given_image=""
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf '[image-test] error: %s\n' "$*" >&2; exit 1; }
log() { printf '[image-test] %s\n' "$*" >&2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --image) [[ $# -ge 2 ]] || die "--image needs an image name"; given_image="$2"; shift ;;
    --binary) [[ $# -ge 2 ]] || die "--binary needs a path"; binary="$(realpath "$2")"; shift ;;
    --build) build=1 ;;
    --allow-stale) allow_stale=1 ;;
    --keep) keep=1 ;;
    --rebuild-base) rebuild_base=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

[[ "$(id -u)" -eq 0 ]] || die "run as root (buildah and podman with the vfs driver, debootstrap)"

PORT="${JAN_IMAGE_TEST_PORT:-18337}"
BASE="$JAN_LOCAL_BASE"
IMAGE="${given_image:-localhost/jan-server:image-test}"
CTR=jan-image-test
VOL=jan-image-test-data
JAN_UID=10001
USERNAME=jan-admin
PASSWORD="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
API_KEY="sk-image-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d /tmp/jan-image-test.XXXXXX)"

passed=0 failed=0
pass() { passed=$((passed + 1)); log "ok: $*"; }
fail() { failed=$((failed + 1)); log "FAIL: $*"; }
check() { # check DESCRIPTION COMMAND...: pass when the command succeeds
  local what="$1"; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

cleanup() {
  local rc=$?
  if [[ $keep -eq 0 ]]; then
    pod rm -f -t 5 "$CTR" "$CTR-refused" "$CTR-placeholder" >/dev/null 2>&1 || true
    pod volume rm -f "$VOL" >/dev/null 2>&1 || true
    [[ -n "$given_image" ]] || pod rmi -f "$IMAGE" >/dev/null 2>&1 || true
  else
    log "kept: image $IMAGE, container $CTR, volume $VOL"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# --- Tools -----------------------------------------------------------------------------------------------------
install_container_tools

if [[ -n "$given_image" ]]; then
  pod image exists "$IMAGE" || die "no image $IMAGE in podman's vfs storage"
  log "image: $IMAGE (built elsewhere; $(pod image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MiB", $1 / 1048576}'))"
else
  # --- The binary --------------------------------------------------------------------------------------------------
  if [[ $build -eq 1 ]]; then
    log "cargo build --release --locked -p jan-server"
    cargo build --release --locked -p jan-server
    binary="$ROOT/target/release/jan-server"
  fi
  [[ -x "$binary" ]] || die "$binary is missing: build it (cargo build --release -p jan-server, or --build)"
  head_time="$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)"
  bin_time="$(stat -c %Y "$binary")"
  if [[ "$bin_time" -lt "$head_time" ]]; then
    if [[ $allow_stale -eq 1 ]]; then
      log "WARNING: $binary ($(date -u -d "@$bin_time" '+%F %T')) is older than HEAD's commit ($(date -u -d "@$head_time" '+%F %T')):"
      log "WARNING: it may not be built from these sources; the results test the image, not this commit's server"
    else
      die "$binary is older than HEAD's commit: rebuild it (--build), or pass --allow-stale to test the image with it"
    fi
  fi
  log "binary: $binary ($(($(stat -c %s "$binary") >> 20)) MiB, $("$binary" --version 2>/dev/null || echo '?'))"
  if ! grep -qaE 'assets/index-[A-Za-z0-9_-]+\.js' "$binary"; then
    log "WARNING: $binary does not embed the full UI: a debug build reads ui/dist from the build machine's disk"
    log "WARNING: (rust-embed), a build without npm has only the minimal page; the full-UI check will fail"
  fi

  # --- The base: Debian bookworm minbase from debootstrap -----------------------------------------------------------
  ensure_local_base "$work" "$rebuild_base"

  # --- The image: the Dockerfile's runtime-prebuilt stage on that base ----------------------------------------------
  ctx="$work/context"
  mkdir -p "$ctx/packer/container"
  cp "$binary" "$ctx/jan-server"
  cp packer/container/entrypoint.sh packer/container/healthcheck.sh "$ctx/packer/container/"
  log "buildah bud --target runtime-prebuilt (vfs, chroot isolation, docker format)"
  started=$SECONDS
  # BUILDER_IMAGE and NODE_IMAGE point at the local base too: their stages are skipped (--skip-unused-stages), and
  # nothing may try to pull.
  if bah bud --isolation chroot --pull=never --format docker --layers=false \
    --target runtime-prebuilt \
    --build-arg BASE_IMAGE="$BASE" --build-arg BUILDER_IMAGE="$BASE" --build-arg NODE_IMAGE="$BASE" \
    -f packer/container/Dockerfile -t "$IMAGE" "$ctx" >"$work/build.log" 2>&1; then
    pass "buildah built $IMAGE in $((SECONDS - started)) s ($(pod image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MiB", $1 / 1048576}'))"
  else
    tail -30 "$work/build.log" >&2
    fail "buildah bud"
    die "the image did not build"
  fi
fi

# --- The image's configuration -----------------------------------------------------------------------------------
inspect="$(pod image inspect "$IMAGE")"
image_env() { jq -r '.[0].Config.Env[]' <<<"$inspect"; }
image_env_ok() {
  local env
  env="$(image_env)"
  grep -qx JAN_API_HOST=0.0.0.0 <<<"$env" && grep -qx JAN_API_PORT=1337 <<<"$env" &&
    grep -qx JAN_DATA_FOLDER=/workspace/jan <<<"$env"
}
image_has_no_credential() {
  local text
  text="$(image_env; pod history --no-trunc --format '{{.CreatedBy}}' "$IMAGE")"
  [[ -n "$text" ]] && ! grep -qiE 'PASSWORD|USERNAME|API_KEY|SECRET|TOKEN' <<<"$text"
}
image_healthcheck_ok() {
  jq -e '[(.[0].Config.Healthcheck // .[0].Healthcheck // {}).Test[]?] | any(test("jan-healthcheck"))' <<<"$inspect" >/dev/null
}
image_config_ok() {
  jq -e '.[0].Config | (.ExposedPorts | has("1337/tcp")) and .Entrypoint == ["/usr/local/bin/jan-entrypoint"]
    and .Cmd == ["jan-server"]' <<<"$inspect" >/dev/null
}
jan_uid_ok() {
  [[ "$(pod run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --entrypoint id "$IMAGE" -u jan)" == "$JAN_UID" ]]
}
check "image env: JAN_API_HOST=0.0.0.0, JAN_API_PORT=1337, JAN_DATA_FOLDER=/workspace/jan" image_env_ok
check "image env and history hold no credential" image_has_no_credential
check "image: HEALTHCHECK runs jan-healthcheck (docker format)" image_healthcheck_ok
check "image: exposes 1337/tcp, entrypoint jan-entrypoint, command jan-server" image_config_ok
check "image: the user jan has uid $JAN_UID" jan_uid_ok

# --- Refusals ------------------------------------------------------------------------------------------------------
run_args=(--network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -e JAN_API_PORT="$PORT")
set +e
out="$(pod run --name "$CTR-refused" "${run_args[@]}" -v "$VOL:/workspace" "$IMAGE" 2>&1)"
rc=$?
set -e
pod rm -f "$CTR-refused" >/dev/null 2>&1 || true
refused() { [[ $rc -ne 0 && "$out" == *"refusing to listen"* ]]; }
check "without credentials on 0.0.0.0 it refuses to start (exit $rc)" refused
set +e
out="$(JAN_USERNAME="$USERNAME" JAN_PASSWORD='{{ RUNPOD_SECRET_jan_password }}' \
  pod run --name "$CTR-placeholder" "${run_args[@]}" -e JAN_USERNAME -e JAN_PASSWORD "$IMAGE" 2>&1)"
rc=$?
set -e
pod rm -f "$CTR-placeholder" >/dev/null 2>&1 || true
placeholder_refused() { [[ $rc -eq 64 && "$out" == *"unresolved secret placeholder"* ]]; }
check "with an unresolved {{ RUNPOD_SECRET_... }} password it refuses to start (exit $rc)" placeholder_refused

# --- Running -------------------------------------------------------------------------------------------------------
base_url="http://127.0.0.1:$PORT"
start() { # start [extra podman run args...]: a detached container on the volume, credentials from the environment
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && die "port $PORT is in use (set JAN_IMAGE_TEST_PORT)"
  JAN_USERNAME="$USERNAME" JAN_PASSWORD="$PASSWORD" JAN_API_KEY="$API_KEY" \
    pod run -d --name "$CTR" "${run_args[@]}" -e JAN_USERNAME -e JAN_PASSWORD -e JAN_API_KEY \
    -v "$VOL:/workspace" "$@" "$IMAGE" >/dev/null
}
wait_healthy() {
  local _
  for _ in $(seq 120); do
    if curl -fsS -o /dev/null "$base_url/health" 2>/dev/null; then
      return 0
    fi
    if [[ "$(pod inspect --format '{{.State.Running}}' "$CTR" 2>/dev/null)" != true ]]; then
      pod logs "$CTR" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  pod logs "$CTR" >&2 || true
  return 1
}
status() { # status METHOD PATH [curl args...]: the HTTP status code
  local method="$1" path="$2"; shift 2
  curl -s -o /dev/null -w '%{http_code}' -X "$method" "$base_url$path" "$@"
}
login() { # prints the session cookie (name=value) or nothing
  curl -s -D - -o /dev/null -X POST "$base_url/api/login" -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --arg u "$USERNAME" --arg p "$PASSWORD" '{username: $u, password: $p}')" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1
}

start
check "the container starts and /health answers" wait_healthy
health="$(curl -s "$base_url/health")"
health_ok() { jq -e '.status == "ready" or .status == "loading"' <<<"$health" >/dev/null; }
check "/health: $health" health_ok
check "podman healthcheck run: healthy (the image's HEALTHCHECK)" pod healthcheck run "$CTR"
proc="$(pod exec "$CTR" cat /proc/1/status)"
unprivileged() {
  grep -qE "^Name:\s+jan-server$" <<<"$proc" && grep -qE "^Uid:(\s+$JAN_UID){4}$" <<<"$proc" &&
    grep -qE "^Gid:(\s+$JAN_UID){4}$" <<<"$proc" && grep -qE '^NoNewPrivs:\s+1$' <<<"$proc" &&
    grep -qE '^CapEff:\s+0+$' <<<"$proc"
}
check "jan-server is PID 1 as uid/gid $JAN_UID, no new privileges, no capabilities" unprivileged

# Without credentials
check "no credentials: GET /v1/threads is 401" [ "$(status GET /v1/threads)" = 401 ]
check "no credentials: POST /v1/threads is 401" [ "$(status POST /v1/threads -H 'Content-Type: application/json' -d '{}')" = 401 ]
check "no credentials: GET /api/system is 401" [ "$(status GET /api/system)" = 401 ]
check "no credentials: POST /v1/chat/completions is 401" \
  [ "$(status POST /v1/chat/completions -H 'Content-Type: application/json' -d '{"model":"x","messages":[]}')" = 401 ]
check "no credentials: the page redirects to the login (303)" [ "$(status GET / -H 'Accept: text/html')" = 303 ]
check "wrong password: 401" [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base_url/api/login" \
  -H 'Content-Type: application/json' -d "{\"username\":\"$USERNAME\",\"password\":\"not-it\"}")" = 401 ]
check "wrong API key: 401" [ "$(status GET /v1/models -H 'Authorization: Bearer sk-wrong')" = 401 ]
check "the API key from JAN_API_KEY: GET /v1/models is 200" [ "$(status GET /v1/models -H "Authorization: Bearer $API_KEY")" = 200 ]

# Logged in
cookie="$(login)"
check "login with JAN_USERNAME/JAN_PASSWORD sets a session cookie" [ -n "$cookie" ]
session="$(curl -s "$base_url/api/session" -H "Cookie: $cookie")"
session_ok() { jq -e '.authenticated == true and .login_required == true' <<<"$session" >/dev/null; }
check "/api/session: $session" session_ok
page="$(curl -s "$base_url/" -H "Cookie: $cookie" -H 'Accept: text/html')"
full_ui() { grep -q 'assets/index-' <<<"$page" || { log "GET / answered: ${page:0:300}"; return 1; }; }
check "the page is the full UI (ui/dist embedded: assets/index-*.js)" full_ui
origin="Origin: $base_url"
title="image-test $(date -u +%s)"
thread="$(curl -s -X POST "$base_url/v1/threads" -H "Cookie: $cookie" -H "$origin" -H 'Content-Type: application/json' \
  --data-binary "$(jq -nc --arg t "$title" '{title: $t}')")"
thread_id="$(jq -r '.id // empty' <<<"$thread")"
check "logged in: a thread is created ($thread_id)" [ -n "$thread_id" ]
check "logged in: a message is added to it" [ "$(status POST "/v1/threads/$thread_id/messages" -H "Cookie: $cookie" -H "$origin" \
  -H 'Content-Type: application/json' -d '{"role":"user","content":"kept across restarts"}')" = 201 ]
check "logged in: a state change from another origin is refused (403)" [ "$(status POST /v1/threads -H "Cookie: $cookie" \
  -H 'Origin: http://evil.example' -H 'Content-Type: application/json' -d '{}')" = 403 ]
mountpoint="$(pod volume inspect "$VOL" --format '{{.Mountpoint}}')"
on_volume() {
  [[ -d "$mountpoint/jan/threads/$thread_id" && -z "$(find "$mountpoint/jan" ! -user "$JAN_UID" -print -quit)" ]]
}
check "on the volume: jan/threads/$thread_id/, everything under jan/ owned by $JAN_UID" on_volume

thread_kept() { # thread_kept AUTH-HEADER: the thread and its message are there
  local got messages
  got="$(curl -s "$base_url/v1/threads/$thread_id" -H "$1")"
  messages="$(curl -s "$base_url/v1/threads/$thread_id/messages" -H "$1")"
  jq -e --arg t "$title" '.title == $t' >/dev/null <<<"$got" &&
    jq -e '[.data[] | .content[]?.text.value] | index("kept across restarts") != null' >/dev/null <<<"$messages"
}

# Restart the same container
pod restart -t 20 "$CTR" >/dev/null
check "after podman restart: /health answers" wait_healthy
cookie="$(login)"
check "after podman restart: login works, the thread and its message are there" thread_kept "Cookie: $cookie"

# A new container on the same volume
pod stop -t 20 "$CTR" >/dev/null
exit_code="$(pod inspect --format '{{.State.ExitCode}}' "$CTR")"
check "podman stop (SIGTERM): jan-server exits 0 (exit $exit_code)" [ "$exit_code" = 0 ]
pod rm -f "$CTR" >/dev/null
start
check "a new container on the same volume: /health answers" wait_healthy
check "a new container on the same volume: the thread and its message are there (API key)" \
  thread_kept "Authorization: Bearer $API_KEY"
pod rm -f -t 20 "$CTR" >/dev/null

# As on Runpod: behind its HTTPS proxy, origin https://<pod id>-<port>.proxy.runpod.net
start -e JAN_BEHIND_HTTPS_PROXY=true -e RUNPOD_POD_ID=abc123xyz
check "Runpod settings (JAN_BEHIND_HTTPS_PROXY=true, RUNPOD_POD_ID): /health answers" wait_healthy
set_cookie="$(curl -s -D - -o /dev/null -X POST "$base_url/api/login" -H 'Content-Type: application/json' \
  --data-binary "$(jq -nc --arg u "$USERNAME" --arg p "$PASSWORD" '{username: $u, password: $p}')" | tr -d '\r' |
  grep -i '^set-cookie:' || true)"
check "behind Runpod's proxy: the session cookie is Secure" grep -q '; Secure' <<<"$set_cookie"
cookie="$(sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' <<<"$set_cookie" | head -1)"
check "behind Runpod's proxy: a state change from https://abc123xyz-$PORT.proxy.runpod.net is allowed" \
  [ "$(status POST /v1/threads -H "Cookie: $cookie" -H "Origin: https://abc123xyz-$PORT.proxy.runpod.net" \
    -H 'Content-Type: application/json' -d '{"title":"via the proxy"}')" = 201 ]
check "behind Runpod's proxy: another pod's origin is refused" \
  [ "$(status POST /v1/threads -H "Cookie: $cookie" -H "Origin: https://other-$PORT.proxy.runpod.net" \
    -H 'Content-Type: application/json' -d '{}')" = 403 ]
pod rm -f -t 20 "$CTR" >/dev/null

echo "image-test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
