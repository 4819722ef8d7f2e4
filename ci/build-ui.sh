#!/usr/bin/env bash
# Builds the shared UI (ui/) into ui/dist: npm ci (when node_modules is missing or older than the lock file), then
# tsc + vite build. Skips the build when ui/dist is newer than every input. host-web's build.rs calls this, so
# `cargo build -p jan-server` embeds the full UI wherever node and npm exist.
#
#   ci/build-ui.sh           build if out of date
#   ci/build-ui.sh --force   always build
set -euo pipefail

cd "$(dirname "$0")/../ui"
log() { printf '[build-ui] %s\n' "$*" >&2; }

if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: install Node.js 20.19+ and npm (Debian: apt-get install nodejs npm)"
  exit 1
fi

if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  log "Node.js $(node --version) is too old: Vite needs 20.19 or newer"
  exit 1
fi

inputs=(src index.html package.json package-lock.json vite.config.ts tsconfig.json)
if [[ "${1:-}" != --force && -f dist/index.html ]]; then
  newer=$(find "${inputs[@]}" -newer dist/index.html -print -quit 2>/dev/null || true)
  if [[ -z "$newer" ]]; then
    log "ui/dist is up to date"
    exit 0
  fi
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
log "vite build"
npx --no-install tsc --noEmit >&2
npx --no-install vite build --logLevel warn >&2
touch dist/index.html
log "built ui/dist"
