#!/usr/bin/env bash
# The whole test suite, from a fresh machine: services, then every test
# (unit, integration, doc) of every crate. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "test: cargo (stable Rust) is required" >&2; exit 1; }
scripts/services.sh || echo "test: warning: a service did not start; the tests that need it will fail and say which" >&2
HELIX_ANVIL=$(scripts/tools.sh)
HELIX_PLAYWRIGHT=$(scripts/browser.sh)
export HELIX_PLAYWRIGHT
export HELIX_ANVIL
cargo test --workspace --locked "$@"
