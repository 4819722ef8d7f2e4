#!/usr/bin/env bash
# Checks of the deployment files (issue 7) that need no cloud: the VM images' Packer templates, scripts, units,
# firewall and user-data under packer/, every shell script under packer/ and ci/, and the container's own checks
# (packer/container/check.sh, when it exists). Builds nothing and starts no VM.
#
#   1. packer fmt -check and packer validate on packer/{aws,azure,gcp}.pkr.hcl (Packer 1.6.6 from apt; each
#      template on its own, with a stand-in binary and the required variables on the command line), plus a
#      CPU-only and an N1 + T4 variant;
#   2. shellcheck -x on every shell script under packer/ and ci/ (*.sh and files with a shell #!);
#   3. cloud-init schema on packer/cloud-init/*.yaml, and only placeholders for credentials in them;
#   4. systemd-analyze verify on packer/files/*.service, failing on any message (unknown keys and sections only
#      warn in systemd): the units are verified as copies whose /usr/local paths point at stand-ins here, since
#      the binary and the helpers are only installed in the image; then the hardening jan-server.service must
#      keep (its settings, and systemd-analyze security --offline below 2.5);
#   5. the firewall rules: nft -c (a dry run in the kernel, where this machine allows it), inbound TCP 22 and
#      443 only, policy drop;
#   6. the first-boot helpers: jan-check-env (credentials or not, placeholders), jan-tls-init (self-signed
#      certificate, modes, kept when unchanged, renewed when the names change, an installed one kept);
#   7. when a release jan-server is built (target/release/jan-server, or JAN_SERVER_BIN): it serves HTTPS with
#      jan-tls-init's certificate, /health answers, /v1 wants the API key, and it refuses 0.0.0.0 without
#      credentials (what a VM without user-data would do);
#   8. with JAN_DEPLOY_BOOT_TEST=1: packer/test/boot-test.sh, the provisioning scripts and the first boots of
#      a VM made by them, for real, in a systemd-nspawn container (root; about a minute once its Debian root
#      file system is cached, 3-4 minutes the first time);
#   9. packer/container/check.sh, when it exists.
#
# Installs what is missing with apt (packer, shellcheck, cloud-init, nftables, openssl, curl), as root or
# through sudo. Prints every check; ends with "N passed, N failed, N skipped" and exits 1 if any failed.

# The small `bash -c '...' _ args` checks below get their values as positional parameters, on purpose.
# shellcheck disable=SC2016
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

passed=0 failed=0 skipped=0
failures=()
log() { printf '[check-deploy] %s\n' "$*" >&2; }
pass() { passed=$((passed + 1)); log "ok: $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); log "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); log "SKIP: $*"; }

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# check NAME COMMAND...: run it, its output kept and shown only when it fails.
check() {
  local name="$1"
  shift
  if "$@" >"$tmp/out" 2>&1; then
    pass "$name"
  else
    sed 's/^/    /' "$tmp/out" >&2
    fail "$name"
  fi
}

# --- 0. Tools --------------------------------------------------------------------------------------------
missing=()
command -v packer >/dev/null || missing+=(packer)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v cloud-init >/dev/null || missing+=(cloud-init)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v nft >/dev/null || missing+=(nftables)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]} (apt)"
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
log "tools: $(packer version | head -1), shellcheck $(shellcheck --version | sed -n 's/^version: //p'), cloud-init $(cloud-init --version 2>&1 | awk '{print $2}'), $(systemd-analyze --version | head -1 | cut -d' ' -f1-2), $(nft --version)"

# --- 1. Packer ---------------------------------------------------------------------------------------------
templates=(packer/aws.pkr.hcl packer/azure.pkr.hcl packer/gcp.pkr.hcl)
# validate stats the binary the file provisioner uploads: a stand-in, so that no build is needed here.
stand_in="$tmp/jan-server"
printf '#!/bin/sh\n' >"$stand_in"
validate_vars=(-var "binary=$stand_in")
for t in "${templates[@]}"; do
  check "packer fmt -check $t" packer fmt -check -diff "$t"
  extra=()
  [[ "$t" == *gcp* ]] && extra=(-var project_id=check-deploy)
  check "packer validate $t" packer validate "${validate_vars[@]}" "${extra[@]}" "$t"
