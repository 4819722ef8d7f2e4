#!/usr/bin/env bash
# Provisioning step 6 (as root, last): leave nothing of the build VM in the image. Every VM made from it gets
# its own machine-id, SSH host keys and cloud-init run (which writes /etc/jan/jan.env from its user-data).
set -euo pipefail
log() { printf '[jan-image] %s\n' "$*"; }

rm -rf /tmp/jan-build
apt-get clean
rm -rf /var/lib/apt/lists/*
# cloud-init runs again, from scratch, on every new VM (its user-data carries the credentials).
cloud-init clean --logs --seed
# A fresh machine-id per VM (an empty file makes systemd generate one at boot).
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id
# The build's SSH key: the VM's user gets the key given at launch.
build_user="${SUDO_USER:-}"
if [[ -n "$build_user" && "$build_user" != root ]]; then
  home="$(getent passwd "$build_user" | cut -d: -f6)"
  rm -f "$home/.ssh/authorized_keys"
fi
rm -f /root/.ssh/authorized_keys
journalctl --rotate >/dev/null 2>&1 || true
journalctl --vacuum-time=1s >/dev/null 2>&1 || true
sync
log "cleaned: build files, apt lists, cloud-init state, machine-id, the build's SSH key, journal"
