#!/usr/bin/env bash
# almanac-replay on both backends, end to end: the real almanacd writes a RocksDB log with jobs
# that ran, failed, were force-revived, paused, run by hand and deleted; `copy` moves it into a
# throwaway PostgreSQL, from there into a new data directory and into a second database; the
# four exports are byte identical, and every other replay command answers the same on the
# PostgreSQL copy as on the original. A copy into a non-empty destination is refused and changes
# nothing; an empty database is refused and stays empty; no message ever shows the password of
# a URI.
# Usage: e2e_replay_postgres.sh ALMANACD ALMANAC ALMANAC_REPLAY PG_CLUSTER_SH
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
PG_CLUSTER=$4
source "$(dirname "$0")/daemon_test_lib.sh" replay-pg
step() { echo "== $*"; }

PG_DIR=
stop_pg() { [[ -z $PG_DIR ]] || "$PG_CLUSTER" stop "$PG_DIR"; }
trap 'stop_pg; cleanup' EXIT

status_is() { "$ALMANAC" show "$1" --json | grep -q "\"status\": \"$2\""; }
runs_at_least() { (($("$ALMANAC" runs "$1" --json | grep -c '"outcome"') >= $2)); }

step "a RocksDB log with real content from almanacd"
start_daemon --grace 5s
FAILS=$("$ALMANAC" create --name always-fails --every 1s --max-errors 3 --backoff 250ms \
  --exec -- false)
OK_JOB=$("$ALMANAC" create --name succeeds --every 1s --exec -- true)
HAND=$("$ALMANAC" create --name by-hand --every 1h --exec -- true)
GONE=$("$ALMANAC" create --name deleted-later --every 1h --exec -- true)
wait_for status_is "$FAILS" failed || fail "always-fails never became failed"
"$ALMANAC" resume "$FAILS" --force --note "e2e revive"
"$ALMANAC" pause "$FAILS" --note "hold still"
wait_for runs_at_least "$OK_JOB" 2 || fail "succeeds did not run twice"
"$ALMANAC" pause "$OK_JOB"
"$ALMANAC" run "$HAND"
wait_for runs_at_least "$HAND" 1 || fail "by-hand did not run"
"$ALMANAC" delete "$GONE" --note "e2e delete"
stop_daemon
DATA=$T/data

step "a throwaway PostgreSQL"
out=$("$PG_CLUSTER" start)
PG_DIR=$(sed -n 1p <<<"$out")
PSQL=(/usr/lib/postgresql/15/bin/psql -X -q -t -A "$(sed -n 2p <<<"$out")")
for db in copy1 copy2 empty; do "${PSQL[@]}" -c "CREATE DATABASE $db"; done
uri() { echo "postgresql://almanac@/$1?host=$PG_DIR"; }
# The same databases named with a password (the cluster trusts local users and ignores it): it
# must never appear in anything the tool prints.
SECRET=s3cret-pw-0123
secret_uri() { echo "postgresql://almanac:$SECRET@/$1?host=$PG_DIR"; }
PG1=$(secret_uri copy1)
no_secret() { ! grep -q "$SECRET" "$@" || fail "the password is in $*: $(grep "$SECRET" "$@")"; }

step "copy RocksDB -> PostgreSQL"
"$REPLAY" --data "$DATA" copy --to "$PG1" >"$T/copy1.out" 2>&1 || { cat "$T/copy1.out"; fail "copy to PostgreSQL"; }
cat "$T/copy1.out"
no_secret "$T/copy1.out"
grep -Eq '^copied [0-9]+ streams, [0-9]+ events .* events/s\)$' "$T/copy1.out" || fail "no summary"
grep -q '^OK: the destination verifies with 0 problems; compared with the source, 0 differences$' \
  "$T/copy1.out" || fail "the copy was not verified"

step "copy PostgreSQL -> a new data directory, and PostgreSQL -> another database"
"$REPLAY" --store "$PG1" copy --to "$T/back" >"$T/copy2.out" 2>&1 || { cat "$T/copy2.out"; fail "copy back to RocksDB"; }
cat "$T/copy2.out"
"$REPLAY" --store "$(uri copy1)" copy --to "$(uri copy2)" >"$T/copy3.out" 2>&1 || { cat "$T/copy3.out"; fail "copy to another database"; }
no_secret "$T/copy2.out"

