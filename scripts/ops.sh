#!/usr/bin/env bash
# Offline checks of what operators deploy: the Prometheus configuration and
# alert rules (promtool check config, check rules, and the rules' unit
# tests in ops/prometheus/alerts.test.yml), and every Kubernetes manifest
# against the Kubernetes 1.37 schemas (PyPI kubernetes-validate, strict:
# an unknown field is an error).
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
for job in helix-serve helix-registry helix-mesh helix-evolve helix-ode; do
  echo placeholder > "$tmp/tokens/$job.token"
  echo '[]' > "$tmp/targets/$job.json"
done
"$PROMTOOL" check config "$tmp"/prometheus.yml >&2
"$PROMTOOL" check rules ops/prometheus/alerts.yml >&2
(cd ops/prometheus && "$PROMTOOL" test rules alerts.test.yml >&2)
echo "ops: prometheus configuration, rules and rule tests ok" >&2
if ! .venv/bin/kubernetes-validate --version >/dev/null 2>&1; then
  [[ -x .venv/bin/pip ]] || python3 -m venv .venv >&2
  .venv/bin/pip install -q 'kubernetes-validate==1.37.0' >&2
fi
manifests=$(ls ops/k8s/base/*.yaml | grep -v kustomization.yaml)
.venv/bin/kubernetes-validate --strict --quiet $manifests >&2
# Every manifest is listed in the kustomization, and every listed file exists.
for f in $manifests; do
  grep -q "^  - $(basename "$f")$" ops/k8s/base/kustomization.yaml \
    || { echo "ops: $(basename "$f") is not in ops/k8s/base/kustomization.yaml" >&2; exit 1; }
done
for f in $(sed -n 's/^  - \(.*\.yaml\)$/\1/p' ops/k8s/base/kustomization.yaml); do
  [[ -f ops/k8s/base/$f ]] || { echo "ops: kustomization lists missing $f" >&2; exit 1; }
done
echo "ops: $(echo "$manifests" | wc -w) Kubernetes manifests valid (1.37, strict)" >&2
