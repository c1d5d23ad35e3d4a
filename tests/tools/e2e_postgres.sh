#!/usr/bin/env bash
# End to end on PostgreSQL: the real almanacd with its log in a real PostgreSQL (a throwaway
# cluster, fsync on), driven by the real CLI, curl and almanac-replay.
#   - a job running `false` becomes failed; plain resume is refused; force resume revives it and
#     the log shows JobRevived, the audit resume:force;
#   - kill -9 while creates go on: every create acknowledged before the kill is there after the
#     restart (at least 300 of them);
#   - PostgreSQL crashes and restarts under load: creates in flight fail cleanly (503), health
#     and /metrics show the connection down and then back without a daemon restart, the failing
#     job goes on running, and nothing acknowledged is lost;
#   - a second almanacd on the same database is refused;
#   - the password of the store URI is printed nowhere.
# Usage: e2e_postgres.sh ALMANACD ALMANAC ALMANAC_REPLAY PG_CLUSTER_SH
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
PG=$4
source "$(dirname "$0")/daemon_test_lib.sh" pg
step() { echo "== $*"; }

PG_DIR=
LOAD_PID=
stop_all() {
  [[ -z $LOAD_PID ]] || kill "$LOAD_PID" 2>/dev/null || true
  [[ -z $PG_DIR ]] || "$PG" stop "$PG_DIR"
  cleanup
}
trap stop_all EXIT

step "start PostgreSQL (fsync on)"
out=$("$PG" start --fsync)
PG_DIR=$(sed -n 1p <<<"$out")
# The trust authentication of the test cluster ignores the password: it is there to be hidden.
PASSWORD=pw-e2e-never-shown-7c1f
STORE="postgresql://almanac:$PASSWORD@/postgres?host=$PG_DIR&port=5432"

start_pg_daemon() { start_daemon --store "$STORE" --grace 5s "$@"; }
health_json() { "$ALMANAC" health --json; }

step "almanacd on PostgreSQL"
start_pg_daemon
health_json >"$T/health.json"
grep -q '"backend": "postgresql"' "$T/health.json" || fail "health: $(cat "$T/health.json")"
grep -q '"connected": true' "$T/health.json" || fail "health: $(cat "$T/health.json")"
grep -q "\"location\": \"postgresql://almanac@" "$T/health.json" || fail "health: $(cat "$T/health.json")"
"$ALMANAC" health
[[ ! -e $T/data/CURRENT ]] || fail "a RocksDB log was created in the data directory"

step "a second almanacd on the same database is refused while the first runs"
rc=0
"$ALMANACD" --data "$T/second" --store "$STORE" --admin 127.0.0.1:0 --http 127.0.0.1:0 \
  >"$T/second.out" 2>"$T/second.err" || rc=$?
[[ $rc == 1 ]] || fail "the second daemon: expected exit 1, got $rc"
grep -q "in use by another Almanac process" "$T/second.err" || fail "unclear: $(cat "$T/second.err")"

step "a job that always fails becomes failed; plain resume is refused; force revives it"
JOB=$("$ALMANAC" create --name always-fails --every 1s --max-errors 3 --backoff 250ms \
  --exec -- false)
[[ $JOB =~ ^[0-9a-f]{16}$ ]] || fail "create printed '$JOB'"
status_is() { "$ALMANAC" show "$JOB" --json | grep -q "\"status\": \"$1\""; }
wait_for status_is failed || fail "the job never became failed"
rc=0
"$ALMANAC" resume "$JOB" 2>"$T/resume.err" || rc=$?
[[ $rc == 1 ]] || fail "plain resume: expected exit 1, got $rc"
grep -q force "$T/resume.err" || fail "the refusal does not mention force: $(cat "$T/resume.err")"
code=$(api -o "$T/http.json" -w '%{http_code}' -X POST "$HTTP/api/jobs/$JOB/resume")
[[ $code == 409 ]] || fail "plain resume over HTTP: expected 409, got $code"
"$ALMANAC" resume "$JOB" --force --note "e2e revive on postgres"
status_is active || fail "force resume did not make the job active"
"$ALMANAC" audit "$JOB" --json | grep -q '"action": "resume:force"' || fail "no resume:force in the audit"
"$REPLAY" --store "$STORE" events --job "$JOB" --json >"$T/events.jsonl"
revived=$(grep '"type":"JobRevived"' "$T/events.jsonl") || fail "no JobRevived in the log"
grep -q '"cleared_errors":3' <<<"$revived" || fail "JobRevived without cleared_errors 3: $revived"

