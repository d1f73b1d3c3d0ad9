#!/usr/bin/env bash
# Offline checks of what operators deploy: the Prometheus configuration and
# alert rules (promtool check config, check rules, and the rules' unit
# tests in ops/prometheus/alerts.test.yml).
#   scripts/ops.sh check
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-check}
[[ $cmd == check ]] || { echo "usage: scripts/ops.sh check" >&2; exit 2; }
BIN=$(scripts/prometheus.sh)
PROMTOOL=$BIN/promtool
# check config reads the token files the configuration names: a copy with
# placeholder tokens and no targets.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp ops/prometheus/prometheus.yml ops/prometheus/alerts.yml "$tmp"/
mkdir -p "$tmp"/tokens "$tmp"/targets
for job in helix-serve helix-registry helix-mesh; do
  echo placeholder > "$tmp/tokens/$job.token"
  echo '[]' > "$tmp/targets/$job.json"
done
"$PROMTOOL" check config "$tmp"/prometheus.yml >&2
"$PROMTOOL" check rules ops/prometheus/alerts.yml >&2
(cd ops/prometheus && "$PROMTOOL" test rules alerts.test.yml >&2)
echo "ops: prometheus configuration, rules and rule tests ok" >&2
