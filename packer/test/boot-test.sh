#!/usr/bin/env bash
# The VM image's provisioning and first boots, for real, without a cloud: a Debian 12 root file system
# (debootstrap, with systemd and cloud-init) booted with systemd in a systemd-nspawn container on a private veth
# link. In it, as Packer would on the build VM: packer/scripts/{base,nvidia,jan,firewall,verify,cleanup}.sh with
# the uploads in /tmp/jan-build (packer/files/ and a CPU jan-server, so CPU_ONLY=true, NVIDIA_DRIVER=skip; apt
# is a no-op: the packages are in the root file system already). Then, as a VM made from the image:
#
#   1. boot without credentials: jan-firewall and jan-tls run, jan-server is skipped (its condition);
#   2. jan.env with the example's CHANGE-ME placeholders: jan-server refuses to start (jan-check-env);
#   3. real credentials (as cloud-init's user-data writes them): jan-server runs as `jan` with only
#      CAP_NET_BIND_SERVICE and no new privileges, serves https://<IP>:443 with the self-signed certificate
#      from this machine, across the veth link: /health, /v1 wants the key, the login sets a Secure cookie;
#   4. the firewall: from this machine, 443 answers, 22 is refused (reachable, nothing listens), and 8080, where
#      a second jan-server listens inside, is dropped (times out);
#   5. reboot with the credentials in place: everything comes up by itself, same certificate.
#
# Needs root, debootstrap and systemd-nspawn (installed with apt when missing), Debian's mirror the first time
# (the root file system is cached: JAN_BOOT_TEST_CACHE, default ~/.cache/jan-boot-test), and a release
# jan-server (JAN_SERVER_BIN, default target/release/jan-server). About 1 minute with the cache, 3-4 without.
# What it cannot show: Ubuntu 22.04 itself (systemd 249 there, 252 here), the clouds' metadata and
# user-data, the NVIDIA driver and a GPU.

# The scripts run inside the container (and the small `bash -c '...' _ args` ones) are single-quoted on purpose.
# shellcheck disable=SC2016
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
CACHE="${JAN_BOOT_TEST_CACHE:-$HOME/.cache/jan-boot-test}"
BIN="${JAN_SERVER_BIN:-target/release/jan-server}"
BASE="$CACHE/rootfs-bookworm"
MACHINE=jan-boot-test
HOST_IP=10.231.77.1
CT_IP=10.231.77.2

passed=0 failed=0
log() { printf '[boot-test] %s\n' "$*" >&2; }
pass() { passed=$((passed + 1)); log "ok: $*"; }
fail() { failed=$((failed + 1)); log "FAIL: $*"; }
die() { log "error: $*"; exit 2; }