step "the exports of all four are byte identical"
"$REPLAY" --data "$DATA" export --jsonl >"$T/export.rocks"
"$REPLAY" --store "$PG1" export --jsonl >"$T/export.pg"
"$REPLAY" --store "$T/back" export --jsonl >"$T/export.back"
"$REPLAY" --store "$(uri copy2)" export --jsonl >"$T/export.pg2"
events=$(wc -l <"$T/export.rocks")
((events > 20)) || fail "only $events events in the original log"
for t in JobCreated RunFailed JobFailed JobRevived JobPaused RunSucceeded JobDeleted; do
  grep -q "\"type\":\"$t\"" "$T/export.rocks" || fail "no $t in the original log"
done
grep -q '"trigger":"manual"' "$T/export.rocks" || fail "no manual run in the original log"
cmp "$T/export.rocks" "$T/export.pg" || fail "the PostgreSQL export differs"
cmp "$T/export.rocks" "$T/export.back" || fail "the RocksDB round-trip export differs"
cmp "$T/export.rocks" "$T/export.pg2" || fail "the second database's export differs"
echo "$events events, four identical exports"

step "every other replay command answers the same on the PostgreSQL copy"
same() {
  local name=$1; shift
  local rc_a=0 rc_b=0
  # stdout only: RocksDB may warn on stderr (table files without unique ids).
  "$REPLAY" --data "$DATA" "$@" >"$T/$name.rocks" 2>"$T/$name.rocks.err" || rc_a=$?
  "$REPLAY" --store "$PG1" "$@" >"$T/$name.pg" 2>"$T/$name.pg.err" || rc_b=$?
  [[ $rc_a == 0 ]] || { cat "$T/$name.rocks.err"; fail "$* on RocksDB exited $rc_a"; }
  [[ ! -s $T/$name.pg.err ]] || fail "$* on PostgreSQL printed on stderr: $(cat "$T/$name.pg.err")"
  [[ $rc_a == "$rc_b" ]] || fail "$*: exit $rc_a on RocksDB, $rc_b on PostgreSQL"
  [[ -s $T/$name.rocks ]] || fail "$* printed nothing"
  diff "$T/$name.rocks" "$T/$name.pg" || fail "$* differs between RocksDB and PostgreSQL"
  no_secret "$T/$name.pg" "$T/$name.pg.err"
}
same events events
same events-json --json events
same events-job events --job always-fails
same events-type events --type RunFailed --json
same events-until events --until 10
same state state
same state-json --json state
same state-at state --at 12
same state-job --json state --job "$FAILS"
same audit audit
same audit-json --json audit
same audit-job audit --job succeeds
same runs-fails runs --job "$FAILS"
same runs-ok --json runs --job succeeds
same runs-hand runs --job by-hand
same verify verify
same verify-json --json verify
grep -q '^OK: ' "$T/verify.pg" || fail "verify on PostgreSQL: $(cat "$T/verify.pg")"
# stats: the same but for the directory size, which only RocksDB has.
"$REPLAY" --data "$DATA" --json stats 2>/dev/null | grep -v '"directory_bytes"' >"$T/stats.rocks"
"$REPLAY" --store "$PG1" --json stats >"$T/stats.pg.full"
grep -q '"directory_bytes": null' "$T/stats.pg.full" || fail "stats --json on PostgreSQL: directory_bytes"
grep -v '"directory_bytes"' "$T/stats.pg.full" >"$T/stats.pg"
diff "$T/stats.rocks" "$T/stats.pg" || fail "stats --json differs"
"$REPLAY" --data "$DATA" stats 2>/dev/null | grep -v '^directory size' >"$T/stats-text.rocks"
"$REPLAY" --store "$PG1" stats >"$T/stats-text.pg.full"
grep -q '^directory size: - (RocksDB only' "$T/stats-text.pg.full" || fail "stats on PostgreSQL does not say the size is RocksDB-only"
grep -v '^directory size' "$T/stats-text.pg.full" >"$T/stats-text.pg"
diff "$T/stats-text.rocks" "$T/stats-text.pg" || fail "stats differs"

