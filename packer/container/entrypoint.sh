#!/bin/bash
# The image's entrypoint (/usr/local/bin/jan-entrypoint): checks the credentials, prepares the data folder and runs
# the command (default: jan-server) as the `jan` user.
#
# - Refuses to start when a credential still holds a Runpod secret placeholder ("{{ RUNPOD_SECRET_... }}"): Runpod
#   leaves it as literal text when the secret does not exist, and a password everyone can read in the template is
#   no password.
# - On Runpod (RUNPOD_POD_ID set), allows the pod's proxy origin (https://<pod>-<port>.proxy.runpod.net) for
#   requests that change state, unless JAN_ALLOWED_ORIGINS is set: the login session works whatever Host header
#   the proxy forwards.
# - Started as root (the default): creates JAN_DATA_FOLDER, gives it to `jan` when anything in it belongs to
#   someone else (Runpod's /workspace is root's; a desktop ~/jan copied in as root), then drops to `jan` with
#   setpriv (no supplementary groups, no new privileges). Started as another user (`--user`): runs the command as
#   that user and leaves ownership alone.
# - `jan-entrypoint --flag ...` runs `jan-server --flag ...`.
set -euo pipefail

log() { printf 'jan-entrypoint: %s\n' "$*" >&2; }

for name in JAN_USERNAME JAN_PASSWORD JAN_API_KEY; do
  value="${!name:-}"
  if [[ "$value" == *"{{"* || "$value" == *RUNPOD_SECRET_* ]]; then
    log "$name holds an unresolved secret placeholder ($value): create that secret in Runpod (Settings > Secrets)"
    log "or set $name to the real value; refusing to start with a password anyone can read in the template"
    exit 64
  fi
done

if [[ -n "${RUNPOD_POD_ID:-}" && -z "${JAN_ALLOWED_ORIGINS:-}" ]]; then
  export JAN_ALLOWED_ORIGINS="https://${RUNPOD_POD_ID}-${JAN_API_PORT:-1337}.proxy.runpod.net"
fi

if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- jan-server "$@"
fi

data="${JAN_DATA_FOLDER:-/workspace/jan}"

if [[ "$(id -u)" -eq 0 ]]; then
  uid="$(id -u jan)"
  gid="$(id -g jan)"
  mkdir -p -- "$data"
  if [[ -n "$(find "$data" -xdev ! -user "$uid" -print -quit)" ]]; then
    log "giving $data to jan ($uid:$gid)"
    chown -R "$uid:$gid" -- "$data"
  fi
  export HOME=/home/jan USER=jan LOGNAME=jan
  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --no-new-privs -- "$@"
fi

if ! mkdir -p -- "$data" 2>/dev/null || [[ ! -w "$data" ]]; then
  log "$data is not writable by uid $(id -u): start the container as root (the default) so that it can be given"
  log "to jan, or make the volume writable for this user"
  exit 73
fi
exec "$@"
