#!/usr/bin/env bash
# Installs Prometheus and promtool (Debian's `prometheus` 2.42, unpacked
# without installing: no service, no web UI packages) into .tools/prometheus
# (git-ignored). Prints the directory holding `prometheus` and `promtool`.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$PWD/.tools/prometheus
BIN=$DIR/usr/bin
if [[ ! -x $BIN/prometheus || ! -x $BIN/promtool ]]; then
  command -v apt-get >/dev/null || { echo "prometheus: apt-get is required (Debian's package)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # apt's sandbox user cannot write to a root-owned mktemp dir.
  chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -q prometheus >&2) || {
    apt-get update -qq >&2 && (cd "$tmp" && apt-get download -q prometheus >&2)
  }
  mkdir -p "$DIR"
  dpkg-deb -x "$tmp"/prometheus_*.deb "$DIR"
fi
echo "$BIN"
