#!/usr/bin/env bash
# Makes sure PostgreSQL (5432), Redis (6379) and NATS with JetStream (4222)
# answer on 127.0.0.1: starts the ones that do not, installing Debian's
# packages first where they are missing. The shared Gene Map, its cache,
# the budget, the event log and the broadcast tests connect to them.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
need_root() { [[ $(id -u) -eq 0 ]] || { echo "services: not root, cannot install $1" >&2; return 1; }; }
apt_once() {
  if [[ -z ${APT_UPDATED:-} ]]; then apt-get update -qq >/dev/null && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_port() { for _ in $(seq 1 50); do up "$1" && return 0; sleep 0.2; done; return 1; }

if ! up 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then need_root postgresql && apt_once postgresql; fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start 2>/dev/null || true
  wait_port 5432 && psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
    || createdb -h 127.0.0.1 -U postgres test 2>/dev/null || true
fi
if ! up 6379; then
  command -v redis-server >/dev/null || { need_root redis-server && apt_once redis-server; }
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
fi
if ! up 4222; then
  command -v nats-server >/dev/null || [[ -x /usr/sbin/nats-server ]] || { need_root nats-server && apt_once nats-server; }
  mkdir -p /var/lib/nats-server 2>/dev/null
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  start-stop-daemon --start --oknodo --background --exec "$bin" -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
status=0
for p in 5432 6379 4222; do
  if wait_port "$p"; then echo "services: 127.0.0.1:$p up"; else echo "services: 127.0.0.1:$p DOWN" >&2; status=1; fi
done
exit $status
