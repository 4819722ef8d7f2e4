#!/usr/bin/env bash
# jan-tls-init (jan-tls.service, as root): make sure /etc/jan/tls holds the certificate jan-server serves.
#
# - A certificate you installed (cert.pem + key.pem without the .self-signed marker, e.g. through
#   jan-tls-install) is kept as it is; only its owner and modes are fixed.
# - Otherwise a self-signed one (ECDSA P-256, 825 days) is made for the VM's names and addresses: the host
#   name, its private addresses, the public address from the cloud's metadata service when it has one, and
#   JAN_TLS_NAMES (space-separated DNS names or IPs, optional, from /etc/jan/jan.env). When a name is new
#   (a stopped and started VM got a new public IP) it is made again, so its fingerprint changes too; a name
#   that is missing this time (the metadata service did not answer in time) changes nothing.
#
# The SHA-256 fingerprint is printed (journal and serial console) and kept in /etc/jan/tls/fingerprint, so you
# can compare it with what the browser shows before accepting the certificate.
#
# JAN_TLS_DIR and JAN_TLS_GROUP (default /etc/jan/tls and jan) exist for ci/check-deploy.sh's test of this
# script; the unit sets neither.
set -euo pipefail

dir="${JAN_TLS_DIR:-/etc/jan/tls}"
group="${JAN_TLS_GROUP:-jan}"
cert="$dir/cert.pem"
key="$dir/key.pem"
marker="$dir/.self-signed"
cloud_file=/usr/local/lib/jan/cloud
say() { printf 'jan-tls: %s\n' "$*"; }

install -d -m 0750 -o root -g "$group" "$dir"

# The public IPv4 address from the cloud's metadata service (best effort, 2 s each).
public_ip() {
  command -v curl >/dev/null || return 0
  local cloud token
  cloud="$(cat "$cloud_file" 2>/dev/null || true)"
  case "$cloud" in
    aws)
      token="$(curl -sf -m 2 -X PUT http://169.254.169.254/latest/api/token \
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' || true)"
      if [[ -n "$token" ]]; then
        curl -sf -m 2 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/public-ipv4 || true
      fi
      ;;
    gcp)
      curl -sf -m 2 -H 'Metadata-Flavor: Google' \
        http://169.254.169.254/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip || true
      ;;
    azure)
      curl -sf -m 2 -H 'Metadata: true' \
        'http://169.254.169.254/metadata/instance/network/interface/0/ipv4/ipAddress/0/publicIpAddress?api-version=2021-02-01&format=text' || true
      ;;
  esac
}

is_ip() { [[ "$1" =~ ^[0-9.]+$ || "$1" == *:* ]]; }

# The subjectAltName list, deduplicated, in a stable order.
names=()
add() {
  local n="$1" have
  [[ -n "$n" ]] || return 0
  # Only plain names and addresses: nothing that could break the openssl argument.
  [[ "$n" =~ ^[A-Za-z0-9.:*-]+$ ]] || { say "ignoring the name '$n'"; return 0; }
  for have in "${names[@]}"; do [[ "$have" == "$n" ]] && return 0; done
  names+=("$n")
}
for n in ${JAN_TLS_NAMES:-}; do add "$n"; done
add "$(public_ip | tr -d '[:space:]')"
add "$(hostname -f 2>/dev/null || true)"
add "$(hostname)"
for n in $(hostname -I 2>/dev/null || true); do add "$n"; done
add localhost
add 127.0.0.1
san=""
for n in "${names[@]}"; do
  if is_ip "$n"; then san+="${san:+,}IP:$n"; else san+="${san:+,}DNS:$n"; fi
done

# covered NEW OLD: every entry of the comma-separated list NEW is in OLD.
covered() {
  local entry
  local -a new
  IFS=, read -r -a new <<<"$1"
  for entry in "${new[@]}"; do
    [[ ",$2," == *",$entry,"* ]] || return 1
  done
}

if [[ -s "$cert" && -s "$key" && ! -e "$marker" ]]; then
  say "using the installed certificate $cert"
elif [[ -s "$cert" && -s "$key" ]] && covered "$san" "$(cat "$marker")"; then
  say "keeping the self-signed certificate (it has every name: $san)"
else
  say "making a self-signed certificate for $san"
  tmp="$(mktemp -d "$dir/.new.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 825 \
    -subj "/CN=${names[0]}" -addext "subjectAltName=$san" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
  printf '%s' "$san" >"$tmp/marker"
  mv -f "$tmp/key.pem" "$key"
  mv -f "$tmp/cert.pem" "$cert"
  mv -f "$tmp/marker" "$marker"
fi

chown "root:$group" "$cert" "$key"
chmod 0640 "$key"
chmod 0644 "$cert"
fingerprint="$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | sed 's/^.*=//')"
printf '%s\n' "$fingerprint" >"$dir/fingerprint"
chmod 0644 "$dir/fingerprint"
say "certificate SHA-256 fingerprint: $fingerprint"
say "valid until $(openssl x509 -in "$cert" -noout -enddate | sed 's/^notAfter=//')"
