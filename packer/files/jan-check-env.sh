#!/usr/bin/env bash
# jan-check-env (jan-server.service's ExecStartPre, as the jan user): refuse to start, with a line in the
# journal that says why, when /etc/jan/jan.env gives no login and no API key, or still holds the example's
# CHANGE-ME placeholders. jan-server itself also refuses to listen on 0.0.0.0 without credentials.
set -uo pipefail

fail() {
  echo "jan-check-env: $*; edit /etc/jan/jan.env (sudo), then: sudo systemctl restart jan-server" >&2
  exit 1
}
user="${JAN_USERNAME:-}"
pass="${JAN_PASSWORD:-}"
keys="${JAN_API_KEY:-}"
if [[ -n "$user" && -z "$pass" ]] || [[ -z "$user" && -n "$pass" ]]; then
  fail "JAN_USERNAME and JAN_PASSWORD go together (one of them is empty)"
fi
if [[ -z "$user" && -z "${keys//[ ,]/}" ]]; then
  fail "no credentials: set JAN_USERNAME and JAN_PASSWORD (and/or JAN_API_KEY)"
fi
for value in "$user" "$pass" "$keys"; do
  if [[ "$value" == *CHANGE-ME* ]]; then
    fail "a value still contains the placeholder CHANGE-ME"
  fi
done
exit 0
