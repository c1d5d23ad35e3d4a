#!/usr/bin/env bash
# Bad input through the CLI door: the real almanac client against the real almanacd. Each row is
# a command line an operator could type (malformed cron in every field, unknown zone, bad
# intervals and instants, names, oversized bodies, bad policy values, unknown jobs, commands the
# job's status refuses, unknown flags) and must exit with its code (2 usage, 1 refused) and a
# message on stderr naming what to fix. The log, exported by almanac-replay from the live data
# directory, must be byte-for-byte what it was before the table, after every row.
# Usage: cli_bad_input.sh ALMANACD ALMANAC ALMANAC_REPLAY
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
WAIT_SECONDS=60
source "$(dirname "$0")/daemon_test_lib.sh" cli-bad

"$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --http 127.0.0.1:0 >"$T/daemon.out" \
  2>"$T/daemon.err" &
DAEMON_PID=$!
wait_for grep -q '^ready ' "$T/daemon.out" || fail "almanacd did not print its ready line"
[[ $(grep '^ready ' "$T/daemon.out") =~ admin=([0-9.]+:[0-9]+) ]] || fail "bad ready line"
export ALMANAC_CONNECT=${BASH_REMATCH[1]}
use_admin_credentials "$T/data"

# Jobs in every status a command can be refused in; none fires again for a day.
status_is() { "$ALMANAC" show "$1" --json | grep -q "\"status\": \"$2\""; }
"$ALMANAC" create --name daily --every 24h --exec -- true >/dev/null
"$ALMANAC" create --name paused-job --every 24h --exec -- true >/dev/null
"$ALMANAC" pause paused-job >/dev/null
"$ALMANAC" create --name failed-job --every 1s --max-errors 1 --exec -- false >/dev/null
done_at=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
"$ALMANAC" create --name done-job --at "$done_at" --exec -- true >/dev/null
wait_for status_is failed-job failed || fail "failed-job never became failed"
wait_for status_is done-job completed || fail "done-job never completed"
# The failed job's last run has been recorded (its outcome made it failed): the log is quiet.
"$REPLAY" --data "$T/data" export --jsonl >"$T/baseline.jsonl"
[[ -s $T/baseline.jsonl ]] || fail "empty baseline export"

rows=0
failures=0
# row EXPECTED_EXIT KEY_WORD -- ARGS...
row() {
  local want=$1 key=$2
  shift 3
  rows=$((rows + 1))
  local rc=0
  "$ALMANAC" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  local problem=
  [[ $rc == "$want" ]] || problem="exit $rc, expected $want"
  grep -qF -- "$key" "$T/err" || problem="${problem:+$problem; }stderr lacks '$key'"
  "$REPLAY" --data "$T/data" export --jsonl >"$T/now.jsonl"
  cmp -s "$T/baseline.jsonl" "$T/now.jsonl" || problem="${problem:+$problem; }the log changed"
  if [[ -n $problem ]]; then
    failures=$((failures + 1))
    echo "row $rows: almanac ${*:1:8}: $problem" >&2
    echo "  stderr: $(head -c 400 "$T/err")" >&2
  fi
}

