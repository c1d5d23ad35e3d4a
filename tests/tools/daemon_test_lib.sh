# Shared by the end-to-end scripts that run the real almanacd: a temporary directory $T removed
# at exit with the daemon ($DAEMON_PID) killed, `fail` (prints the daemon's stderr tail) and
# `wait_for` (polls a command every 0.2 s for up to $WAIT_SECONDS, default 30).
# Usage: source "$(dirname "$0")/daemon_test_lib.sh" NAME   (T is /tmp/almanac-NAME-XXXXXX)
T=$(mktemp -d "/tmp/almanac-$1-XXXXXX")
DAEMON_PID=
cleanup() {
  if [[ -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [[ -f $T/daemon.err ]] && { echo "--- daemon stderr:" >&2; tail -30 "$T/daemon.err" >&2; }
  exit 1
}

wait_for() {
  local deadline=$((SECONDS + ${WAIT_SECONDS:-30}))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
