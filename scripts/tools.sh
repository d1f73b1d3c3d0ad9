#!/usr/bin/env bash
# Installs the external tools the lab drives into .tools/ (git-ignored):
# anvil 1.7.1 (Foundry, with --network tempo) from the npm registry, and
# pympp 0.16.0 into .venv/ from PyPI.
# Prints the anvil path. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ANVIL=.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
if [[ ! -x $ANVIL ]] || ! "$ANVIL" --version 2>/dev/null | grep -q '1.7.1'; then
  command -v npm >/dev/null || { echo "tools: npm is required to install anvil" >&2; exit 1; }
  mkdir -p .tools
  (cd .tools && npm install --no-audit --no-fund --silent --prefix . @foundry-rs/anvil-linux-amd64@1.7.1 >&2)
fi
# pympp (Tempo's Python MPP SDK) for the interop test, in a project venv.
if ! .venv/bin/python -c 'import mpp.server, uvicorn, fastapi' 2>/dev/null; then
  command -v python3 >/dev/null || { echo "tools: python3 is required for pympp" >&2; exit 1; }
  python3 -m venv .venv >&2
  .venv/bin/pip install -q 'pympp[tempo,server]==0.16.0' uvicorn fastapi >&2
fi
echo "$PWD/$ANVIL"
