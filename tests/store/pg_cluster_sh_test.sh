#!/usr/bin/env bash
# tests/common/pg_cluster.sh starts a PostgreSQL that answers on its socket, with fsync as asked,
# survives crash + restart with the same settings and data, and stop leaves neither the directory nor a server process behind.
set -euo pipefail
script=$1
check() { if ! eval "$1"; then echo "FAILED: $1" >&2; exit 1; fi; }

for mode in "" --fsync; do
  out=$("$script" start $mode)
  dir=$(sed -n 1p <<<"$out")
  conninfo=$(sed -n 2p <<<"$out")
  trap '"$script" stop "$dir"' EXIT
  pid=$(head -1 "$dir/data/postmaster.pid")
  check '[ "$(psql "$conninfo" -Atc "SELECT 40 + 2")" = 42 ]'
  want=off; [ -z "$mode" ] || want=on
  check '[ "$(psql "$conninfo" -Atc "SHOW fsync")" = $want ]'
  check '[ "$(psql "$conninfo" -Atc "SHOW listen_addresses")" = "" ]'
  # A crash and a restart give the same server back: the same socket and settings, the data kept.
  psql "$conninfo" -qc "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"
  "$script" crash "$dir"
  check '! psql "$conninfo" -Atc "SELECT 1" >/dev/null 2>&1'
  "$script" restart "$dir"
  check '[ "$(psql "$conninfo" -Atc "SELECT x FROM kept")" = 7 ]'
  check '[ "$(psql "$conninfo" -Atc "SHOW fsync")" = $want ]'
  pid=$(head -1 "$dir/data/postmaster.pid")
  "$script" stop "$dir"
  trap - EXIT
  check '[ ! -e "$dir" ]'
  for _ in $(seq 100); do
    [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null || break
    sleep 0.1
  done
  check '[ ! -e "/proc/$pid" ] || grep -q "^State:.*Z" "/proc/$pid/status"'
done
check '! "$script" stop /tmp/not-a-cluster 2>/dev/null'
echo ok
