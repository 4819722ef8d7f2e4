#!/usr/bin/env bash
# Provisioning step 1 (all clouds, as root): wait for the base image's first boot to settle, then install
# the few packages the image needs (openssl for the first-boot certificate, nftables for the firewall, curl
# for the metadata service).
set -euo pipefail
log() { printf '[jan-image] %s\n' "$*"; }

export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@"; }

if command -v cloud-init >/dev/null; then
  log "waiting for cloud-init to finish the build VM's first boot"
  cloud-init status --wait >/dev/null || log "cloud-init reported an error on the build VM (continuing)"
else
  # The credentials reach the VM through cloud-init's user-data: an image without it cannot work.
  log "error: cloud-init is not installed in the base image"
  exit 1
fi

# shellcheck source=/dev/null
. /etc/os-release
log "base image: $PRETTY_NAME, kernel $(uname -r)"
case "${ID}:${VERSION_ID}" in
  ubuntu:22.04 | ubuntu:24.04 | debian:12) ;;
  *) log "warning: ${PRETTY_NAME} is not a tested base (Ubuntu 22.04 is)" ;;
esac

log "installing openssl nftables curl ca-certificates"
apt_get update
apt_get install --no-install-recommends openssl nftables curl ca-certificates >/dev/null