done
check "packer validate packer/aws.pkr.hcl (CPU-only: c7i.2xlarge, cpu_only, nvidia_driver=skip)" \
  packer validate "${validate_vars[@]}" -var instance_type=c7i.2xlarge -var gpu=cpu -var cpu_only=true \
  -var nvidia_driver=skip packer/aws.pkr.hcl
check "packer validate packer/gcp.pkr.hcl (n1-standard-8 with an nvidia-tesla-t4)" \
  packer validate "${validate_vars[@]}" -var project_id=check-deploy -var machine_type=n1-standard-8 \
  -var accelerator_type=nvidia-tesla-t4 -var accelerator_count=1 -var gpu=T4 packer/gcp.pkr.hcl
check "packer validate packer/azure.pkr.hcl (Standard_NV36ads_A10_v5, subscription given)" \
  packer validate "${validate_vars[@]}" -var vm_size=Standard_NV36ads_A10_v5 -var gpu=A10 \
  -var subscription_id=00000000-0000-0000-0000-000000000000 packer/azure.pkr.hcl

# --- 2. shellcheck -------------------------------------------------------------------------------------------
scripts=()
while IFS= read -r -d '' f; do
  if [[ "$f" == *.sh ]] || head -n1 "$f" 2>/dev/null | grep -qE '^#!.*/(env +)?(ba|da|k)?sh( |$)'; then
    scripts+=("$f")
  fi
done < <(find packer ci -name node_modules -prune -o -type f -print0 | sort -z)
bad=()
for f in "${scripts[@]}"; do
  if ! shellcheck -x "$f" >"$tmp/sc" 2>&1; then
    bad+=("$f")
    sed 's/^/    /' "$tmp/sc" >&2
  fi