step "--compare: the original matches its projections, the copy has none and says so"
"$REPLAY" --data "$DATA" audit --compare 2>/dev/null | grep -q '^audit trail matches: ' || fail "audit --compare on the original"
"$REPLAY" --data "$DATA" runs --job always-fails --compare 2>/dev/null | grep -q '^run history matches: ' || fail "runs --compare on the original"
for cmd in "audit --compare" "runs --job always-fails --compare"; do
  rc=0
  # shellcheck disable=SC2086
  "$REPLAY" --store "$PG1" $cmd >"$T/compare.out" 2>&1 || rc=$?
  [[ $rc == 1 ]] || fail "$cmd on the copy: expected exit 1, got $rc"
  grep -q "no history projection to compare with" "$T/compare.out" || fail "unclear: $(cat "$T/compare.out")"
done

step "a copy into a non-empty destination is refused and changes nothing"
refused_copy() {
  local rc=0
  "$REPLAY" "$@" >"$T/refused.out" 2>&1 || rc=$?
  [[ $rc == 1 ]] || { cat "$T/refused.out"; fail "copy $*: expected exit 1, got $rc"; }
  grep -q "is not empty (highest position $events); copy writes only into an empty log, and changed nothing" \
    "$T/refused.out" || fail "unclear refusal: $(cat "$T/refused.out")"
  no_secret "$T/refused.out"
  cat "$T/refused.out"
}
refused_copy --data "$DATA" copy --to "$PG1"
grep -q "postgresql://almanac@" "$T/refused.out" || fail "the refusal does not name the database"
refused_copy --store "$PG1" copy --to "$T/back"
grep -q "$T/back" "$T/refused.out" || fail "the refusal does not name the directory"
"$REPLAY" --store "$PG1" export --jsonl | cmp - "$T/export.rocks" || fail "the refused copy changed PostgreSQL"
"$REPLAY" --store "$T/back" export --jsonl | cmp - "$T/export.rocks" || fail "the refused copy changed the directory"

step "an empty database is refused and stays empty"
rc=0
"$REPLAY" --store "$(secret_uri empty)" events >"$T/empty.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "events on an empty database: expected exit 1, got $rc"
grep -q "no Almanac log in database empty (host " "$T/empty.out" || fail "unclear: $(cat "$T/empty.out")"
no_secret "$T/empty.out"
tables=$("${PSQL[@]/dbname=postgres/dbname=empty}" -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'almanac%'")
[[ $tables == 0 ]] || fail "the empty database has $tables almanac tables after a read"

step "a wrong server or database: the error names it, never the password"
for bad in "postgresql://almanac:$SECRET@/copy1?host=$PG_DIR/nowhere" \
           "postgresql://almanac:$SECRET@/no_such_db?host=$PG_DIR"; do
  rc=0
  "$REPLAY" --store "$bad" stats >"$T/bad.out" 2>&1 || rc=$?
  cat "$T/bad.out"
  [[ $rc == 1 ]] || fail "a wrong URI: expected exit 1, got $rc"
  grep -q "cannot open the log at postgresql://almanac@" "$T/bad.out" || fail "unclear: $(cat "$T/bad.out")"
  no_secret "$T/bad.out"
done

rc=0
"$REPLAY" --store "host=$PG_DIR dbname=copy1 user=almanac password=$SECRET" events >"$T/kv.out" 2>&1 || rc=$?
cat "$T/kv.out"
[[ $rc == 1 ]] || fail "a key=value string: expected exit 1, got $rc"
grep -q "is given as a postgresql:// URI" "$T/kv.out" || fail "unclear: $(cat "$T/kv.out")"
no_secret "$T/kv.out"

step "exactly one of --store and --data"
rc=0
"$REPLAY" --data "$DATA" --store "$PG1" events >/dev/null 2>"$T/both.err" || rc=$?
[[ $rc == 2 ]] || fail "--store and --data: expected exit 2, got $rc"
grep -q "exactly one of --store" "$T/both.err" || fail "unclear: $(cat "$T/both.err")"
rc=0
"$REPLAY" events >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "neither --store nor --data: expected exit 2, got $rc"

echo "PASS"
