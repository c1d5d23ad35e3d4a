#!/usr/bin/env bash
# End to end: the daemon's own file descriptors run out and no job pays for it. The real almanacd
# runs under a hard limit of 256 descriptors (so raising its soft limit to the hard one cannot
# help), with two exec jobs every second that fail for good after 3 consecutive errors. An
# unauthenticated client opens idle TCP connections to the admin port until the daemon cannot
# accept more, and holds them for several run intervals: every run in that window finds no
# descriptor for its pipe. Neither job may become failed or count an error; the metrics count
# the daemon's failures; once the connections close the jobs run again.
# Usage: e2e_fd_exhaustion.sh ALMANACD ALMANAC ALMANAC_REPLAY
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
HERE=$(dirname "$0")
source "$HERE/daemon_test_lib.sh" fds
step() { echo "== $*"; }

step "start almanacd with at most 256 file descriptors"
DAEMON_WRAPPER=(prlimit --nofile=256:256 --)
# The admin front's caps and deadline would stop the flood before the descriptors run out: raised
# here, so that the daemon's own shortage is what this test exercises.
start_daemon --grace 5s --admin-max-connections 1000 --admin-max-connections-per-peer 1000 \
  --admin-handshake-timeout 60s
echo "$READY_LINE"
ADMIN_HOST=${ALMANAC_CONNECT%:*}
ADMIN_PORT=${ALMANAC_CONNECT##*:}
grep -q 'Max open files *256 *256' "/proc/$DAEMON_PID/limits" || fail "the limit did not apply: $(grep 'open files' "/proc/$DAEMON_PID/limits")"

step "two exec jobs every second, failed after 3 consecutive errors"
JOBS=()
for name in first second; do
  JOBS+=("$("$ALMANAC" create --name "$name" --every 1s --max-errors 3 --exec -- true)")
done
succeeded() { "$ALMANAC" runs "$1" --json | grep -q '"outcome": "succeeded"'; }
for job in "${JOBS[@]}"; do
  wait_for succeeded "$job" || fail "job $job never ran"
done

step "idle connections to the admin port until the daemon has no descriptor left, for 6 s"
HOLD_SECONDS=6
python3 "$HERE/hold_connections.py" "$ADMIN_HOST" "$ADMIN_PORT" 600 "$HOLD_SECONDS" >"$T/held.txt" &
HOLDER=$!
WAIT_SECONDS=60 wait_for test -s "$T/held.txt" || fail "the connections were never all open"
echo "held $(cat "$T/held.txt") connections"
wait "$HOLDER" || fail "the connection holder failed"

step "the connections are closed: the admin port and the jobs answer again"
WAIT_SECONDS=60 wait_for "$ALMANAC" jobs >/dev/null 2>&1 || fail "the admin port never answered again"
"$ALMANAC" jobs

step "the flood did exhaust the daemon: runs in the window found no descriptor"
"$REPLAY" --data "$T/data" events --json >"$T/events.jsonl"
grep -q 'Too many open files' "$T/events.jsonl" \
  || fail "no run hit the descriptor limit: the test did not exhaust the daemon"
grep 'Too many open files' "$T/events.jsonl" | head -2

step "neither job is failed nor counted an error"
for job in "${JOBS[@]}"; do
  "$ALMANAC" show "$job" --json >"$T/show.json"
  grep -q '"status": "active"' "$T/show.json" || fail "job $job is not active: $(cat "$T/show.json")"
  grep -q '"consecutive_errors": 0' "$T/show.json" \
    || fail "job $job counted errors: $(cat "$T/show.json")"
done
! grep -q '"type":"JobFailed"' "$T/events.jsonl" || fail "a job was failed by the daemon's shortage"
! grep -q '"type":"RunFailed"' "$T/events.jsonl" \
  || fail "a run was counted as the job's failure: $(grep '"type":"RunFailed"' "$T/events.jsonl" | head -1)"

step "the metrics and the run history tell the daemon's failures"
api "$HTTP/metrics" >"$T/metrics.txt"
grep -Eq '^almanac_infra_failures_total [1-9][0-9]*$' "$T/metrics.txt" \
  || fail "no infra failures in /metrics: $(grep infra "$T/metrics.txt")"
grep -E '^almanac_infra_(failures|retries)_total ' "$T/metrics.txt"
grep -Eq '^almanac_jobs\{status="failed"\} 0$' "$T/metrics.txt" || fail "/metrics counts failed jobs"
"$ALMANAC" runs "${JOBS[0]}" --json | grep -q 'daemon resource: ' \
  || fail "the run history does not name the daemon's resource"

step "runs succeed again"
successes() { api "$HTTP/metrics" | sed -n 's/^almanac_runs_total{outcome="succeeded"} //p'; }
before=$(successes)
more_successes() { (($(successes) >= before + 4)); }
wait_for more_successes || fail "the jobs do not run again: $before successes, then $(successes)"
for job in "${JOBS[@]}"; do
  "$ALMANAC" show "$job" --json | grep -q '"status": "active"' || fail "job $job is not active"
done

step "SIGTERM stops the daemon with exit 0"
stop_daemon
echo "PASS"