exec_true=(--exec -- true)
# Schedules: missing, doubled, cron in every field, zones, intervals, instants.
row 2 "give exactly one of --cron, --every, --at" -- create --name fresh "${exec_true[@]}"
row 2 "one of" -- create --name fresh --every 1h --cron '* * * * *' "${exec_true[@]}"
row 2 "minute: 60 is outside 0-59" -- create --name fresh --cron '60 * * * *' "${exec_true[@]}"
row 2 "hour: 24 is outside 0-23" -- create --name fresh --cron '0 24 * * *' "${exec_true[@]}"
row 2 "day-of-month: 32 is outside 1-31" -- create --name fresh --cron '0 0 32 * *' "${exec_true[@]}"
row 2 "month: 13 is outside 1-12" -- create --name fresh --cron '0 0 1 13 *' "${exec_true[@]}"
row 2 "day-of-week: 8 is outside 0-7" -- create --name fresh --cron '0 0 * * 8' "${exec_true[@]}"
row 2 "field" -- create --name fresh --cron '* * *' "${exec_true[@]}"
row 2 "never" -- create --name fresh --cron '0 0 30 2 *' "${exec_true[@]}"
row 2 "Mars/Olympus_Mons" -- create --name fresh --cron '0 9 * * *' --tz Mars/Olympus_Mons "${exec_true[@]}"
row 2 "every" -- create --name fresh --every 0s "${exec_true[@]}"
row 2 "every" -- create --name fresh --every=-5s "${exec_true[@]}"
row 2 "9x" -- create --name fresh --every 9x "${exec_true[@]}"
row 2 "every" -- create --name fresh --every 99999999999999999999d "${exec_true[@]}"
row 2 "every" -- create --name fresh --every 400d "${exec_true[@]}"
row 2 "past" -- create --name fresh --at 2020-01-01T00:00:00Z "${exec_true[@]}"
row 2 "tomorrow" -- create --name fresh --at tomorrow "${exec_true[@]}"
# Targets.
row 2 "give exactly one of --exec" -- create --name fresh --every 1h
row 2 "--exec needs the command" -- create --name fresh --every 1h --exec
row 2 "url" -- create --name fresh --every 1h --http ftp://example.com/x
row 2 "32 KiB" -- create --name fresh --every 1h --http http://127.0.0.1:9/x --body "$(head -c 33000 /dev/zero | tr '\0' x)"
row 2 "NAME=VALUE" -- create --name fresh --every 1h --env NOEQUALSSIGN "${exec_true[@]}"
# Secret references.
row 2 "is not NAME=REF" -- create --name fresh --every 1h --env-from-env NOEQUALSSIGN "${exec_true[@]}"
row 2 "names a variable twice" -- create --name fresh --every 1h --env A=1 --env-from-file A=db "${exec_true[@]}"
row 2 "must be a plain file name" -- create --name fresh --every 1h --env-from-file A=../db "${exec_true[@]}"
row 2 "ALMANAC_ variables are the daemon's own" -- create --name fresh --every 1h --env-from-env A=ALMANAC_SECRET "${exec_true[@]}"
row 2 "is not a variable name" -- create --name fresh --every 1h --env-from-env 'A=B C' "${exec_true[@]}"
row 2 "apply to --http" -- create --name fresh --every 1h --header-from-env 'X: V' "${exec_true[@]}"
row 2 "apply to --exec" -- create --name fresh --every 1h --env-from-env A=B --http http://127.0.0.1:9/x
row 2 "is not 'Name: REF'" -- create --name fresh --every 1h --header-from-file nocolon --http http://127.0.0.1:9/x
# Names.
row 2 "name" -- create --name '' --every 1h "${exec_true[@]}"
row 2 "name" -- create --name "$(head -c 300 /dev/zero | tr '\0' n)" --every 1h "${exec_true[@]}"
row 1 "already exists" -- create --name DAILY --every 1h "${exec_true[@]}"
row 2 "--name" -- create --every 1h "${exec_true[@]}"
# Policies.
row 2 "max-errors" -- create --name fresh --every 1h --max-errors=-1 "${exec_true[@]}"
row 2 "max-errors" -- create --name fresh --every 1h --max-errors ten "${exec_true[@]}"
row 2 "backoff" -- create --name fresh --every 1h --backoff soon "${exec_true[@]}"
row 2 "timeout" -- create --name fresh --every 1h --timeout=-1s "${exec_true[@]}"
row 2 "misfire" -- create --name fresh --every 1h --misfire sometimes "${exec_true[@]}"
row 2 "overlap" -- create --name fresh --every 1h --overlap maybe "${exec_true[@]}"
row 2 "jitter" -- create --name fresh --every 1h --jitter lots "${exec_true[@]}"
# Unknown jobs and ids.
row 1 "no-such-job" -- pause no-such-job
row 1 "no-such-job" -- resume no-such-job
row 1 "no-such-job" -- run no-such-job
row 1 "no-such-job" -- delete no-such-job
row 1 "0000000000000000" -- show 0000000000000000
row 2 "no job id or name given" -- pause ''
# Pages: a cursor that is not one, one of another list, a limit over the largest page.
row 2 "cursor" -- jobs --cursor nonsense
row 2 "cursor" -- runs daily --cursor j0000000000000001
row 2 "cursor" -- audit daily --cursor r0000000000000001 --all
row 2 "1000" -- jobs --limit 1001
row 2 "1000" -- audit --limit 5000
# What a status refuses.
row 1 "force" -- resume failed-job
row 1 "completed" -- resume done-job --force
row 1 "completed" -- run done-job
row 1 "paused" -- run paused-job
row 1 "failed" -- run failed-job
# The command line itself.
row 2 "unknown command 'explode'" -- explode
row 2 "--forcefully" -- resume failed-job --forcefully
row 2 "never" -- --request-timeout never jobs
row 2 "extra-argument" -- pause daily extra-argument

echo "rows: $rows, failures: $failures"
((failures == 0)) || fail "$failures of $rows rows"
((rows >= 45)) || fail "only $rows rows"
