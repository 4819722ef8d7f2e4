#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run calls it).
# On a fresh Debian 12 machine with Rust it installs what the tests need, fetches the real test models into a
# cache outside the repository, then runs format, lint and every test of the workspace.
#
# Environment:
#   JAN_TEST_MODELS   where the test models are cached (default: ~/.cache/jan-test-models)
#   JAN_TEST_QUICK=1  skip the rust-version check, fmt and clippy (for a fast local loop)
set -euo pipefail

cd "$(dirname "$0")/.."
log() { printf '\n[test] %s\n' "$*" >&2; }
started=$SECONDS

# A one-off build gains nothing from incremental state (2 GB on disk); a developer's own shell may still set it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Everything is built for the host triple named explicitly: the napi CLI always passes --target, and cargo keeps
# an explicit target's artifacts apart from an implicit one's, so without this the addon build compiled the whole
# dependency tree a second time (8.5 min of a 2-core CI machine); with it the addon reuses the test build's.
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
target_dir="${CARGO_TARGET_DIR:-target}"
[[ $target_dir == /* ]] || target_dir="$PWD/$target_dir"
# Absolute: the UI's tests run from ui/.
debug_dir="$target_dir/$CARGO_BUILD_TARGET/debug"

log "toolchain: $(cargo --version), $(rustc --version); disk free: $(df -h --output=avail . | tail -1 | tr -d ' ')"
if ! rustup component list --installed 2>/dev/null | grep -q '^clippy'; then
  rustup component add clippy rustfmt >/dev/null 2>&1 || true
fi

log "test models"
ci/fetch-test-models.sh >/dev/null

log "python environment (the official openai client drives the server)"
JAN_TEST_PYTHON="$(ci/python-env.sh)"
export JAN_TEST_PYTHON

if [[ "${JAN_TEST_QUICK:-0}" != 1 ]]; then
  # rust-version against the dependencies' and our language features' needs (seconds); clippy's
  # incompatible_msrv (deny) below checks the std APIs against it.
  log "rust-version (ci/check-msrv.sh)"
  ci/check-msrv.sh
  log "cargo fmt --check"
  cargo fmt --all -- --check
  log "cargo clippy (warnings are errors)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

log "cargo test"
if command -v cargo-nextest >/dev/null 2>&1 || cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doc tests
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

log "the napi addon (bindings-node): build (committed typings must match), then its tests under Node"
# Built as part of the workspace with the tests' targets, so cargo unifies features as the test build did and
# compiles only the addon itself.
ci/build-addon.sh --check -- --workspace --lib --bins --tests
node --test bindings-node/test/*.test.js

log "the shared UI: contract tests on both transports, then end to end in headless chromium"
# The jan-server the tests above built (a `cargo build -p jan-server` here would unify features differently and
# compile the dependency tree again).
JAN_SERVER_BIN="$debug_dir/jan-server" ci/test-ui.sh

log "deploy files: Packer templates, provisioning scripts, systemd units, firewall, cloud-init, container, Runpod"
ci/check-deploy.sh

log "all tests passed in $((SECONDS - started)) s; target dir: $(du -sh target 2>/dev/null | cut -f1)"
