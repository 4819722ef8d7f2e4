#!/usr/bin/env bash
# Builds the napi addon of bindings-node for this machine (jan-node.<platform>.node) with @napi-rs/cli, which also
# generates index.js (the platform loader) and index.d.ts (the typings, headed by wire.d.ts). Both are committed:
# the package's API shows in review. With --check (CI) a generated file that differs from the committed one fails
# the build; without it they are updated.
#
#   ci/build-addon.sh [--check] [--release]
#
# Files are replaced by rename, so a Node process that has the old addon loaded keeps running.
set -euo pipefail

cd "$(dirname "$0")/../bindings-node"
check=0
args=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    *) args+=("$arg") ;;
  esac
done

if [[ ! -x node_modules/.bin/napi ]]; then
  npm ci --no-audit --no-fund >&2
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx --no-install napi build --platform -o "$out" "${args[@]}" >&2

stale=0
for f in index.js index.d.ts; do
  if ! cmp -s "$out/$f" "$f"; then
    if [[ $check == 1 ]]; then
      echo "bindings-node/$f is not what the build generates; run ci/build-addon.sh and commit it:" >&2
      diff -u "$f" "$out/$f" >&2 || true
      stale=1
    fi
  fi
done
[[ $stale == 0 ]] || exit 1
for f in "$out"/*; do
  name="$(basename "$f")"
  cp "$f" ".$name.new" && mv -f ".$name.new" "$name"
done
echo "bindings-node: $(ls -- *.node)" >&2