# create_loop FILE: HTTP creates one after another until killed; the id of every acknowledged
# (201) create goes to FILE, and every other answer's code to FILE.refused.
create_loop() {
  local file=$1 i=0 code body
  while :; do
    i=$((i + 1))
    body=$(curl -s -m 30 -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" -X POST \
      -H 'Content-Type: application/json' \
      -d "{\"name\": \"load-$RANDOM-$i-$BASHPID\", \"schedule\": {\"kind\": \"every\", \"every\": \"1h\"},
           \"target\": {\"kind\": \"exec\", \"argv\": [\"true\"]}}" "$HTTP/api/jobs") || true
    code=$(tail -1 <<<"$body")
    if [[ $code == 201 ]]; then
      sed -n 1p <<<"$body" | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4 >>"$file"
    else
      echo "$code" >>"$file.refused"
    fi
  done
}
count() { wc -l <"$1"; }
at_least() { (($(count "$1") >= $2)); }
# every_job_exists FILE: each id in FILE answers 200.
every_job_exists() {
  local id code missing=0
  while read -r id; do
    code=$(api -o /dev/null -w '%{http_code}' "$HTTP/api/jobs/$id")
    [[ $code == 200 ]] || { echo "missing: $id (HTTP $code)" >&2; missing=$((missing + 1)); }
  done <"$1"
  ((missing == 0))
}

step "kill -9 while creates go on: every acknowledged create survives"
: >"$T/acked-1"; : >"$T/acked-1.refused"
create_loop "$T/acked-1" &
LOAD_PID=$!
WAIT_SECONDS=120 wait_for at_least "$T/acked-1" 300 || fail "fewer than 300 creates acknowledged"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=
echo "acknowledged before the kill: $(count "$T/acked-1")"
start_pg_daemon
every_job_exists "$T/acked-1" || fail "acknowledged creates lost after kill -9"

step "PostgreSQL crashes under load: creates fail cleanly, health shows it, nothing is lost"
metric() { api "$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
runs_now() { metric 'almanac_runs_total{outcome="failed"}'; }
: >"$T/acked-2"; : >"$T/acked-2.refused"
create_loop "$T/acked-2" &
LOAD_PID=$!
wait_for at_least "$T/acked-2" 50 || fail "no creates acknowledged before the crash"
"$PG" crash "$PG_DIR"
disconnected() { health_json | grep -q '"connected": false'; }
WAIT_SECONDS=60 wait_for disconnected || fail "health never showed the connection down"
[[ $(metric 'almanac_store_connected{backend="postgresql"}') == 0 ]] || fail "/metrics: still connected"
health_json | grep -q '"last_error": ".*PostgreSQL' || fail "health has no storage error: $(health_json)"
"$ALMANAC" health | grep -q "NOT CONNECTED" || fail "the CLI's health does not say it"
# A create made while the server is down is refused with 503 (retry later), never 500 or a
# hang. (The loop's own create in flight at the crash may instead wait for the server: its
# COMMIT was cut off, so its answer waits until the log can tell whether it committed.)
code=$(api -m 20 -o "$T/down.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"name": "while-down", "schedule": {"kind": "every", "every": "1h"},
       "target": {"kind": "exec", "argv": ["true"]}}' "$HTTP/api/jobs") || true
[[ $code == 503 ]] || fail "a create while PostgreSQL is down: expected 503, got $code $(cat "$T/down.json")"
refused=$(sort -u "$T/acked-2.refused" | tr '\n' ' ')
[[ -z $refused || $refused == "503 " ]] || fail "creates refused with codes other than 503: $refused"
before=$(count "$T/acked-2")
"$PG" restart "$PG_DIR"
connected() { health_json | grep -q '"connected": true'; }
WAIT_SECONDS=60 wait_for connected || fail "the daemon did not reconnect by itself"
[[ $(metric 'almanac_store_connected{backend="postgresql"}') == 1 ]] || fail "/metrics: not reconnected"
(($(metric almanac_store_connection_losses_total) >= 1)) || fail "/metrics: no connection loss counted"
(($(metric almanac_store_reconnects_total) >= 1)) || fail "/metrics: no reconnect counted"
[[ $(metric almanac_log_queued_events) =~ ^[0-9]+$ ]] || fail "/metrics: no writer queue gauge"
more_acked() { (($(count "$T/acked-2") >= before + 50)); }
WAIT_SECONDS=60 wait_for more_acked || fail "creates did not resume after the restart"
kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=
echo "acknowledged around the crash: $(count "$T/acked-2"), refused: $(count "$T/acked-2.refused")"
every_job_exists "$T/acked-2" || fail "acknowledged creates lost in the PostgreSQL crash"
# The failing job's runs went on: its outcomes, refused while the server was down, were retried.
"$ALMANAC" pause "$JOB" --note "stop it before the restart" 2>/dev/null || true
failed_before=$(runs_now)
"$ALMANAC" resume "$JOB" --force --note "after the crash" 2>/dev/null \
  || "$ALMANAC" resume "$JOB" --note "after the crash"
more_runs() { (($(runs_now) > failed_before)); }
WAIT_SECONDS=60 wait_for more_runs || fail "the job does not run after the PostgreSQL restart"

step "after a restart of the daemon too, everything acknowledged is there"
stop_daemon
start_pg_daemon
every_job_exists "$T/acked-1" || fail "lost after the daemon restart (first batch)"
every_job_exists "$T/acked-2" || fail "lost after the daemon restart (second batch)"
# The history projection catches up after a start on its own time (slower under ASan).
audit_has_force() { "$ALMANAC" audit "$JOB" --json | grep -q '"action": "resume:force"'; }
wait_for audit_has_force || fail "the audit lost resume:force"
stop_daemon
"$REPLAY" --store "$STORE" verify || fail "verify failed on the PostgreSQL log"

step "the password is printed nowhere"
if grep -rq -- "$PASSWORD" "$T"/daemon.* "$T"/*.json "$T"/*.err 2>/dev/null; then
  fail "the store password appears in the daemon's output or the tools' answers"
fi
rc=0
"$ALMANACD" --data "$T/other" --store "postgresql://almanac:$PASSWORD@/nosuchdb?host=$PG_DIR&port=5432" \
  --admin 127.0.0.1:0 --http 127.0.0.1:0 >"$T/bad.out" 2>"$T/bad.err" || rc=$?
[[ $rc != 0 ]] || fail "almanacd started on a database that does not exist"
grep -q nosuchdb "$T/bad.err" || fail "the error does not name the database: $(cat "$T/bad.err")"
if grep -q -- "$PASSWORD" "$T/bad.out" "$T/bad.err"; then fail "the password was printed"; fi
rc=0
"$REPLAY" --store "postgresql://almanac:$PASSWORD@/nosuchdb?host=$PG_DIR&port=5432" stats \
  >"$T/bad-replay.out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "almanac-replay read a database that does not exist"
if grep -q -- "$PASSWORD" "$T/bad-replay.out"; then fail "almanac-replay printed the password"; fi

echo "PASS"
