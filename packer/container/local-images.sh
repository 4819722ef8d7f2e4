# shellcheck shell=bash
# Sourced by image-test.sh and full-build-test.sh (not run on its own): buildah and podman on the vfs driver, the
# tools they need, and the local Debian bookworm base that stands in for the registry's images (no registry is
# reachable on the development machines). The caller defines log and die.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).

# The debootstrap base: Debian bookworm, --variant=minbase, apt lists emptied. Kept in podman's vfs storage and
# reused by every run until --rebuild-base.
JAN_LOCAL_BASE=localhost/jan-image-test/debian-bookworm-minbase:latest

bah() { buildah --storage-driver vfs "$@"; }
# podman logs an error for each HEALTHCHECK timer it cannot give systemd (none here); `podman healthcheck run`
# runs the check itself.
pod() {
  podman --storage-driver vfs --runtime runc --events-backend file --cgroup-manager cgroupfs "$@" \
    2> >(grep -v 'unable to get systemd connection' >&2)
}

# install_container_tools: buildah, podman, runc, debootstrap, curl and jq, from apt when missing.
install_container_tools() {
  local tool missing=()
  for tool in buildah podman runc debootstrap curl jq; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
  log "$(buildah --version); $(podman --version)"
}

# ensure_local_base SCRATCH_DIR REBUILD: $JAN_LOCAL_BASE exists afterwards (debootstrap, about a minute, when it
# does not or REBUILD is 1).
ensure_local_base() {
  local scratch="$1" rebuild="$2" mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  if [[ "$rebuild" -eq 1 ]]; then
    pod rmi -f "$JAN_LOCAL_BASE" >/dev/null 2>&1 || true
  fi
  if ! pod image exists "$JAN_LOCAL_BASE"; then
    log "debootstrap --variant=minbase bookworm ($mirror), about a minute"
    debootstrap --variant=minbase bookworm "$scratch/rootfs" "$mirror" >"$scratch/debootstrap.log" 2>&1 ||
      { tail -20 "$scratch/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$scratch/rootfs/var/cache/apt/archives/"*.deb "$scratch/rootfs/var/lib/apt/lists/"*
    tar -C "$scratch/rootfs" -c . | pod import --change 'CMD ["/bin/bash"]' - "$JAN_LOCAL_BASE" >/dev/null
    rm -rf "$scratch/rootfs"
  fi
  log "base: $JAN_LOCAL_BASE"
}
