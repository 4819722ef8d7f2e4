#!/usr/bin/env bash
# The whole Dockerfile built, CPU variant: buildah builds packer/container/Dockerfile's default target `runtime`
# through its `ui` stage (Node 20: npm ci, ci/build-ui.sh) and its `builder` stage (cargo build --release --locked
# -p jan-server, the UI embedded) with FEATURES= (no CUDA), then image-test.sh --image runs its checks on the
# result: /health, the login with credentials from the environment, 401 without them, data kept across a restart
# and a new container on the volume, the health check, the unprivileged user, the refusals.
#
# No registry is reachable here, so the stages' base images are stand-ins made locally on image-test.sh's
# debootstrap base (packer/container/local-images.sh):
#   NODE_IMAGE     localhost/jan-full-build/node:<version>: the base plus this machine's node (20.19+) and npm;
#   BUILDER_IMAGE  --rust rustup: the plain base, so the Dockerfile's own path for builders without cargo runs
#                  (apt-get build-essential, rustup-init checked against its sha256, RUST_VERSION from
#                  static.rust-lang.org); --rust host: localhost/jan-full-build/rust:<RUST_VERSION>, the base
#                  plus build-essential, pkg-config and this machine's toolchain of the Dockerfile's RUST_VERSION
#                  (like the default rust:1.95-bookworm, whose cargo makes the Dockerfile skip rustup);
#   BASE_IMAGE     the base itself (like debian:bookworm-slim).
# The build has the host's network (crates.io, npm, Debian, static.rust-lang.org) and the Dockerfile's cargo cache
# mounts, which buildah keeps between runs. This machine's own CA certificates (/usr/local/share/ca-certificates,
# e.g. a TLS-intercepting egress proxy's) go into the node and builder stand-ins only (NODE_EXTRA_CA_CERTS; the
# builder's `apt-get install ca-certificates` adds them to its bundle), never into the runtime image.
#
# Not part of CI: root, about 16 minutes on 2 cores the first time (cargo's release build 12.5 of them), about 9
# with buildah's cargo cache from an earlier run; a few GB of disk.
#
# Usage: packer/container/full-build-test.sh [--rust auto|rustup|host] [--target runtime|ui] [--keep]
#                                           [--rebuild-base] [--no-run]
#
#   --rust MODE      where the builder's Rust comes from (default auto: rustup when static.rust-lang.org answers)
#   --target ui      build the ui stage only (about a minute; no image-test.sh)
#   --keep           keep the image (localhost/jan-server:full-build-test) and image-test.sh's containers
#   --rebuild-base   make the debootstrap base and the stand-in images again
#   --no-run         build only, do not run image-test.sh
#
# Environment: JAN_FULL_BUILD_CA_DIR (default /usr/local/share/ca-certificates; empty: none),
# JAN_FULL_BUILD_LOG (default ~/.cache/jan-full-build/build.log: buildah's output, each line with the seconds
# since the build started), DEBIAN_MIRROR, JAN_IMAGE_TEST_PORT (image-test.sh's). The build context is the working
# tree (the root .dockerignore applies), as with `docker build .`. Ends with image-test.sh's "N passed, N failed"
# and a summary line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=packer/container/local-images.sh
source packer/container/local-images.sh

rust_mode=auto target=runtime keep=0 rebuild_base=0 run_checks=1
usage() { sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf '[full-build-test] error: %s\n' "$*" >&2; exit 1; }
log() { printf '[full-build-test] %s\n' "$*" >&2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rust) [[ $# -ge 2 ]] || die "--rust needs auto, rustup or host"; rust_mode="$2"; shift ;;
    --target) [[ $# -ge 2 ]] || die "--target needs runtime or ui"; target="$2"; shift ;;
    --keep) keep=1 ;;
    --rebuild-base) rebuild_base=1 ;;
    --no-run) run_checks=0 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ "$rust_mode" =~ ^(auto|rustup|host)$ ]] || die "--rust: auto, rustup or host, not $rust_mode"
