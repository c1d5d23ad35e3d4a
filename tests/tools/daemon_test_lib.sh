# Shared by the end-to-end scripts that run the real almanacd: a temporary directory $T removed
# at exit with the daemon ($DAEMON_PID) killed, `fail` (prints the daemon's stderr tail) and
# `wait_for` (polls a command every 0.2 s for up to $WAIT_SECONDS, default 30). A failed test
# can leave runs of a killed daemon behind: cleanup kills every process carrying the instance id
# of a data directory under $T and removes its run cgroups, and kills the pids listed in $T/*/pids.
# Usage: source "$(dirname "$0")/daemon_test_lib.sh" NAME   (T is /tmp/almanac-NAME-XXXXXX)
T=$(mktemp -d "/tmp/almanac-$1-XXXXXX")
# The connection records almanacd leaves for the CLI go here, not into the user's own directory.
export XDG_RUNTIME_DIR=$T/runtime
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset ALMANAC_SECRET ALMANAC_TOKEN ALMANAC_DATA ALMANAC_CONNECT
DAEMON_PID=
cleanup() {
  if [[ -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  local id p cg run
  # A test's own pids to kill (one per line), for what a daemon without instance ids leaves.
  for p in $(cat "$T"/*/pids 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  for id in $(cat "$T"/*/instance-id 2>/dev/null); do
    for p in /proc/[0-9]*; do
      grep -qz "^ALMANAC_INSTANCE=$id\$" "$p/environ" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
    for cg in $(find /sys/fs/cgroup -maxdepth 3 -type d -name "almanac-$id" 2>/dev/null); do
      for run in "$cg"/run-*; do
        [[ -d $run ]] || continue
        echo 1 >"$run/cgroup.kill" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$run" 2>/dev/null && break; sleep 0.1; done
      done
      rmdir "$cg" 2>/dev/null || true
    done
  done
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

# start_daemon [ARGS...]: $ALMANACD on $T/data, admin and HTTP on loopback ports the system picks
# (ARGS may add --no-http), prefixed by the command in DAEMON_WRAPPER (e.g. prlimit) when set;
# waits for the ready line (in READY_LINE) and sets DAEMON_PID, ALMANAC_CONNECT, HTTP and TOKEN
# (the bearer token: ARGS' --token, else the one almanacd generated into the data directory).
# The almanac CLI finds the admin secret and its client certificate by itself, as an operator's
# would.
DAEMON_WRAPPER=()
start_daemon() {
  : >"$T/daemon.out"
  "${DAEMON_WRAPPER[@]}" "$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --http 127.0.0.1:0 \
    "$@" >"$T/daemon.out" 2>>"$T/daemon.err" &
  DAEMON_PID=$!
  wait_for grep -q '^ready ' "$T/daemon.out" || fail "almanacd did not print its ready line"
  READY_LINE=$(grep '^ready ' "$T/daemon.out")
  [[ $READY_LINE =~ ^ready\ admin=([0-9.]+:[0-9]+)\ http=([0-9.]+:[0-9]+|off)$ ]] \
    || fail "bad ready line: $READY_LINE"
  export ALMANAC_CONNECT=${BASH_REMATCH[1]}
  HTTP=http://${BASH_REMATCH[2]}
  TOKEN=
  local prev= a
  for a in "$@"; do
    [[ $prev == --token ]] && TOKEN=$a
    prev=$a
  done
  if [[ -z $TOKEN && -f $T/data/credentials/http-token ]]; then
    TOKEN=$(cat "$T/data/credentials/http-token")
  fi
}

# use_admin_credentials DATA: the almanac CLI connects with DATA/credentials/admin-client.*
# explicitly (where no connection record can lead it there).
use_admin_credentials() {
  export ALMANAC_TLS_CERT=$1/credentials/admin-client.pem ALMANAC_TLS_KEY=$1/credentials/admin-client.key
  export ALMANAC_TLS_CA=$1/credentials/admin-ca.pem
}

# api ARGS...: curl -s with the daemon's bearer token.
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }

# stop_daemon: SIGTERM; almanacd must exit 0.
stop_daemon() {
  kill -TERM "$DAEMON_PID"
  local rc=0
  wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=
  [[ $rc == 0 ]] || fail "almanacd exited $rc on SIGTERM"
}
