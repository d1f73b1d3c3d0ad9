#!/usr/bin/env bash
# The registry's own services, on loopback ports of their own, apart from
# the machine's (which allow no replication and run no cluster):
#   a PostgreSQL primary on 5440 and its streaming replica on 5441
#   (initdb, pg_basebackup -R, pg_ctl, as the postgres user), and
#   a three-node Redis Cluster on 7100-7102.
# `scripts/cluster.sh start` (idempotent) and `scripts/cluster.sh stop`;
# `stop-replica` and `start-replica` for the test of reads falling back.
# State lives in $HELIX_CLUSTER_DIR (default /tmp/helix-cluster), which is
# removed on stop.
set -uo pipefail

dir=${HELIX_CLUSTER_DIR:-/tmp/helix-cluster}
PRIMARY=${HELIX_PG_PRIMARY_PORT:-5440}
REPLICA=${HELIX_PG_REPLICA_PORT:-5441}
REDIS_PORTS=(7100 7101 7102)
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 100); do up "$1" && return 0; sleep 0.1; done; return 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
  [[ -n $pgbin ]] || { echo "cluster: no PostgreSQL binaries (apt-get install postgresql)" >&2; return 1; }
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
  if ! up "$PRIMARY"; then
    if [[ ! -f $dir/primary/PG_VERSION ]]; then
      as_pg "$pgbin/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 >/dev/null || return 1
      {
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $PRIMARY"
        echo "wal_level = replica"
        echo "max_wal_senders = 4"
        echo "unix_socket_directories = '$dir'"
        echo "fsync = off"
      } >>"$dir/primary/postgresql.conf"
      echo "host replication all 127.0.0.1/32 trust" >>"$dir/primary/pg_hba.conf"
    fi
    as_pg "$pgbin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null || return 1
    as_pg "$pgbin/psql" -h 127.0.0.1 -p "$PRIMARY" -U postgres -qtc "SELECT 1 FROM pg_database WHERE datname='registry'" | grep -q 1 \
      || as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$PRIMARY" -U postgres registry
  fi
  if ! up "$REPLICA"; then
    if [[ ! -f $dir/replica/PG_VERSION ]]; then
      as_pg "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY" -U postgres -D "$dir/replica" -X stream -R -c fast || return 1
      echo "port = $REPLICA" >>"$dir/replica/postgresql.conf"
    fi
    as_pg "$pgbin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w start >/dev/null || return 1
  fi
}

start_redis() {
  command -v redis-server >/dev/null || { echo "cluster: no redis-server" >&2; return 1; }
  local fresh=0
  for p in "${REDIS_PORTS[@]}"; do
    up "$p" && continue
    mkdir -p "$dir/redis-$p"
    [[ -f $dir/redis-$p/nodes.conf ]] || fresh=1
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$dir/redis-$p/nodes.conf" --dir "$dir/redis-$p" \
      --save "" --appendonly no --daemonize yes --logfile "$dir/redis-$p.log" >/dev/null
  done
  for p in "${REDIS_PORTS[@]}"; do wait_port "$p" || return 1; done
  if ! redis-cli -p "${REDIS_PORTS[0]}" cluster info 2>/dev/null | grep -q cluster_state:ok; then
    [[ $fresh -eq 1 ]] || true
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${REDIS_PORTS[@]}") --cluster-replicas 0 --cluster-yes >/dev/null || return 1
    for _ in $(seq 1 100); do
      redis-cli -p "${REDIS_PORTS[0]}" cluster info | grep -q cluster_state:ok && return 0
      sleep 0.1
    done
    return 1
  fi
}

stop_all() {
  for p in "${REDIS_PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1; done
  for d in replica primary; do
    [[ -f $dir/$d/PG_VERSION ]] && as_pg "$pgbin/pg_ctl" -D "$dir/$d" -m immediate stop >/dev/null 2>&1
  done
  rm -rf "$dir"
}

case "${1:-start}" in
  start)
    start_pg || { echo "cluster: PostgreSQL primary/replica did not start (see $dir/*.log)" >&2; exit 1; }
    start_redis || { echo "cluster: Redis Cluster did not start (see $dir/redis-*.log)" >&2; exit 1; }
    echo "cluster: postgres primary 127.0.0.1:$PRIMARY, replica 127.0.0.1:$REPLICA, redis cluster ${REDIS_PORTS[*]}"
    ;;
  stop) stop_all ;;
  # For the failover test: the replica really stops, then comes back.
  stop-replica) as_pg "$pgbin/pg_ctl" -D "$dir/replica" -m fast -w stop >/dev/null ;;
  start-replica) as_pg "$pgbin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w start >/dev/null ;;
  *) echo "usage: $0 start|stop|stop-replica|start-replica" >&2; exit 2 ;;
esac