[[ "$target" =~ ^(runtime|ui)$ ]] || die "--target: runtime or ui, not $target"
[[ "$(id -u)" -eq 0 ]] || die "run as root (buildah and podman with the vfs driver, debootstrap)"

IMAGE=localhost/jan-server:full-build-test
LOG="${JAN_FULL_BUILD_LOG:-$HOME/.cache/jan-full-build/build.log}"
RUST_VERSION="$(sed -n 's/^ARG RUST_VERSION=//p' packer/container/Dockerfile)"
[[ -n "$RUST_VERSION" ]] || die "no ARG RUST_VERSION= in packer/container/Dockerfile"
TRIPLE="$(uname -m)-unknown-linux-gnu"
export BUILDAH_ISOLATION=chroot
work="$(mktemp -d /tmp/jan-full-build.XXXXXX)"
ctr=""
total_started=$SECONDS

cleanup() {
  local rc=$?
  [[ -z "$ctr" ]] || bah rm "$ctr" >/dev/null 2>&1 || true
  if [[ $keep -eq 0 ]]; then
    pod rmi -f "$IMAGE" >/dev/null 2>&1 || true
  else
    log "kept: image $IMAGE"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

install_container_tools
ensure_local_base "$work" "$rebuild_base"

# run_in IMAGE... : podman run --rm without network (the ulimits: podman's defaults are above what runc may set here).
run_in() { pod run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"; }

# This machine's extra CA certificates, for the stages that download (npm, rustup, cargo).
CA_DIR="${JAN_FULL_BUILD_CA_DIR-/usr/local/share/ca-certificates}"
local_cas=()
if [[ -n "$CA_DIR" && -d "$CA_DIR" ]]; then
  mapfile -t local_cas < <(find "$CA_DIR" -maxdepth 1 -name '*.crt' -type f | sort)
fi
[[ ${#local_cas[@]} -eq 0 ]] || log "local CA certificates for the node and builder stand-ins: ${local_cas[*]}"
# The stand-ins' tags change with those certificates.
ca_tag="$(cat "${local_cas[@]}" </dev/null | sha256sum | cut -c1-8)"

# stand_in NAME: start a working container from the base for the stand-in image NAME (into $ctr), with the local
# CA certificates in /usr/local/share/ca-certificates (where Debian's update-ca-certificates takes them from) and
# in one file, /usr/local/share/ca-certificates/local-cas.pem (for NODE_EXTRA_CA_CERTS).
stand_in() {
  log "making $1"
  ctr="$(bah from --pull=never "$JAN_LOCAL_BASE")"
  if [[ ${#local_cas[@]} -gt 0 ]]; then
    local mnt
    mnt="$(bah mount "$ctr")"
    install -d "$mnt/usr/local/share/ca-certificates"
    install -m 0644 "${local_cas[@]}" "$mnt/usr/local/share/ca-certificates/"
    cat "${local_cas[@]}" >"$mnt/usr/local/share/ca-certificates/local-cas.pem"
    bah umount "$ctr" >/dev/null
  fi
}
# commit NAME [buildah config args...]: commit $ctr as NAME.
commit() {
  local name="$1"; shift
  [[ $# -eq 0 ]] || bah config "$@" "$ctr"
  bah commit --quiet --format docker --rm "$ctr" "$name" >/dev/null
  ctr=""
}

# --- NODE_IMAGE: the base plus this machine's Node.js and npm ----------------------------------------------------
node_bin="$(command -v node)" || die "node is not installed (the ui stage needs Node.js 20.19+)"
node_version="$(node --version)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "node $node_version is too old: the UI (Vite) needs 20.19 or newer"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
[[ -f "$npm_dir/package.json" && "$(basename "$npm_dir")" == npm ]] || die "npm's folder not found ($npm_dir)"
NODE_IMAGE="localhost/jan-full-build/node:${node_version#v}-ca$ca_tag"
[[ $rebuild_base -eq 0 ]] || pod rmi -f "$NODE_IMAGE" >/dev/null 2>&1 || true
if ! pod image exists "$NODE_IMAGE"; then
  stand_in "$NODE_IMAGE (node $node_version from $node_bin, npm from $npm_dir)"
  bah copy --quiet "$ctr" "$node_bin" /usr/local/bin/node >/dev/null
  bah copy --quiet "$ctr" "$npm_dir" /usr/local/lib/node_modules/npm >/dev/null
  bah run "$ctr" -- ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
  bah run "$ctr" -- ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
  # shellcheck disable=SC2016 # expanded in the container
  bah run "$ctr" -- sh -c 'echo "node $(node --version), npm $(npm --version)"' >&2
  ca_env=()
  [[ ${#local_cas[@]} -eq 0 ]] || ca_env=(--env NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/local-cas.pem)
  commit "$NODE_IMAGE" --cmd node "${ca_env[@]}"
fi
log "NODE_IMAGE: $NODE_IMAGE"

# --- BUILDER_IMAGE -----------------------------------------------------------------------------------------------
if [[ "$rust_mode" == auto ]]; then
  if curl -sSfI --max-time 15 -o /dev/null "https://static.rust-lang.org/rustup/dist/$TRIPLE/rustup-init.sha256"; then
    rust_mode=rustup
  else
    log "static.rust-lang.org does not answer: the builder gets this machine's toolchain"
    rust_mode=host
  fi
fi
if [[ "$rust_mode" == rustup ]]; then
  # The Dockerfile installs build-essential, pkg-config and Rust $RUST_VERSION itself (no cargo in the image): the
  # base as it is, with the local CA certificates when there are some.
  BUILDER_IMAGE="$JAN_LOCAL_BASE"
  if [[ ${#local_cas[@]} -gt 0 ]]; then
    BUILDER_IMAGE="localhost/jan-full-build/debian-bookworm-minbase:ca$ca_tag"
    [[ $rebuild_base -eq 0 ]] || pod rmi -f "$BUILDER_IMAGE" >/dev/null 2>&1 || true
    if ! pod image exists "$BUILDER_IMAGE"; then
      stand_in "$BUILDER_IMAGE (the base and the local CA certificates)"
      commit "$BUILDER_IMAGE"
    fi
  fi
  log "BUILDER_IMAGE: $BUILDER_IMAGE (the Dockerfile's rustup path installs Rust $RUST_VERSION)"
else
  BUILDER_IMAGE="localhost/jan-full-build/rust:$RUST_VERSION-ca$ca_tag"
  [[ $rebuild_base -eq 0 ]] || pod rmi -f "$BUILDER_IMAGE" >/dev/null 2>&1 || true
  if ! pod image exists "$BUILDER_IMAGE"; then
    toolchain="$(readlink -f "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$RUST_VERSION-$TRIPLE")"
    [[ -x "$toolchain/bin/cargo" ]] ||
      die "no Rust $RUST_VERSION toolchain here (rustup toolchain install $RUST_VERSION), and no static.rust-lang.org"
    [[ "$("$toolchain/bin/rustc" --version)" == "rustc $RUST_VERSION "* ]] ||
      die "$toolchain is not Rust $RUST_VERSION: $("$toolchain/bin/rustc" --version)"
    stand_in "$BUILDER_IMAGE (Rust from $toolchain, build-essential and pkg-config from Debian)"
    bah run --network host "$ctr" -- sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends build-essential ca-certificates pkg-config >/dev/null &&
      rm -rf /var/lib/apt/lists/*'
    mnt="$(bah mount "$ctr")"
    dest="/usr/local/rustup/toolchains/$RUST_VERSION-$TRIPLE"
    mkdir -p "$mnt$dest" "$mnt/usr/local/cargo/bin"
    # Without the documentation (share/doc: the rust-docs component), as a minimal profile has it.
    tar -C "$toolchain" --exclude=./share/doc -c . | tar -C "$mnt$dest" -x
    for tool in cargo rustc rustdoc; do
      ln -s "$dest/bin/$tool" "$mnt/usr/local/cargo/bin/$tool"
    done
    bah umount "$ctr" >/dev/null
    base_path="$(pod image inspect "$JAN_LOCAL_BASE" --format '{{range .Config.Env}}{{println .}}{{end}}' |
      sed -n 's/^PATH=//p')"
    commit "$BUILDER_IMAGE" --env CARGO_HOME=/usr/local/cargo --env RUSTUP_HOME=/usr/local/rustup \
      --env PATH="/usr/local/cargo/bin:${base_path:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"
    run_in "$BUILDER_IMAGE" cargo --version >&2 || die "cargo does not run in $BUILDER_IMAGE"
  fi
  log "BUILDER_IMAGE: $BUILDER_IMAGE (Rust $RUST_VERSION from this machine)"
fi

# --- The build -----------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$LOG")"
log "buildah bud --target $target, FEATURES= (CPU), network host; the log: $LOG"
started=$SECONDS
set +e
bah bud --pull=never --format docker --layers=false --network host \
  --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg BUILDER_IMAGE="$BUILDER_IMAGE" \
  --build-arg BASE_IMAGE="$JAN_LOCAL_BASE" --build-arg FEATURES= \
  --target "$target" -f packer/container/Dockerfile -t "$IMAGE" "$ROOT" 2>&1 |
  while IFS= read -r line; do printf '[%5d s] %s\n' "$((SECONDS - started))" "$line"; done >"$LOG"
build_rc=${PIPESTATUS[0]}
set -e
build_s=$((SECONDS - started))
# The steps and when each began.
grep -E '^\[ *[0-9]+ s\] (\[[0-9]+/[0-9]+\] )?STEP ' "$LOG" | cut -c1-110 | sed 's/^/  /' >&2 || true
if [[ $build_rc -ne 0 ]]; then
  tail -40 "$LOG" >&2
  die "buildah bud --target $target failed after $build_s s (exit $build_rc; the log: $LOG)"
fi
size="$(pod image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MiB", $1 / 1048576}')"
log "built $IMAGE (--target $target) in $build_s s, $size"

if [[ "$target" == ui ]]; then
  files="$(run_in --entrypoint ls "$IMAGE" /src/ui/dist /src/ui/dist/assets | tr '\n' ' ')"
  log "ui/dist: $files"
  echo "full-build-test: ui stage built in $build_s s ($size); total $((SECONDS - total_started)) s"
  exit 0
fi
version="$(run_in --entrypoint /usr/local/bin/jan-server "$IMAGE" --version)"
log "jan-server in the image: $version"
leaked="$(run_in --entrypoint find "$IMAGE" /usr/local/share -name '*.crt' -o -name '*.pem')"
[[ -z "$leaked" ]] || die "the runtime image holds the build's local CA certificates: $leaked"
if [[ $run_checks -eq 0 ]]; then
  echo "full-build-test: built in $build_s s ($size, $version); not run (--no-run); total $((SECONDS - total_started)) s"
  exit 0
fi

# --- The checks: image-test.sh on this image -------------------------------------------------------------------------
log "packer/container/image-test.sh --image $IMAGE"
checks_started=$SECONDS
keep_args=()
[[ $keep -eq 0 ]] || keep_args=(--keep)
set +e
bash packer/container/image-test.sh --image "$IMAGE" "${keep_args[@]}"
checks_rc=$?
set -e
verdict=passed
[[ $checks_rc -eq 0 ]] || verdict=FAILED
echo "full-build-test: built in $build_s s ($size, $version, Rust: $rust_mode);" \
  "image-test.sh $verdict in $((SECONDS - checks_started)) s; total $((SECONDS - total_started)) s"
[[ $checks_rc -eq 0 ]]
