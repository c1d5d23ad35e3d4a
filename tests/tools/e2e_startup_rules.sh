#!/usr/bin/env bash
# End to end: what the real almanacd checks before it serves anything. An existing data
# directory keeps its mode (a shared 1777 one keeps its sticky bit; almanacd warns), missing
# parents are created 0700, secrets and tokens under 16 bytes are refused, and so is a config file
# holding a secret that others can read.
# Usage: e2e_startup_rules.sh ALMANACD
set -euo pipefail

ALMANACD=$1
source "$(dirname "$0")/daemon_test_lib.sh" startup
step() { echo "== $*"; }

# Starts almanacd on DIR with the rest of the arguments, waits for its ready line, stops it.
start_and_stop() {
  local dir=$1; shift
  : >"$T/daemon.out"
  "$ALMANACD" --data "$dir" --admin 127.0.0.1:0 --http 127.0.0.1:0 "$@" \
    >"$T/daemon.out" 2>>"$T/daemon.err" &
  DAEMON_PID=$!
  wait_for grep -q '^ready ' "$T/daemon.out" || fail "almanacd did not print its ready line"
  kill -TERM "$DAEMON_PID"
  wait "$DAEMON_PID" || fail "almanacd did not stop cleanly"
  DAEMON_PID=
}

mode_of() { stat -c %a "$1"; }

step "an existing shared directory keeps its mode and sticky bit"
mkdir "$T/shared"
chmod 1777 "$T/shared"
start_and_stop "$T/shared"
[[ $(mode_of "$T/shared") == 1777 ]] || fail "the data directory's mode became $(mode_of "$T/shared")"
grep -q "accessible to others (mode 1777)" "$T/daemon.err" || fail "no warning about the shared directory"

step "missing parents are created 0700"
start_and_stop "$T/a/b/data"
for d in "$T/a" "$T/a/b" "$T/a/b/data"; do
  [[ $(mode_of "$d") == 700 ]] || fail "$d was created $(mode_of "$d")"
done

step "short secrets and tokens are refused"
for flag in --secret --token; do
  rc=0
  "$ALMANACD" --data "$T/short" --admin 127.0.0.1:0 --http 127.0.0.1:0 "$flag" 0123456789abcde \
    >/dev/null 2>"$T/short.err" || rc=$?
  [[ $rc == 2 ]] || fail "$flag of 15 bytes: exit $rc"
  grep -q "at least 16 bytes, got 15" "$T/short.err" || fail "$flag: $(cat "$T/short.err")"
done
start_and_stop "$T/short" --token 0123456789abcdef

step "a config file holding a secret must not be readable by others"
printf '{"secret": "0123456789abcdef0123"}\n' >"$T/almanacd.json"
chmod 644 "$T/almanacd.json"
rc=0
"$ALMANACD" --data "$T/conf" --admin 127.0.0.1:0 --http 127.0.0.1:0 --config "$T/almanacd.json" \
  >/dev/null 2>"$T/conf.err" || rc=$?
[[ $rc == 2 ]] || fail "a 0644 config with a secret: exit $rc"
grep -q "readable by others (mode 0644): chmod 600 it" "$T/conf.err" || fail "$(cat "$T/conf.err")"
chmod 600 "$T/almanacd.json"
start_and_stop "$T/conf" --config "$T/almanacd.json"
echo "PASS"
