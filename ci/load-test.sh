#!/usr/bin/env bash
# Load check for jan-server (a benchmark, not part of ci/test.sh): builds the release binary and runs
# ci/load-test.py with N concurrent streaming clients. Arguments go to ci/load-test.py (--help for them).
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(ci/python-env.sh)"
ci/fetch-test-models.sh >/dev/null
cargo build --release --locked -p jan-server >&2
exec "$python" ci/load-test.py "$@"
