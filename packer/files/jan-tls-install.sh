#!/usr/bin/env bash
# jan-tls-install CERT KEY: install your own certificate chain and key (PEM) for jan-server, replacing the
# self-signed one, and restart jan-server. Run as root. Works as certbot's deploy hook:
#   certbot certonly --standalone -d jan.example.com \
#     --deploy-hook 'jan-tls-install "$RENEWED_LINEAGE/fullchain.pem" "$RENEWED_LINEAGE/privkey.pem"'
# To go back to a self-signed certificate: rm /etc/jan/tls/*.pem && systemctl restart jan-tls jan-server
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: jan-tls-install CERT.pem KEY.pem" >&2
  exit 2
fi
cert_in="$1"
key_in="$2"
[[ $(id -u) -eq 0 ]] || { echo "jan-tls-install: run as root (sudo)" >&2; exit 1; }
openssl x509 -in "$cert_in" -noout >/dev/null || { echo "jan-tls-install: $cert_in is not a PEM certificate" >&2; exit 1; }
openssl pkey -in "$key_in" -noout >/dev/null || { echo "jan-tls-install: $key_in is not a PEM private key" >&2; exit 1; }
# The key must belong to the certificate.
if [[ "$(openssl x509 -in "$cert_in" -noout -pubkey | openssl sha256)" != "$(openssl pkey -in "$key_in" -pubout | openssl sha256)" ]]; then
  echo "jan-tls-install: the key does not match the certificate" >&2
  exit 1
fi
dir=/etc/jan/tls
install -d -m 0750 -o root -g jan "$dir"
install -m 0644 -o root -g jan "$cert_in" "$dir/cert.pem.new"
install -m 0640 -o root -g jan "$key_in" "$dir/key.pem.new"
mv -f "$dir/cert.pem.new" "$dir/cert.pem"
mv -f "$dir/key.pem.new" "$dir/key.pem"
rm -f "$dir/.self-signed"
systemctl restart jan-tls.service
systemctl try-restart jan-server.service
echo "jan-tls-install: installed; fingerprint $(cat "$dir/fingerprint")"
