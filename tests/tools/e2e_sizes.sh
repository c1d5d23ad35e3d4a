#!/usr/bin/env bash
# Bounded sizes end to end, on the real almanacd, curl-free (a Python client, sizes_client.py):
#   attack: 2,000 jobs of ~16 KiB each, then 8 concurrent GET /api/jobs: every reply is one page,
#           RSS grows by less than 200 MiB and health answers within 1 s; then a walk over pages
#           of 150 with creates and deletes between pages lists each job that lived throughout
#           exactly once; bad cursors and limits are 400; the CLI pages (--limit, --cursor, --all).
#   cap:    --max-jobs 40: the 41st create is 507 limit_exceeded (CLI exit 1), a delete frees
#           room; a restart with a config max_jobs of 10 recovers all 40 and refuses only creates;
#           --max-jobs 0 (and a config max_jobs of 0, -5 or a string) is a usage error.
# Usage: e2e_sizes.sh ALMANACD ALMANAC attack|cap
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
PART=$3
source "$(dirname "$0")/daemon_test_lib.sh" sizes
CLIENT=(python3 "$(dirname "$0")/sizes_client.py")
# count KEY: the length of the array KEY of the JSON object on stdin.
count() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)[sys.argv[1]]))' "$1"; }
TOKEN=sizes-test-token-0123456789
step() { echo "== $*"; }
client() { "${CLIENT[@]}" "$HTTP" "$TOKEN" "$DAEMON_PID" "$@"; }

if [[ $PART == attack ]]; then
  step "start almanacd and create 2000 jobs of ~16 KiB"
  start_daemon --token "$TOKEN"
  client create 2000 || fail "bulk create"
  step "8 concurrent GET /api/jobs"
  client attack || fail "the lists are not bounded"
  step "a walk over pages amid creates and deletes"
  client walk || fail "the walk"

  step "the CLI pages"
  live=$(curl -sf -H "Authorization: Bearer $TOKEN" "$HTTP/api/health" \
    | python3 -c 'import json,sys; h=json.load(sys.stdin); print(h["jobs"]["active"])' 2>/dev/null \
    || true)
  all=$("$ALMANAC" jobs --json | count jobs)
  [[ -z $live || $all == "$live" ]] || fail "almanac jobs listed $all of $live jobs"
  ((all > 1900)) || fail "almanac jobs listed only $all jobs"
  page=$("$ALMANAC" jobs --limit 7 --json)
  n=$(count jobs <<<"$page")
  [[ $n == 7 ]] || fail "almanac jobs --limit 7 listed $n"
  cursor=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])' <<<"$page")
  next=$("$ALMANAC" jobs --limit 7 --cursor "$cursor" --json)
  python3 - "$page" "$next" <<'EOF' || fail "the second CLI page does not follow the first"
import json, sys
a, b = (json.loads(x)["jobs"] for x in sys.argv[1:3])
assert len(b) == 7 and a[-1]["id"] < b[0]["id"], (a[-1]["id"], b[0]["id"])
EOF
  "$ALMANAC" jobs --limit 1000 --cursor "$cursor" --all --json >"$T/rest.json"
  rest=$(count jobs <"$T/rest.json")
  grep -q next_cursor "$T/rest.json" && fail "--all printed a next_cursor"
  [[ $((rest + 7)) == "$all" ]] || fail "--cursor with --all listed $rest after the first 7 of $all"
  "$ALMANAC" jobs --limit 3 >"$T/table" 2>"$T/hint"
  grep -q -- '--cursor j' "$T/hint" || fail "no hint where the next page starts: $(cat "$T/hint")"
  rc=0
  "$ALMANAC" jobs --cursor nonsense 2>"$T/bad" || rc=$?
  [[ $rc == 2 ]] || fail "a bad cursor: expected exit 2, got $rc"
  grep -q cursor "$T/bad" || fail "no clear message: $(cat "$T/bad")"
  rc=0
  "$ALMANAC" audit --limit 1001 2>"$T/bad" || rc=$?
  [[ $rc == 2 ]] || fail "--limit 1001: expected exit 2, got $rc"
  n=$("$ALMANAC" audit --all --json | count entries)
  ((n > 2000)) || fail "audit --all listed $n entries"
  stop_daemon
elif [[ $PART == cap ]]; then
  step "--max-jobs 0 is a usage error"
  rc=0
  "$ALMANACD" --data "$T/zero" --max-jobs 0 --admin 127.0.0.1:0 --http 127.0.0.1:0 \
    2>"$T/zero.err" || rc=$?
  [[ $rc == 2 ]] || fail "--max-jobs 0: expected exit 2, got $rc"
  grep -q "max-jobs" "$T/zero.err" || fail "no clear message: $(cat "$T/zero.err")"
  for bad in 0 '"many"' -5; do
    echo "{\"max_jobs\": $bad}" >"$T/config.json"
    rc=0
    "$ALMANACD" --data "$T/zero" --config "$T/config.json" --admin 127.0.0.1:0 \
      --http 127.0.0.1:0 2>"$T/zero.err" || rc=$?
    [[ $rc == 2 ]] || fail "config max_jobs $bad: expected exit 2, got $rc"
    grep -q "max" "$T/zero.err" || fail "no clear message: $(cat "$T/zero.err")"
  done

  step "the 41st create is refused at --max-jobs 40"
  start_daemon --token "$TOKEN" --max-jobs 40
  client create 40 capped || fail "creates under the cap"
  client cap 40 || fail "the cap"
  rc=0
  "$ALMANAC" create --name cli-over --every 1h --exec -- true 2>"$T/over" || rc=$?
  [[ $rc == 1 ]] || fail "CLI create at the cap: expected exit 1, got $rc"
  grep -q "cap of 40" "$T/over" || fail "no clear message: $(cat "$T/over")"
  "$ALMANAC" delete capped-0 >/dev/null
  "$ALMANAC" create --name in-its-place --every 1h --exec -- true >/dev/null \
    || fail "a delete did not free room"
  client cap 40 || fail "the cap after one delete and one create"
  stop_daemon

  step "a log of 40 jobs recovers under a config max_jobs of 10 and refuses only creates"
  echo '{"max_jobs": 10}' >"$T/cap.json"
  start_daemon --token "$TOKEN" --config "$T/cap.json"
  n=$("$ALMANAC" jobs --limit 7 --all --json | count jobs)
  [[ $n == 40 ]] || fail "recovered $n of 40 jobs"
  "$ALMANAC" pause capped-3 >/dev/null || fail "a recovered job over the cap takes commands"
  client cap 10 || fail "the lower cap"
  stop_daemon
else
  fail "unknown part $PART"
fi
echo "PASS"