done
if [[ ${#bad[@]} -eq 0 ]]; then
  pass "shellcheck -x: ${#scripts[@]} scripts under packer/ and ci/"
else
  fail "shellcheck -x: ${bad[*]} (of ${#scripts[@]} scripts)"
fi

# --- 3. cloud-init ------------------------------------------------------------------------------------------
# PyYAML: cloud-init brings it for the system's python3.
py=python3
"$py" -c 'import yaml' 2>/dev/null || py=/usr/bin/python3
for f in packer/cloud-init/*.yaml; do
  check "cloud-init schema --config-file $f" cloud-init schema --config-file "$f"
  # Credentials in an example are placeholders, always.
  check "$f: credentials are CHANGE-ME placeholders" \
    bash -c '! grep -E "^\s*JAN_(USERNAME|PASSWORD|API_KEY)=" "$1" | grep -v CHANGE-ME' _ "$f"
  check "$f: writes /etc/jan/jan.env as root, 0600, and restarts jan-server" \
    "$py" - "$f" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
env = [w for w in doc.get("write_files", []) if w.get("path") == "/etc/jan/jan.env"]
assert len(env) == 1, "no write_files entry for /etc/jan/jan.env"
assert env[0].get("owner") == "root:root" and str(env[0].get("permissions")) == "0600", env[0]
assert any("jan-server" in " ".join(map(str, c if isinstance(c, list) else [c])) and "restart" in str(c)
           for c in doc.get("runcmd", [])), "no `systemctl restart jan-server` in runcmd"
PY
done

# --- 4. systemd units ---------------------------------------------------------------------------------------
units=(packer/files/*.service)
mkdir -p "$tmp/units" "$tmp/bin" "$tmp/lib"
printf '#!/bin/sh\n' >"$tmp/bin/jan-server"
for f in packer/files/*.sh; do
  name="$(basename "$f" .sh)"
  cp "$f" "$tmp/lib/$name"
done
chmod +x "$tmp/bin/jan-server" "$tmp/lib/"*
for u in "${units[@]}"; do
  sed -e "s|/usr/local/bin/jan-server|$tmp/bin/jan-server|g" -e "s|/usr/local/lib/jan/|$tmp/lib/|g" "$u" \
    >"$tmp/units/$(basename "$u")"
done
# Every command the units run is either a stand-in for what jan.sh installs or exists on any Debian/Ubuntu.
check "units: every Exec path is installed by packer/scripts/jan.sh (or is nft)" bash -c '
  for u in "$@"; do
    grep -oE "^Exec[A-Za-z]*=[-+!@:]*[^ ]+" "$u" | sed -E "s/^[^=]*=[-+!@:]*//"
  done | sort -u | while read -r p; do
    case "$p" in
      /usr/local/bin/jan-server) grep -q "/usr/local/bin/jan-server" packer/scripts/jan.sh ;;
      /usr/local/lib/jan/*) grep -q "/usr/local/lib/jan/$(basename "$p")\$" packer/scripts/jan.sh ;;
      /usr/sbin/nft) true ;;
      *) echo "unexpected command $p"; false ;;
    esac || { echo "not installed by jan.sh: $p"; exit 1; }
  done' _ "${units[@]}"
verify_out="$(cd "$tmp/units" && systemd-analyze verify ./*.service 2>&1)" && verify_rc=0 || verify_rc=$?
if [[ $verify_rc -eq 0 && -z "$verify_out" ]]; then
  pass "systemd-analyze verify: ${units[*]} (no messages)"
else
  printf '%s\n' "$verify_out" | sed 's/^/    /' >&2
  fail "systemd-analyze verify (exit $verify_rc; unknown keys, sections or lvalues and missing commands count)"
fi
check "jan-server.service keeps its hardening" bash -c '
  u=packer/files/jan-server.service
  for line in User=jan Group=jan ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
    ReadWritePaths=/var/lib/jan CapabilityBoundingSet=CAP_NET_BIND_SERVICE AmbientCapabilities=CAP_NET_BIND_SERVICE \
    Restart=on-failure EnvironmentFile=/etc/jan/jan.env ConditionFileNotEmpty=/etc/jan/jan.env \
    "DeviceAllow=char-nvidia\* rw" DevicePolicy=closed PrivateDevices=no Environment=JAN_API_HOST=0.0.0.0 \
    Environment=JAN_API_PORT=443 Environment=JAN_TLS_CERT=/etc/jan/tls/cert.pem \
    Environment=JAN_TLS_KEY=/etc/jan/tls/key.pem Environment=JAN_DATA_FOLDER=/var/lib/jan; do
    grep -qx "$line" "$u" || { echo "missing: $line"; exit 1; }
  done
  # Nothing secret in the unit itself.
  ! grep -E "^Environment=.*(JAN_USERNAME|JAN_PASSWORD|JAN_API_KEY)" "$u"'
security_out="$(cd "$tmp/units" && systemd-analyze security --offline=true --threshold=25 ./jan-server.service 2>&1)" &&
  security_rc=0 || security_rc=$?
exposure="$(grep -o 'Overall exposure level for jan-server.service: .*' <<<"$security_out" || true)"
if [[ $security_rc -eq 0 && -n "$exposure" ]]; then
  pass "systemd-analyze security --offline: ${exposure#Overall exposure level for } (must stay below 2.5)"
else
  printf '%s\n' "$security_out" | grep -E '✗|Overall' | sed 's/^/    /' >&2
  fail "systemd-analyze security --offline --threshold=25: jan-server.service ${exposure:-(no result)}"
fi

# --- 5. Firewall -------------------------------------------------------------------------------------------
nft_file=packer/files/firewall.nft
if nft_out="$(nft -c -f "$nft_file" 2>&1)"; then
  pass "nft -c -f $nft_file (kernel dry run)"
elif grep -qiE 'Operation not permitted|Permission denied|Could not process rule: Operation' <<<"$nft_out"; then
  skip "nft -c -f $nft_file: this machine does not allow a netlink dry run ($nft_out)"
else
  printf '%s\n' "$nft_out" | sed 's/^/    /' >&2
  fail "nft -c -f $nft_file"
fi
check "$nft_file: input policy drop, inbound tcp 22 and 443 only, its own table" bash -c '
  f="$1"
  grep -qE "type filter hook input priority filter; policy drop;" "$f" || { echo "input policy is not drop"; exit 1; }
  tcp="$(grep -E "^\s*[^#]*tcp dport" "$f")"
  [[ "$(wc -l <<<"$tcp")" -eq 1 && "$tcp" =~ tcp\ dport\ \{\ 22,\ 443\ \}\ accept ]] || { echo "tcp: $tcp"; exit 1; }
  udp="$(grep -E "^\s*[^#]*udp dport" "$f" | grep -vE "udp sport 67 udp dport 68 accept|udp sport 547 udp dport 546 accept" || true)"
  [[ -z "$udp" ]] || { echo "unexpected udp: $udp"; exit 1; }
  ! grep -qE "^\s*flush ruleset" "$f" || { echo "flush ruleset would drop other tables (Docker)"; exit 1; }
  grep -q "^table inet jan_firewall {" "$f"' _ "$nft_file"

# --- 6. First-boot helpers -----------------------------------------------------------------------------------
# expect_env RC VAR=VALUE...: jan-check-env exits RC with exactly this environment.
expect_env() {
  local want="$1" rc=0
  shift
  env -i PATH="$PATH" "$@" bash packer/files/jan-check-env.sh >/dev/null 2>&1 || rc=$?
  [[ $rc -eq $want ]] || { echo "jan-check-env with $* exited $rc, not $want"; return 1; }
}
check "jan-check-env: refuses no credentials, half a login, placeholders; accepts a login or a key" bash -c "
  $(declare -f expect_env)
  expect_env 1 &&
  expect_env 1 JAN_USERNAME=me &&
  expect_env 1 JAN_PASSWORD=secret &&
  expect_env 1 JAN_API_KEY=' , ' &&
  expect_env 1 JAN_USERNAME=CHANGE-ME JAN_PASSWORD=long-passphrase &&
  expect_env 1 JAN_USERNAME=me 'JAN_PASSWORD=CHANGE-ME to a long passphrase' &&
  expect_env 1 JAN_USERNAME=me JAN_PASSWORD=long-passphrase JAN_API_KEY=sk-CHANGE-ME &&
  expect_env 0 JAN_USERNAME=me JAN_PASSWORD=long-passphrase &&
  expect_env 0 JAN_API_KEY=sk-only-a-key &&
  expect_env 0 JAN_USERNAME=me JAN_PASSWORD=long-passphrase JAN_API_KEY=sk-a,sk-b"

tls_dir="$tmp/tls"
group="$(id -gn)"
tls_init() { env JAN_TLS_DIR="$tls_dir" JAN_TLS_GROUP="$group" "$@" bash packer/files/jan-tls-init.sh; }
check "jan-tls-init: makes a self-signed ECDSA certificate with the names, key 0640, cert 0644" bash -c "
  $(declare -f tls_init)
  tls_dir='$tls_dir' group='$group'
  tls_init JAN_TLS_NAMES='jan.example.com 203.0.113.7' >/dev/null &&
  openssl x509 -in '$tls_dir/cert.pem' -noout -ext subjectAltName | tee /dev/stderr |
    grep -q 'DNS:jan.example.com, IP Address:203.0.113.7' &&
  openssl pkey -in '$tls_dir/key.pem' -noout -text | grep -q 'prime256v1' &&
  [[ \$(stat -c %a '$tls_dir/key.pem') == 640 && \$(stat -c %a '$tls_dir/cert.pem') == 644 ]] &&
  [[ \$(stat -c %a '$tls_dir') == 750 ]] &&
  [[ -s '$tls_dir/fingerprint' ]]"
fp1="$(cat "$tls_dir/fingerprint" 2>/dev/null || true)"
check "jan-tls-init: keeps the certificate when the names are the same" bash -c "
  $(declare -f tls_init)
  tls_dir='$tls_dir' group='$group'
  tls_init JAN_TLS_NAMES='jan.example.com 203.0.113.7' | grep -q 'keeping' &&
  [[ \"\$(cat '$tls_dir/fingerprint')\" == '$fp1' ]]"
check "jan-tls-init: keeps it when a name is missing this time (metadata service slow)" bash -c "
  $(declare -f tls_init)
  tls_dir='$tls_dir' group='$group'
  tls_init JAN_TLS_NAMES='jan.example.com' | grep -q 'keeping' &&
  [[ \"\$(cat '$tls_dir/fingerprint')\" == '$fp1' ]]"
check "jan-tls-init: makes a new one when there is a new name (a new public IP)" bash -c "
  $(declare -f tls_init)
  tls_dir='$tls_dir' group='$group'
  tls_init JAN_TLS_NAMES='jan.example.com 203.0.113.8' | grep -q 'making' &&
  [[ \"\$(cat '$tls_dir/fingerprint')\" != '$fp1' ]]"
check "jan-tls-init: keeps an installed certificate (no .self-signed marker) whatever the names" bash -c "
  $(declare -f tls_init)
  tls_dir='$tls_dir' group='$group'
  rm -f '$tls_dir/.self-signed'
  before=\"\$(cat '$tls_dir/fingerprint')\"
  tls_init JAN_TLS_NAMES='other.example.com' | grep -q 'using the installed certificate' &&
  [[ \"\$(cat '$tls_dir/fingerprint')\" == \"\$before\" ]]"

# --- 7. jan-server with that certificate -----------------------------------------------------------------------
bin="${JAN_SERVER_BIN:-target/release/jan-server}"
if [[ ! -x "$bin" ]]; then
  skip "jan-server over HTTPS: $bin is not built (cargo build --release -p jan-server; or set JAN_SERVER_BIN)"
else
  rm -rf "$tls_dir"
  tls_init JAN_TLS_NAMES="" >/dev/null
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$tmp/data"
  env -i PATH="$PATH" HOME="$tmp" JAN_API_HOST=127.0.0.1 JAN_API_PORT="$port" JAN_DATA_FOLDER="$tmp/data" \
    JAN_TLS_CERT="$tls_dir/cert.pem" JAN_TLS_KEY="$tls_dir/key.pem" JAN_USERNAME=check \
    JAN_PASSWORD=check-deploy-passphrase JAN_API_KEY=sk-check-deploy "$bin" >"$tmp/server.log" 2>&1 &
  server_pid=$!
  up=0
  for _ in $(seq 100); do
    if curl -sfk "https://127.0.0.1:$port/health" >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [[ $up -eq 1 ]]; then
    pass "jan-server serves HTTPS with jan-tls-init's ECDSA certificate: /health answers ($bin)"
    served="$(openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//')"
    check "the certificate served is the one in the fingerprint file ($served)" \
      test "$served" == "$(cat "$tls_dir/fingerprint")"
    check "/v1/models: 401 without the API key, 200 with it" bash -c '
      a="$(curl -sk -o /dev/null -w "%{http_code}" "https://127.0.0.1:$1/v1/models")"
      b="$(curl -sk -o /dev/null -w "%{http_code}" -H "Authorization: Bearer sk-check-deploy" "https://127.0.0.1:$1/v1/models")"
      echo "without: $a, with: $b"; [[ "$a" == 401 && "$b" == 200 ]]' _ "$port"
    check "session cookies are Secure over HTTPS (login as JAN_USERNAME)" bash -c '
      h="$(curl -sk -D - -o /dev/null -H "Content-Type: application/json" -H "Origin: https://127.0.0.1:$1" \
        -d "{\"username\":\"check\",\"password\":\"check-deploy-passphrase\"}" "https://127.0.0.1:$1/api/login")"
      echo "$h"; grep -i "^set-cookie:" <<<"$h" | grep -qi "; Secure"' _ "$port"
  else
    sed 's/^/    /' "$tmp/server.log" >&2
    fail "jan-server did not answer https://127.0.0.1:$port/health with jan-tls-init's certificate"
  fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  check "jan-server refuses 0.0.0.0 without credentials (a VM launched without user-data)" bash -c '
    out="$(env -i PATH="$PATH" HOME="$2" JAN_API_HOST=0.0.0.0 JAN_API_PORT=0 JAN_DATA_FOLDER="$2/data2" timeout 20 "$1" 2>&1)" && exit 1
    grep -q "refusing to listen" <<<"$out"' _ "$bin" "$tmp"
fi

# --- 8. The provisioning and first boots in a systemd-nspawn container (opt-in: a minute or more) ------------
if [[ "${JAN_DEPLOY_BOOT_TEST:-0}" == 1 && ! -x "$bin" ]]; then
  skip "packer/test/boot-test.sh: $bin is not built"
elif [[ "${JAN_DEPLOY_BOOT_TEST:-0}" == 1 ]]; then
  log "running packer/test/boot-test.sh"
  if JAN_SERVER_BIN="$bin" bash packer/test/boot-test.sh >&2; then
    pass "packer/test/boot-test.sh (provisioning, first boot, credentials, TLS, firewall, reboot)"
  else
    fail "packer/test/boot-test.sh"
  fi
else
  skip "packer/test/boot-test.sh: set JAN_DEPLOY_BOOT_TEST=1 to run the provisioning and first boots in a container"
fi

# --- 9. The container's checks ------------------------------------------------------------------------------
if [[ -f packer/container/check.sh ]]; then
  log "running packer/container/check.sh"
  if bash packer/container/check.sh >&2; then
    pass "packer/container/check.sh"
  else
    fail "packer/container/check.sh"
  fi
else
  skip "packer/container/check.sh does not exist"
fi

echo "check-deploy: $passed passed, $failed failed, $skipped skipped"
if [[ $failed -gt 0 ]]; then
  printf 'failed: %s\n' "${failures[@]}"
  exit 1
fi
