#!/usr/bin/env bash
# Installs what the dashboard's browser test drives: Debian's chromium
# (a test tool's own browser download cannot work offline) and
# playwright-core 1.65.1 from the npm registry into .tools/ (git-ignored).
# Prints the playwright-core directory. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x /usr/bin/chromium ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "browser: not root, cannot install Debian's chromium" >&2; exit 1; }
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
PW=.tools/node_modules/playwright-core
if ! grep -q '"version": "1.65.1"' "$PW/package.json" 2>/dev/null; then
  command -v npm >/dev/null || { echo "browser: npm is required to install playwright-core" >&2; exit 1; }
  mkdir -p .tools
  (cd .tools && npm install --no-audit --no-fund --silent --prefix . playwright-core@1.65.1 >&2)
fi
echo "$PWD/$PW"
