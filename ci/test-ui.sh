#!/usr/bin/env bash
# The shared UI's tests: the middleware's unit and contract tests (vitest; both transports against a real
# jan-server), then the end-to-end run in headless Chromium against the real server and the real test model, then
# the desktop host: host-electron's node tests (IPC wiring, preload, main process; the real addon) and the UI end
# to end over IPC (the real preload and IPC handler, the real addon, headless Chromium).
# Needs a debug jan-server (JAN_SERVER_BIN; ci/test.sh passes the one its workspace tests built), the addon
# (bindings-node/jan-node.<platform>.node, which ci/test.sh builds before calling this) and the test models
# (ci/fetch-test-models.sh). Installs Debian's chromium when it is missing (playwright's own browser download
# does not work offline). Screenshots land in ui/e2e/screenshots/ (git-ignored).
#
# Environment: JAN_SERVER_BIN (default target/debug/jan-server), JAN_TEST_MODELS, CHROMIUM (default
# /usr/bin/chromium), JAN_UI_SKIP_E2E=1 to run only the vitest suites.
set -euo pipefail

cd "$(dirname "$0")/.."
log() { printf '\n[test-ui] %s\n' "$*" >&2; }

ci/build-ui.sh
if [[ ! -x "${JAN_SERVER_BIN:-target/debug/jan-server}" ]]; then
  log "cargo build -p jan-server"
  cargo build -p jan-server --locked
fi

log "typecheck + unit and contract tests (vitest)"
(cd ui && npx --no-install vitest run)

if [[ "${JAN_UI_SKIP_E2E:-0}" == 1 ]]; then
  exit 0
fi
chromium_bin="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium_bin" ]]; then
  log "installing chromium (apt)"
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
  fi
fi
log "end to end (headless chromium)"
(cd ui && CHROMIUM="$chromium_bin" node e2e/run.mjs)
log "end to end: the server killed mid-reply and started again (headless chromium)"
(cd ui && CHROMIUM="$chromium_bin" node e2e/restart.mjs)
log "every screen, light and dark, desktop and phone: screenshots (ui/e2e/screenshots/screens) and axe-core"
(cd ui && CHROMIUM="$chromium_bin" node e2e/screens.mjs)

if ! compgen -G "bindings-node/jan-node.*.node" >/dev/null; then
  log "bindings-node/jan-node.<platform>.node is missing: build the addon first (cd bindings-node && npm run build)"
  exit 1
fi
log "desktop host: IPC wiring, preload, main process (node:test, the real addon)"
node --test host-electron/test/*.test.js
log "end to end over IPC (headless chromium, the desktop's preload and IPC handler, the real addon)"
(cd ui && CHROMIUM="$chromium_bin" node e2e/ipc.mjs)
