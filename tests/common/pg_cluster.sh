#!/usr/bin/env bash
# A throwaway PostgreSQL for shell tests, the same as tests/common/pg_cluster.hpp:
#   pg_cluster.sh start [--fsync]  creates and starts one; prints its directory, then its conninfo
#   pg_cluster.sh stop DIR         stops it (immediately) and removes DIR
#   pg_cluster.sh crash DIR        stops it as a crash would (-m immediate), keeping DIR
#   pg_cluster.sh restart DIR      starts a crashed or stopped one again (crash recovery runs)
# The server listens on a unix socket in DIR only; fsync is off unless --fsync (benchmarks, crash
# tests). As root it runs as `postgres`. PG_CLUSTER_SHARED_BUFFERS overrides shared_buffers (16MB,
# enough for tests; the benchmarks give it more).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
port=5432

as_server() {
  local dir=$1; shift
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

case "${1:-}" in
  start)
    fsync=off
    [ "${2:-}" != --fsync ] || fsync=on
    dir=$(mktemp -d "${TMPDIR:-/tmp}/almanac-pg-XXXXXX")
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    if ! as_server "$dir" "$bin/initdb" -D "$dir/data" -A trust -N -U almanac -E UTF8 \
        --locale=C --no-instructions >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1
    fi
    # In the configuration file rather than on pg_ctl's command line, so that `restart` after a
    # crash starts the same server.
    {
      echo "listen_addresses = ''"
      echo "unix_socket_directories = '$dir'"
      echo "port = $port"
      echo "shared_buffers = ${PG_CLUSTER_SHARED_BUFFERS:-16MB}"
      echo "fsync = $fsync"
      echo "full_page_writes = $fsync"
    } >>"$dir/data/postgresql.conf"
    if ! as_server "$dir" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        start >/dev/null 2>&1; then
      cat "$dir/log" >&2; rm -rf "$dir"; exit 1
    fi
    echo "$dir"
    echo "host=$dir port=$port user=almanac dbname=postgres"
    ;;
  crash)
    dir=${2:?usage: pg_cluster.sh crash DIR}
    as_server "$dir" "$bin/pg_ctl" -D "$dir/data" -w -t 60 stop -m immediate >/dev/null 2>&1
    ;;
  restart)
    dir=${2:?usage: pg_cluster.sh restart DIR}
    as_server "$dir" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null 2>&1 \
      || { tail -20 "$dir/log" >&2; exit 1; }
    ;;
  stop)
    dir=${2:?usage: pg_cluster.sh stop DIR}
    case "$dir" in */almanac-pg-*) ;; *) echo "pg_cluster.sh: $dir is not a test cluster" >&2; exit 2 ;; esac
    as_server "$dir" "$bin/pg_ctl" -D "$dir/data" -w -t 60 stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg_cluster.sh start [--fsync] | crash DIR | restart DIR | stop DIR" >&2
    exit 2
    ;;
esac
