#!/usr/bin/env bash
# Provisioning step 2 (as root): the NVIDIA driver, only where the base image lacks it.
#
#   NVIDIA_DRIVER=auto     (default) keep the base image's driver (AWS Deep Learning Base AMI, GCP Deep
#                          Learning VM images); install one when there is none (Azure's plain Ubuntu)
#   NVIDIA_DRIVER=install  install even if one is there (replaces nothing the base installed by hand: only
#                          for bases whose driver came from Ubuntu's packages)
#   NVIDIA_DRIVER=skip     never (a CPU-only image)
#   NVIDIA_DRIVER_BRANCH   Ubuntu's driver branch to install (default 580-server: CUDA 13.0, what
#                          ci/build-cuda.sh builds for, needs a 580 driver or newer)
#
# The driver comes from Ubuntu's own archive (ubuntu-drivers), whose kernel modules are prebuilt and signed by
# Canonical, so it also loads with Secure Boot (Azure Trusted Launch). The module loads at the next boot: the
# image's first boot.
set -euo pipefail
log() { printf '[jan-image] %s\n' "$*"; }

mode="${NVIDIA_DRIVER:-auto}"
branch="${NVIDIA_DRIVER_BRANCH:-580-server}"
min_major=580
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@"; }

installed_version() {
  # The loaded module's version, else the installed userspace's (nvidia-smi needs the module loaded).
  if [[ -r /proc/driver/nvidia/version ]]; then
    # "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build ..."
    head -1 /proc/driver/nvidia/version | grep -oE '[0-9]{3,}\.[0-9]+(\.[0-9]+)?' | head -1
  elif command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1
  fi
}

case "$mode" in
  skip)
    log "NVIDIA driver: skipped (NVIDIA_DRIVER=skip)"
    exit 0
    ;;
  auto | install) ;;
  *)
    log "error: NVIDIA_DRIVER must be auto, install or skip (not '$mode')"
    exit 1
    ;;
esac

have="$(installed_version || true)"
if [[ "$mode" == auto && -n "$have" ]]; then
  log "NVIDIA driver $have is already installed by the base image: keeping it"
elif [[ "$mode" == auto ]] && command -v nvidia-smi >/dev/null; then
  log "nvidia-smi is installed but reports no driver version (no GPU on the build VM?): keeping the base's driver"
else
  # shellcheck source=/dev/null
  . /etc/os-release
  if [[ "$ID" != ubuntu ]]; then
    log "error: installing the driver is only scripted for Ubuntu (this is $PRETTY_NAME); use a base image with the driver"
    exit 1
  fi
  log "installing Ubuntu's NVIDIA driver nvidia:$branch (signed prebuilt modules) and nvidia-utils-$branch"
  apt_get update
  apt_get install --no-install-recommends ubuntu-drivers-common >/dev/null
  ubuntu-drivers install --gpgpu "nvidia:$branch"
  apt_get install --no-install-recommends "nvidia-utils-$branch" >/dev/null
  # Loaded now when possible (the smoke test in verify.sh then sees the GPU); it loads at boot anyway.
  modprobe nvidia 2>/dev/null || log "the nvidia module loads at the image's first boot"
  have="$(installed_version || true)"
  [[ -n "$have" ]] || have="$(dpkg-query -W -f '${Version}' "nvidia-utils-$branch" 2>/dev/null || true)"
  log "installed NVIDIA driver ${have:-?}"
fi

if [[ -n "$have" ]]; then
  major="${have%%.*}"
  if [[ "$major" =~ ^[0-9]+$ && "$major" -lt "$min_major" ]]; then
    log "error: driver $have is older than $min_major, which CUDA 13.0 (the CUDA build of jan-server) needs:"
    log "       pick a newer base image, or NVIDIA_DRIVER=install on a base whose driver is Ubuntu's"
    exit 1
  fi
fi
