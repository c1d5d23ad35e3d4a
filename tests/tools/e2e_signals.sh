#!/usr/bin/env bash
# End to end: what almanacd does with each signal. SIGHUP reopens --log-file (moved away, a new
# file of that name gets the next lines) and the daemon goes on serving; without --log-file it is
# logged and ignored. SIGQUIT, SIGUSR1 and SIGUSR2 stop it cleanly like SIGTERM: exit 0, the log
# ends with "stopped", and a run in progress is stopped with it (nothing of it is left).
# Usage: e2e_signals.sh ALMANACD ALMANAC hup|stop
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
PART=$3
source "$(dirname "$0")/daemon_test_lib.sh" signals
step() { echo "== $*"; }

start_quiet_daemon() { start_daemon --no-http --grace 1s "$@"; }

running() { kill -0 "$DAEMON_PID" 2>/dev/null; }
alive() { [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

stops_cleanly() {
  local sig=$1
  step "$sig stops the daemon cleanly, with its run"
  : >"$T/daemon.err"
  start_quiet_daemon
  mkdir -p "$T/$sig"
  "$ALMANAC" create --name "sleeper-$sig" --at "$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)" \
    --exec -- sh -c 'echo $$ >"$0/pids"; exec sleep 1000' "$T/$sig" >/dev/null
  wait_for test -s "$T/$sig/pids" || fail "the run did not start"
  local run
  run=$(cat "$T/$sig/pids")
  kill "-$sig" "$DAEMON_PID"
  # Bounded: a daemon that ignores the signal is killed after 30 s and the test fails.
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep 30 &
    nap=$!
    wait "$nap"
    kill -KILL "$DAEMON_PID" 2>/dev/null
  ) &
  local watchdog=$!
  local rc=0
  wait "$DAEMON_PID" || rc=$?
  kill "$watchdog" 2>/dev/null || true
  DAEMON_PID=
  [[ $rc == 0 ]] || fail "almanacd exited $rc on $sig (137: it did not stop within 30 s)"
  grep -q "signal SIG$sig: stopping" "$T/daemon.err" || fail "the log does not name $sig"
  tail -1 "$T/daemon.err" | grep -q ' stopped$' || fail "the log does not end with stopped"
  ! alive "$run" || fail "the run $run outlived the daemon's clean stop"
}

hup() {
step "SIGHUP with --log-file: the file is reopened and the daemon goes on"
start_quiet_daemon --log-file "$T/almanacd.log"
grep -q 'listening: admin' "$T/almanacd.log" || fail "the log file has no start-up lines"
[[ ! -s $T/daemon.err ]] || fail "stderr got log lines despite --log-file: $(cat "$T/daemon.err")"
mv "$T/almanacd.log" "$T/almanacd.log.1"
kill -HUP "$DAEMON_PID"
wait_for test -s "$T/almanacd.log" || fail "no new log file after SIGHUP"
grep -q 'SIGHUP: log file .* reopened' "$T/almanacd.log" || fail "the new file: $(cat "$T/almanacd.log")"
running || fail "the daemon died on SIGHUP"
"$ALMANAC" jobs >/dev/null || fail "the daemon does not answer after SIGHUP"
"$ALMANAC" create --name after-hup --every 1h --exec -- true >/dev/null
! grep -q 'reopened' "$T/almanacd.log.1" || fail "the moved file got lines after SIGHUP"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "almanacd did not exit 0 on SIGTERM"
DAEMON_PID=
tail -1 "$T/almanacd.log" | grep -q ' stopped$' || fail "the reopened file does not end with stopped"

step "SIGHUP without --log-file is logged and ignored"
: >"$T/daemon.err"
start_quiet_daemon
kill -HUP "$DAEMON_PID"
wait_for grep -q 'SIGHUP: no --log-file' "$T/daemon.err" || fail "SIGHUP not logged"
running || fail "the daemon died on SIGHUP"
"$ALMANAC" jobs >/dev/null || fail "the daemon does not answer after SIGHUP"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "almanacd did not exit 0 on SIGTERM"
DAEMON_PID=

}

case $PART in
  hup) hup ;;
  stop) for sig in QUIT USR1 USR2; do stops_cleanly "$sig"; done ;;
  *) fail "unknown part '$PART'" ;;
esac
echo "PASS"