[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap, systemd-nspawn)"
[[ -x "$BIN" ]] || die "$BIN is not built (cargo build --release -p jan-server, or set JAN_SERVER_BIN)"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v nsenter >/dev/null || need+=(util-linux)
if [[ ${#need[@]} -gt 0 ]]; then
  log "installing ${need[*]} (apt)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# The base root file system, made once: Debian 12 with systemd, the image's packages and cloud-init (added
# after debootstrap: its python3-cryptography does not configure inside debootstrap's minbase).
if [[ ! -f "$BASE/.complete" ]]; then
  log "debootstrap Debian 12 into $BASE (once; about 2 minutes)"
  rm -rf "$BASE"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,openssl,nftables,curl,ca-certificates,iproute2,hostname,procps,libcap2-bin \
    bookworm "$BASE" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed (see $CACHE/debootstrap.log)"
  cp /etc/resolv.conf "$BASE/etc/resolv.conf"
  chroot "$BASE" bash -c 'mount -t proc proc /proc && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cloud-init >/dev/null; rc=$?; umount /proc; exit $rc' ||
    die "installing cloud-init in the root file system failed"
  chroot "$BASE" apt-get clean
  touch "$BASE/.complete"
fi

work="$(mktemp -d "$CACHE/run.XXXXXX")"
ct="$work/rootfs"
nspawn_pid=""
stop_container() {
  if [[ -n "$nspawn_pid" ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -RTMIN+4 "$(leader)" 2>/dev/null || true # systemd: poweroff
    for _ in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  nspawn_pid=""
}
cleanup() {
  stop_container
  rm -rf "$work"
}
trap cleanup EXIT

log "copying the root file system"
cp -a "$BASE" "$ct"
# No cloud datasource here: cloud-init stays out of the way (the image's cloud-init is tested by the clouds).
touch "$ct/etc/cloud/cloud-init.disabled"
echo jan-vm >"$ct/etc/hostname"
# Packer's uploads, and the scripts (Packer uploads each to /tmp; here they sit in /var/tmp, which survives).
mkdir -p "$ct/var/tmp/jan-build" "$ct/var/tmp/jan-scripts" "$ct/var/tmp/shim"
cp packer/files/* "$ct/var/tmp/jan-build/"
cp "$BIN" "$ct/var/tmp/jan-build/jan-server"
cp packer/scripts/*.sh "$ct/var/tmp/jan-scripts/"
# apt-get is a no-op: no network in the container, and the packages are there.
printf '#!/bin/sh\necho "apt-get $* (skipped by boot-test)"\n' >"$ct/var/tmp/shim/apt-get"
chmod +x "$ct/var/tmp/shim/apt-get"

leader() { pgrep -P "$nspawn_pid" | head -1; }
in_ct() {
  nsenter -t "$(leader)" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 "$@"
}
boot() {
  log "booting the container ($1)"
  systemd-nspawn -q -D "$ct" -b -M "$MACHINE" --register=no --keep-unit --network-veth \
    >"$work/console-$1.log" 2>&1 &
  nspawn_pid=$!
  for _ in $(seq 100); do
    [[ -n "$(leader)" ]] && in_ct true 2>/dev/null && break
    sleep 0.1
  done
  # Until systemd is done booting (tmp.mount, for one, would hide what is written to /tmp before it).
  local state=""
  for _ in $(seq 300); do
    state="$(in_ct systemctl is-system-running 2>/dev/null || true)"
    [[ "$state" == running || "$state" == degraded ]] && break
    sleep 0.2
  done
  [[ "$state" == running ]] || log "systemd in the container: ${state:-no answer} ($(in_ct systemctl --failed --no-legend --plain 2>/dev/null | cut -d' ' -f1 | tr '\n' ' '))"
  # The veth link: ve-<machine> here (the name is cut to 15 characters), host0 inside.
  local host_if
  host_if="$(ip -o link | grep -oE 've-[^:@]+' | head -1)"
  [[ -n "$host_if" ]] || die "no ve-* interface on this side"
  ip addr replace "$HOST_IP/30" dev "$host_if"
  ip link set "$host_if" up
  in_ct ip addr replace "$CT_IP/30" dev host0
  in_ct ip link set host0 up
}
# check NAME COMMAND...: run on this machine.
check() {
  local name="$1"
  shift
  if "$@" >"$work/out" 2>&1; then pass "$name"; else sed 's/^/    /' "$work/out" >&2; fail "$name"; fi
}
# ct_check NAME SCRIPT: a bash script run inside the container.
ct_check() {
  local name="$1"
  check "$name" in_ct bash -c "$2"
}

# --- The image build ------------------------------------------------------------------------------------------
boot build
check "provisioning: base, nvidia (skip), jan (CPU_ONLY), firewall, verify, cleanup, as on the build VM" in_ct bash -c '
  set -e
  mkdir -p /tmp/jan-build && cp -a /var/tmp/jan-build/. /tmp/jan-build/
  export PATH=/var/tmp/shim:$PATH JAN_CLOUD=aws CPU_ONLY=true NVIDIA_DRIVER=skip
  for s in base nvidia jan firewall verify cleanup; do
    echo "== $s.sh"
    bash /var/tmp/jan-scripts/$s.sh
  done'
grep '\[jan-image\]' "$work/out" | sed 's/^/    /' >&2
check "the built image holds no credentials, certificate or data; machine-id emptied" in_ct bash -c '
  [[ ! -e /etc/jan/jan.env && -z "$(ls -A /etc/jan/tls)" && -z "$(ls -A /var/lib/jan)" && ! -s /etc/machine-id ]]'
stop_container

# --- First boot of a VM made from it, without user-data ------------------------------------------------------------
boot first
ct_check "first boot without credentials: jan-firewall and jan-tls active, jan-server skipped (condition)" '
  systemctl is-active jan-firewall.service jan-tls.service jan-gpu.service &&
  [[ "$(systemctl show -P ConditionResult jan-server.service)" == no ]] &&
  ! systemctl is-active jan-server.service'
ct_check "jan-tls made a self-signed certificate: key root:jan 0640, fingerprint logged" '
  [[ "$(stat -c "%U:%G %a" /etc/jan/tls/key.pem)" == "root:jan 640" ]] &&
  journalctl -u jan-tls.service -b | grep -q "certificate SHA-256 fingerprint: $(cat /etc/jan/tls/fingerprint)"'
fingerprint="$(in_ct cat /etc/jan/tls/fingerprint 2>/dev/null || true)"

# --- The example's placeholders ----------------------------------------------------------------------------------
ct_check "jan.env with CHANGE-ME placeholders: jan-server refuses to start" '
  install -m 0600 /dev/stdin /etc/jan/jan.env <<<"JAN_USERNAME=CHANGE-ME
JAN_PASSWORD='"'"'CHANGE-ME to a long passphrase'"'"'
JAN_API_KEY=sk-CHANGE-ME"
  ! systemctl restart jan-server.service &&
  journalctl -u jan-server.service -b | grep -q "still contains the placeholder CHANGE-ME"'

# --- Real credentials, as cloud-init's user-data writes them ---------------------------------------------------------
ct_check "real credentials: jan-server starts" '
  systemctl reset-failed jan-server.service
  install -m 0600 -o root -g root /dev/stdin /etc/jan/jan.env <<<"JAN_USERNAME=me
JAN_PASSWORD='"'"'a long # passphrase with spaces'"'"'
JAN_API_KEY=sk-boot-test"
  systemctl restart jan-server.service
  for _ in $(seq 100); do curl -sfk https://127.0.0.1/health >/dev/null && exit 0; sleep 0.2; done
  journalctl -u jan-server.service -b --no-pager | tail -20; exit 1'
ct_check "jan-server runs as jan, with CAP_NET_BIND_SERVICE only and no new privileges" '
  pid="$(systemctl show -P MainPID jan-server.service)"
  s="$(cat /proc/$pid/status)"; echo "$s" | grep -E "^(Uid|CapEff|CapBnd|NoNewPrivs)"
  [[ "$(stat -c %U /proc/$pid)" == jan ]] &&
  grep -qE "^CapEff:\s+0000000000000400$" <<<"$s" && grep -qE "^CapBnd:\s+0000000000000400$" <<<"$s" &&
  grep -qE "^NoNewPrivs:\s+1$" <<<"$s"'
ct_check "/etc/jan/jan.env is root-only; jan-server cannot read it, nor write outside /var/lib/jan" '
  [[ "$(stat -c "%U:%G %a" /etc/jan/jan.env)" == "root:root 600" ]] &&
  ! runuser -u jan -- cat /etc/jan/jan.env 2>/dev/null &&
  pid="$(systemctl show -P MainPID jan-server.service)" &&
  awk "\$5 == \"/\" || \$5 == \"/var/lib/jan\" || \$5 == \"/etc\" {print \$5, \$6}" /proc/$pid/mountinfo | tee /dev/stderr |
    awk "{m[\$1] = substr(\$2, 1, 2)} END {exit !(m[\"/\"] == \"ro\" && m[\"/var/lib/jan\"] == \"rw\")}"'
check "from this machine: https://$CT_IP/health answers with the certificate whose fingerprint jan-tls logged" bash -c '
  curl -sfk --max-time 5 "https://$1/health" &&
  served="$(openssl s_client -connect "$1:443" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | sed "s/^.*=//")" &&
  echo "served $served" && [[ "$served" == "$2" ]]' _ "$CT_IP" "$fingerprint"
check "from this machine: /v1/models is 401 without the key, 200 with it" bash -c '
  a="$(curl -sk --max-time 5 -o /dev/null -w "%{http_code}" "https://$1/v1/models")"
  b="$(curl -sk --max-time 5 -o /dev/null -w "%{http_code}" -H "Authorization: Bearer sk-boot-test" "https://$1/v1/models")"
  echo "$a $b"; [[ "$a" == 401 && "$b" == 200 ]]' _ "$CT_IP"
check "from this machine: the login (password with spaces and #) sets a Secure session cookie" bash -c '
  h="$(curl -sk --max-time 5 -D - -o /dev/null -H "Content-Type: application/json" -H "Origin: https://$1" \
    -d "{\"username\":\"me\",\"password\":\"a long # passphrase with spaces\"}" "https://$1/api/login")"
  echo "$h"; grep -qE "^HTTP/[0-9.]+ 200" <<<"$h" && grep -i "^set-cookie:" <<<"$h" | grep -qi "; Secure"' _ "$CT_IP"

# --- The firewall ------------------------------------------------------------------------------------------------
in_ct bash -c 'mkdir -p /var/tmp/probe && chown jan:jan /var/tmp/probe &&
  runuser -u jan -- env JAN_API_HOST=0.0.0.0 JAN_API_PORT=8080 JAN_DATA_FOLDER=/var/tmp/probe JAN_API_KEY=sk-probe \
  /usr/local/bin/jan-server >/var/tmp/probe.log 2>&1 &
  echo $! >/var/tmp/probe.pid
  for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/health >/dev/null && exit 0; sleep 0.1; done; exit 1' ||
  fail "could not start the probe listener on 8080 inside"
check "firewall: 8080 (a server listens inside) is dropped from outside, 22 is reachable (refused: no sshd)" bash -c '
  rc=0; curl -s --max-time 3 "http://$1:8080/health" >/dev/null || rc=$?
  echo "port 8080: curl exit $rc (28 = timed out: dropped)"; [[ $rc -eq 28 ]] || exit 1
  rc=0; curl -s --max-time 3 "telnet://$1:22" </dev/null >/dev/null || rc=$?
  echo "port 22: curl exit $rc (7 = refused: let through, nothing listens)"; [[ $rc -eq 7 ]]' _ "$CT_IP"
in_ct bash -c 'kill "$(cat /var/tmp/probe.pid)"' || true

# --- Reboot with the credentials in place ------------------------------------------------------------------------------
stop_container
boot second
ct_check "reboot: jan-server comes up by itself" '
  for _ in $(seq 150); do curl -sfk https://127.0.0.1/health >/dev/null && systemctl is-active jan-server.service && exit 0; sleep 0.2; done
  systemctl status jan-server.service --no-pager; exit 1'
check "reboot: the same certificate (same names)" test "$(in_ct cat /etc/jan/tls/fingerprint)" == "$fingerprint"
stop_container

echo "boot-test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
