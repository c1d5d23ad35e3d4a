#!/usr/bin/env bash
# End to end: the real almanacd on a temp data dir and free loopback ports, driven by the real
# almanac CLI, curl and almanac-replay. A job running `false` every second fails until it is
# failed; plain resume is refused (CLI exit 1, HTTP 409 naming force); force resume revives it
# and the log shows JobRevived; kill -9 and restart keep everything; verify passes on the
# directory and fails on a copy with a flipped byte in a table file.
# Usage: e2e_force_revive.sh ALMANACD ALMANAC ALMANAC_REPLAY
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
source "$(dirname "$0")/daemon_test_lib.sh" e2e
step() { echo "== $*"; }

status_is() { "$ALMANAC" show "$JOB" --json | grep -q "\"status\": \"$1\""; }

step "start almanacd"
start_daemon --grace 5s
echo "$READY_LINE"

step "an unreachable daemon is exit 3"
rc=0
"$ALMANAC" --data "$T/data" --connect 127.0.0.1:1 jobs 2>/dev/null || rc=$?
[[ $rc == 3 ]] || fail "expected exit 3, got $rc"

step "create a job that always fails"
JOB=$("$ALMANAC" create --name always-fails --every 1s --max-errors 3 --backoff 250ms \
  --exec -- false)
[[ $JOB =~ ^[0-9a-f]{16}$ ]] || fail "create printed '$JOB'"
wait_for status_is failed || fail "the job never became failed"
"$ALMANAC" show "$JOB"

step "plain resume is refused: CLI exit 1"
rc=0
"$ALMANAC" resume "$JOB" 2>"$T/resume.err" || rc=$?
[[ $rc == 1 ]] || fail "expected exit 1, got $rc"
grep -q force "$T/resume.err" || fail "the refusal does not mention force: $(cat "$T/resume.err")"
cat "$T/resume.err"

step "plain resume is refused: HTTP 409 naming force; bad force is 400"
code=$(api -o "$T/http.json" -w '%{http_code}' -X POST "$HTTP/api/jobs/$JOB/resume")
[[ $code == 409 ]] || fail "expected 409, got $code"
grep -q force "$T/http.json" || fail "409 body does not mention force: $(cat "$T/http.json")"
code=$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"force": "yes"}' "$HTTP/api/jobs/$JOB/resume")
[[ $code == 400 ]] || fail "non-boolean force: expected 400, got $code"
code=$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d 'not json' "$HTTP/api/jobs/$JOB/resume")
[[ $code == 400 ]] || fail "non-JSON body: expected 400, got $code"
code=$(api -o /dev/null -w '%{http_code}' "$HTTP/api/jobs/0000000000000bad")
[[ $code == 404 ]] || fail "unknown job: expected 404, got $code"
step "GET /metrics reports failed runs and the log writer's fsync time"
api "$HTTP/metrics" >"$T/metrics.txt"
grep -Eq '^almanac_runs_total\{outcome="failed"\} [1-9]' "$T/metrics.txt" || fail "no failed runs in /metrics"
grep -Eq '^almanac_log_write_seconds_total [0-9.e-]+$' "$T/metrics.txt" || fail "no fsync time in /metrics"
code=$(api -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d '{}' "$HTTP/api/jobs/$JOB")
[[ $code == 405 ]] || fail "wrong method: expected 405, got $code"

step "force resume revives it"
"$ALMANAC" resume "$JOB" --force --note "e2e revive"
"$ALMANAC" pause "$JOB" --note "hold still for the restart"
status_is paused || fail "the job is not paused"

step "almanac-replay on the live directory shows JobRevived"
"$REPLAY" --data "$T/data" events --job "$JOB" --json >"$T/events.jsonl"
revived=$(grep '"type":"JobRevived"' "$T/events.jsonl") || fail "no JobRevived in the log"
echo "$revived"
grep -q '"cleared_errors":3' <<<"$revived" || fail "JobRevived without cleared_errors 3"
grep -q '"next_run_at":"20' <<<"$revived" || fail "JobRevived without next_run_at"

step "audit shows resume:force"
"$ALMANAC" audit "$JOB"
"$ALMANAC" audit "$JOB" --json | grep -q '"action": "resume:force"' || fail "no resume:force in the audit"

step "kill -9 and restart with a bearer token"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
start_daemon --grace 5s --token e2e-token-0123456789
status_is paused || fail "the job is not paused after the restart"
"$ALMANAC" audit "$JOB" --json | grep -q '"action": "resume:force"' || fail "the audit lost resume:force"
"$ALMANAC" runs "$JOB" | grep -q 'exit status 1' || fail "the run history lost the failures"
code=$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/api/jobs/$JOB")
[[ $code == 401 ]] || fail "no token: expected 401, got $code"
code=$(curl -s -o "$T/job.json" -w '%{http_code}' -H 'Authorization: Bearer e2e-token-0123456789' "$HTTP/api/jobs/$JOB")
[[ $code == 200 ]] || fail "with the token: expected 200, got $code"
grep -q '"status":"paused"' "$T/job.json" || fail "HTTP job object: $(cat "$T/job.json")"

step "a second almanacd on the same directory exits with a clear error"
rc=0
"$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --http 127.0.0.1:0 >/dev/null 2>"$T/second.err" || rc=$?
[[ $rc != 0 ]] || fail "the second daemon started"
grep -q "is in use by another" "$T/second.err" || fail "unclear: $(cat "$T/second.err")"

step "SIGTERM stops the daemon with exit 0"
stop_daemon

step "verify passes on the directory"
"$REPLAY" --data "$T/data" verify || fail "verify failed on a good directory"
"$REPLAY" --data "$T/data" audit --compare || fail "the audit projection differs from the log"

step "verify fails on a copy with a flipped byte in its table files"
cp -a "$T/data" "$T/corrupt"
# One byte a third into every table file: which file holds which column family varies from run
# to run, so every one of them is hit.
found=0
for sst in "$T"/corrupt/*.sst; do
  [[ -f $sst ]] || continue
  found=1
  offset=$(($(stat -c %s "$sst") / 3))
  byte=$(od -An -tu1 -j "$offset" -N1 "$sst" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 0xff)))" | dd of="$sst" bs=1 seek="$offset" conv=notrunc status=none
done
((found)) || fail "no table file to corrupt"
rc=0
"$REPLAY" --data "$T/corrupt" verify >"$T/verify.out" || rc=$?
cat "$T/verify.out"
[[ $rc == 1 ]] || fail "verify on a corrupted copy: expected exit 1, got $rc"

echo "PASS"
