#!/bin/bash
# The image's HEALTHCHECK (/usr/local/bin/jan-healthcheck): GET /health from jan-server over bash's /dev/tcp, so
# the image needs no curl. Healthy when the answer's status is 200. With JAN_TLS_CERT (jan-server speaks HTTPS
# itself) there is no TLS client here: a port that accepts connections is the check.
set -euo pipefail

port="${JAN_API_PORT:-1337}"
host="${JAN_API_HOST:-127.0.0.1}"
case "$host" in
  0.0.0.0 | "" ) host=127.0.0.1 ;;
  :: | "[::]" ) host=::1 ;;
esac

exec 3<>"/dev/tcp/$host/$port"
if [[ -n "${JAN_TLS_CERT:-}" ]]; then
  exit 0
fi
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nUser-Agent: jan-healthcheck\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
status="${status%$'\r'}"
if [[ ! "$status" =~ ^HTTP/1\.[01]\ 200 ]]; then
  echo "jan-healthcheck: /health answered: ${status:-nothing}" >&2
  exit 1
fi
