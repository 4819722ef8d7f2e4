#!/usr/bin/env bash
# Provisioning step 5 (as root): check the image before it is saved. Fails the build when something the VM
# needs at first boot is missing or wrong. Leaves nothing behind (the smoke test's data and certificate are
# temporary).
set -euo pipefail
log() { printf '[jan-image] %s\n' "$*"; }
fail() { log "verify: FAILED: $*"; exit 1; }

# Units: systemd's own check, including unknown settings (which only warn).
out="$(systemd-analyze verify --man=no /etc/systemd/system/jan-server.service /etc/systemd/system/jan-tls.service \
  /etc/systemd/system/jan-gpu.service /etc/systemd/system/jan-firewall.service 2>&1 || true)"
if grep -Ei 'unknown (key|lvalue|section)|failed|not executable|No such file' <<<"$out" | grep -Ei 'jan' >/dev/null; then
  printf '%s\n' "$out"
  fail "systemd-analyze verify"
fi
for unit in jan-server jan-tls jan-gpu jan-firewall; do
  [[ "$(systemctl is-enabled "$unit.service")" == enabled ]] || fail "$unit.service is not enabled"
done
log "verify: units ok and enabled"

# Ownership and modes that keep the key and the credentials to root and the jan group.
[[ "$(stat -c '%U:%G %a' /etc/jan)" == "root:jan 750" ]] || fail "/etc/jan is $(stat -c '%U:%G %a' /etc/jan)"
[[ "$(stat -c '%U:%G %a' /var/lib/jan)" == "jan:jan 750" ]] || fail "/var/lib/jan is $(stat -c '%U:%G %a' /var/lib/jan)"
[[ "$(getent passwd jan | cut -d: -f7)" == /usr/sbin/nologin ]] || fail "the jan user has a login shell"
# No credentials and no certificate in the image: both are made on the VM.
[[ ! -e /etc/jan/jan.env ]] || fail "/etc/jan/jan.env exists in the image"
if compgen -G '/etc/jan/tls/*' >/dev/null; then fail "/etc/jan/tls is not empty"; fi
[[ -z "$(ls -A /var/lib/jan)" ]] || fail "/var/lib/jan is not empty"
log "verify: no credentials, certificate or data in the image"

# The firewall is loaded and opens exactly 22 and 443.
rules="$(nft list table inet jan_firewall)"
grep -q 'policy drop' <<<"$rules" || fail "the firewall's input policy is not drop"
grep -Eq 'tcp dport \{ 22, 443 \} accept' <<<"$rules" || fail "the firewall does not open exactly 22 and 443"
log "verify: firewall loaded (policy drop; tcp 22, 443)"

# The binary runs on this OS (glibc, libraries) and serves: a smoke test on loopback with throwaway
# credentials, data and certificate, the way the unit runs it (the jan user, HTTPS).
/usr/local/bin/jan-server --version || fail "jan-server does not run here"
missing="$(LD_LIBRARY_PATH=/opt/jan/cuda/lib ldd /usr/local/bin/jan-server | grep 'not found' || true)"
[[ -z "$missing" ]] || fail "libraries not found: $missing"
tmp="$(mktemp -d)"
chmod 0755 "$tmp"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
install -d -o jan -g jan "$tmp/data"
chown root:jan "$tmp/key.pem"
chmod 0640 "$tmp/key.pem"
runuser -u jan -- env LD_LIBRARY_PATH=/opt/jan/cuda/lib JAN_API_HOST=127.0.0.1 JAN_API_PORT=18443 \
  JAN_DATA_FOLDER="$tmp/data" JAN_TLS_CERT="$tmp/cert.pem" JAN_TLS_KEY="$tmp/key.pem" \
  JAN_USERNAME=smoke JAN_PASSWORD=smoke-test-password /usr/local/bin/jan-server >"$tmp/log" 2>&1 &
pid=$!
ok=false
for _ in $(seq 1 60); do
  if curl -sfk https://127.0.0.1:18443/health >/dev/null; then ok=true; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if [[ "$ok" != true ]]; then
  cat "$tmp/log"
  fail "jan-server did not answer https://127.0.0.1:18443/health"
fi
code="$(curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:18443/v1/models)"
[[ "$code" == 401 ]] || fail "GET /v1/models without credentials answered $code, not 401"
log "verify: jan-server smoke test ok (HTTPS /health; /v1 refuses without credentials)"
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  log "verify: GPU on the build VM: $(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | head -1)"
  grep -i 'cuda\|gpu\|device' "$tmp/log" | head -5 | sed 's/^/[jan-image]   /' || true
else
  log "verify: no GPU visible on the build VM (the driver loads at first boot)"
fi
