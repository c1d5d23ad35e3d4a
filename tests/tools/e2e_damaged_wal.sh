#!/usr/bin/env bash
# End to end: a damaged write-ahead log through the real almanacd, CLI and replay tool. 200
# creates acknowledged over HTTP, kill -9, one byte flipped at 10 % of the live WAL: almanacd
# refuses to start, naming the file and what to run, and leaves the directory as it was;
# almanac-replay verify reports the damage; almanacd --salvage starts, and health and the audit
# trail show the loss, also after a plain restart.
# Usage: e2e_damaged_wal.sh ALMANACD ALMANAC ALMANAC_REPLAY
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
source "$(dirname "$0")/daemon_test_lib.sh" wal
step() { echo "== $*"; }

step "200 acknowledged creates"
start_daemon --grace 5s
for i in $(seq 1 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"name\": \"wal-$i\", \"schedule\": {\"kind\": \"every\", \"every\": \"1h\"},
         \"target\": {\"kind\": \"exec\", \"argv\": [\"true\"]}}" "$HTTP/api/jobs")
  [[ $code == 201 ]] || fail "create $i: HTTP $code"
done
# The acknowledged mark is rewritten once a second while appends go on.
mark_covers() {
  local n
  n=$(awk '{print $3}' "$T/data/ACKNOWLEDGED" 2>/dev/null || echo 0)
  ((n >= 200))
}
wait_for mark_covers || fail "the acknowledged mark never reached 200: $(cat "$T/data/ACKNOWLEDGED")"

step "kill -9, flip one byte at 10 % of the live WAL"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
wal=$(ls "$T"/data/*.log | sort | tail -1)
size=$(stat -c %s "$wal")
((size > 16384)) || fail "the live WAL $wal has only $size bytes"
python3 - "$wal" "$((size / 10))" <<'PY'
import sys
path, offset = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(offset)
    b = f.read(1)
    f.seek(offset)
    f.write(bytes([b[0] ^ 0xFF]))
PY
before=$(cd "$T/data" && ls | grep -v -e '^almanac.lock$' -e '^almanacd.lock$' -e '^LOG' -e '^credentials$' | sort | xargs sha256sum)

step "almanacd refuses to start, names the file and what to run, changes nothing"
rc=0
"$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --http 127.0.0.1:0 >/dev/null 2>"$T/refused.err" || rc=$?
[[ $rc != 0 ]] || fail "almanacd started on a damaged WAL"
grep -q "$(basename "$wal")" "$T/refused.err" || fail "the refusal does not name $wal: $(cat "$T/refused.err")"
grep -q -- "--salvage" "$T/refused.err" || fail "the refusal does not mention --salvage"
grep -q "almanac-replay --data $T/data verify" "$T/refused.err" || fail "the refusal does not say what to run"
after=$(cd "$T/data" && ls | grep -v -e '^almanac.lock$' -e '^almanacd.lock$' -e '^LOG' -e '^credentials$' | sort | xargs sha256sum)
[[ $before == "$after" ]] || fail "the refused start changed the data directory: $(diff <(echo "$before") <(echo "$after"))"
grep critical "$T/refused.err" | head -3

step "almanac-replay verify reports the damage"
rc=0
"$REPLAY" --data "$T/data" verify >"$T/verify.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "verify exited $rc on a damaged WAL: $(cat "$T/verify.out")"
grep -q "wal_damage" "$T/verify.out" || fail "verify did not report wal_damage: $(cat "$T/verify.out")"
grep -q "are lost" "$T/verify.out" || fail "verify did not say what is lost"

step "almanacd --salvage starts; health and the audit trail show the loss"
start_daemon --grace 5s --salvage
"$ALMANAC" health | grep -q "log salvaged: .*are lost" || fail "health does not show the salvage: $("$ALMANAC" health)"
ls -d "$T"/data/salvage-* >/dev/null || fail "no salvage copy in the data directory"
shown_in_audit() { "$ALMANAC" audit --limit 500 | grep -q salvage; }
wait_for shown_in_audit || fail "the audit trail does not show the salvage"
jobs=$("$ALMANAC" jobs --json | grep -c '"name": "wal-' || true)
echo "jobs kept: $jobs of 200"
((jobs < 200)) || fail "a flipped byte at 10 % lost nothing?"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"name": "after-salvage", "schedule": {"kind": "every", "every": "1h"},
       "target": {"kind": "exec", "argv": ["true"]}}' "$HTTP/api/jobs")
[[ $code == 201 ]] || fail "create after the salvage: HTTP $code"

step "a plain restart opens cleanly and still shows the salvage"
stop_daemon
start_daemon --grace 5s
"$ALMANAC" health | grep -q "log salvaged:" || fail "health forgot the salvage after a restart"
"$ALMANAC" show after-salvage >/dev/null || fail "the job created after the salvage is gone"
"$REPLAY" --data "$T/data" verify >"$T/verify2.out" 2>&1 || fail "verify after the salvage: $(cat "$T/verify2.out")"
echo "PASS"
