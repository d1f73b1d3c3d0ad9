#!/usr/bin/env bash
# The whole test suite, from a fresh machine: services, then every test
# (unit, integration, doc) of every crate. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "test: cargo (stable Rust) is required" >&2; exit 1; }
# The Gene Map, cache, budget, event-log and broadcast tests need all three
# services; without one the run would fail late and by the dozen.
scripts/services.sh || { echo "test: a service is down (see above); the suite needs PostgreSQL, Redis and NATS" >&2; exit 1; }
# The registry's PostgreSQL primary + replica and Redis Cluster, on ports of
# their own, stopped when the run ends.
scripts/cluster.sh start || { echo "test: the registry's services did not start" >&2; exit 1; }
trap 'scripts/cluster.sh stop' EXIT
HELIX_ANVIL=$(scripts/tools.sh)
HELIX_PLAYWRIGHT=$(scripts/browser.sh)
export HELIX_PLAYWRIGHT
# The Temporal CLI's dev server for the objectives' tests (each test starts
# its own on free loopback ports and stops it).
HELIX_TEMPORAL=$(scripts/temporal.sh)
export HELIX_TEMPORAL
# Prometheus for the live scrape test; its configuration and alert rules
# are checked offline first (promtool).
HELIX_PROMETHEUS=$(scripts/prometheus.sh)
export HELIX_PROMETHEUS
scripts/ops.sh check
export HELIX_ANVIL
# The contracts: unit, fuzz (256 runs each) and invariant tests.
scripts/contracts.sh test
cargo test --workspace --locked "$@"
