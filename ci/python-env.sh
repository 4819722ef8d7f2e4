#!/usr/bin/env bash
# A Python environment with the packages the tests drive the server with (the official `openai` client, and
# httpx for ci/load-test.py), cached outside the repository. Prints the path of its interpreter on stdout.
#
# A virtual environment where `python3 -m venv` works (Debian needs python3-venv, installed when apt can run);
# otherwise the packages go into a folder of their own (`pip install --target`) behind a small wrapper script.
#
# Environment:
#   JAN_TEST_VENV   where the environment lives (default: ~/.cache/jan-test-venv)
#   PYTHON          the interpreter it is made from (default: python3)
set -euo pipefail

VENV="${JAN_TEST_VENV:-$HOME/.cache/jan-test-venv}"
PYTHON="${PYTHON:-python3}"
# Pinned, so that a new release cannot change what the tests see.
PACKAGES=(openai==1.109.1 openapi-spec-validator==0.7.2)

log() { printf '[python-env] %s\n' "$*" >&2; }

stamp="$VENV/.packages"
if [[ -x "$VENV/bin/python" && "$(cat "$stamp" 2>/dev/null)" == "${PACKAGES[*]}" ]]; then
  echo "$VENV/bin/python"
  exit 0
fi

can_venv() { "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; }
if ! can_venv && command -v apt-get >/dev/null; then
  log "installing python3-venv"
  if [[ $(id -u) -eq 0 ]]; then
    (apt-get update -qq && apt-get install -y -qq python3-venv) >&2 || true
  elif sudo -n true 2>/dev/null; then
    (sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv) >&2 || true
  fi
fi

rm -rf "$VENV"
if can_venv && "$PYTHON" -m venv "$VENV" >&2; then
  log "virtual environment $VENV with ${PACKAGES[*]}"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2
else
  log "no venv here: installing ${PACKAGES[*]} into $VENV/lib"
  mkdir -p "$VENV/bin"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --target "$VENV/lib" "${PACKAGES[@]}" >&2
  interpreter="$(command -v "$PYTHON")"
  # The ${PYTHONPATH...} and "$@" are for the generated script, not for this one.
  # shellcheck disable=SC2016
  printf '#!/bin/sh\nPYTHONPATH="%s/lib${PYTHONPATH:+:$PYTHONPATH}" exec "%s" "$@"\n' "$VENV" "$interpreter" \
    > "$VENV/bin/python"
  chmod +x "$VENV/bin/python"
fi
"$VENV/bin/python" -c 'import openai, httpx, openapi_spec_validator' >&2
echo "${PACKAGES[*]}" > "$stamp"
echo "$VENV/bin/python"
