#!/usr/bin/env bash
# Installs the external tools the lab drives into .tools/ (git-ignored):
# anvil, forge and cast 1.7.1 (Foundry, with --network tempo) and solc
# 0.8.30 (solcjs, behind contracts/tools/solc.js) from the npm registry, and
# pympp 0.16.0 into .venv/ from PyPI.
# Prints the anvil path. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ANVIL=.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
FORGE=.tools/node_modules/@foundry-rs/forge-linux-amd64/bin/forge
if [[ ! -x $ANVIL ]] || ! "$ANVIL" --version 2>/dev/null | grep -q '1.7.1' \
  || [[ ! -x $FORGE ]] || [[ ! -f .tools/node_modules/solc/package.json ]]; then
  command -v npm >/dev/null || { echo "tools: npm is required to install anvil and forge" >&2; exit 1; }
  mkdir -p .tools
  (cd .tools && npm install --no-audit --no-fund --silent --prefix . \
    @foundry-rs/anvil-linux-amd64@1.7.1 @foundry-rs/forge-linux-amd64@1.7.1 \
    @foundry-rs/cast-linux-amd64@1.7.1 solc@0.8.30 >&2)
fi
# pympp (Tempo's Python MPP SDK) for the interop test, in a project venv.
if ! .venv/bin/python -c 'import mpp.server, uvicorn, fastapi' 2>/dev/null; then
  command -v python3 >/dev/null || { echo "tools: python3 is required for pympp" >&2; exit 1; }
  python3 -m venv .venv >&2
  .venv/bin/pip install -q 'pympp[tempo,server]==0.16.0' uvicorn fastapi >&2
fi
echo "$PWD/$ANVIL"
