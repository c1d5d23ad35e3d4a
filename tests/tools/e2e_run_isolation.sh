#!/usr/bin/env bash
# End to end: every process of an exec run goes with the run, and with the daemon.
# 1. A run whose script starts a background child and a `setsid` child and sleeps: after
#    kill -9 of the daemon its leader is gone at once; the restarted daemon kills the two
#    children before it records RunAbandoned and runs the fire again, so no two copies of the
#    script ever run at once (overlap skip).
# 2. A run whose script leaves a `setsid` child behind and exits 0: the child is killed when the
#    run ends.
# Usage: e2e_run_isolation.sh ALMANACD ALMANAC ALMANAC_REPLAY crash|leftover [DAEMON_ARGS...]
# (e.g. --run-isolation process-group for the mode without cgroups).
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
PART=$4
shift 4
DAEMON_ARGS=("$@")
source "$(dirname "$0")/daemon_test_lib.sh" isolation
step() { echo "== $*"; }

start_isolated_daemon() {
  start_daemon --no-http --grace 2s "${DAEMON_ARGS[@]}"
  if [[ " ${DAEMON_ARGS[*]} " == *" process-group "* ]]; then
    grep -q 'isolated in process groups only' "$T/daemon.err" || fail "not in process-group mode"
  elif [[ -d /sys/fs/cgroup/unified || -f /sys/fs/cgroup/cgroup.controllers ]] && ((EUID == 0)); then
    grep -q 'isolated in cgroups' "$T/daemon.err" || fail "not in cgroup mode"
  fi
}

# Alive: exists and is not a zombie (a killed child of a dead daemon may wait to be reaped).
alive() { [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
dead() { ! alive "$1"; }
lines() { [[ -f $1 ]] && (($(wc -l <"$1") >= $2)); }
now() { date -u -d "+2 seconds" +%Y-%m-%dT%H:%M:%SZ; }

# The run: notes any process of an earlier copy still alive when it starts, then records its own
# pid (first line), a background child's, a `setsid` child's and its sleep's, and waits.
cat >"$T/job.sh" <<'EOF'
d=$1
alive() { [ -r /proc/$1/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$1/status 2>/dev/null; }
for p in $(cat "$d/pids" 2>/dev/null); do
  if alive "$p"; then echo "$p alive when $$ started" >>"$d/overlap"; fi
done
echo $$ >>"$d/pids"
sh -c 'echo $$ >>"$1/pids"; exec sleep 1000' _ "$d" &
setsid sh -c 'echo $$ >>"$1/pids"; exec sleep 1000' _ "$d" &
sleep 1000 &
echo $! >>"$d/pids"
wait
EOF
mkdir -p "$T/run1" "$T/run2"

crash() {
step "a one-shot run starts a background and a setsid child"
JOB=$("$ALMANAC" create --name tree --at "$(now)" --overlap skip --exec -- sh "$T/job.sh" "$T/run1")
wait_for lines "$T/run1/pids" 4 || fail "the run did not record its four pids"
mapfile -t FIRST <"$T/run1/pids"
echo "leader ${FIRST[0]}, children ${FIRST[*]:1}"
for p in "${FIRST[@]}"; do alive "$p" || fail "pid $p is not running"; done

step "kill -9 the daemon: the run's leader dies with it"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
WAIT_SECONDS=5 wait_for dead "${FIRST[0]}" || fail "the run's leader ${FIRST[0]} outlived the daemon"

step "restart: the leftovers are killed before the fire runs again"
start_isolated_daemon
wait_for lines "$T/run1/pids" 8 || fail "the abandoned run was not run again"
[[ ! -f $T/run1/overlap ]] || fail "two copies at once: $(cat "$T/run1/overlap")"
for p in "${FIRST[@]}"; do dead "$p" || fail "pid $p of the first run survived the restart"; done
"$REPLAY" --data "$T/data" events --job "$JOB" --json >"$T/events.jsonl" 2>/dev/null || true
abandoned=$(grep -n '"type":"RunAbandoned"' "$T/events.jsonl" | cut -d: -f1 | head -1)
[[ -n $abandoned ]] || fail "no RunAbandoned in the log"
rerun=$(grep -n '"type":"RunStarted"' "$T/events.jsonl" | cut -d: -f1 | tail -1)
((rerun > abandoned)) || fail "the fire did not run again after RunAbandoned"
grep -q 'left by an earlier daemon' "$T/daemon.err" || fail "the daemon did not report the leftovers"
mapfile -t SECOND <"$T/run1/pids"
for p in "${SECOND[@]:4}"; do alive "$p" || fail "pid $p of the second run is not running"; done

}

leftover() {
step "a run that exits 0 and leaves a setsid child: the child goes when the run ends"
cat >"$T/leaves.sh" <<'EOF'
setsid sh -c 'echo $$ >>"$1/pids"; echo $$ >"$1/child"; exec sleep 1000' _ "$1" &
while [ ! -s "$1/child" ]; do sleep 0.05; done
EOF
JOB2=$("$ALMANAC" create --name leaves --at "$(now)" --exec -- sh "$T/leaves.sh" "$T/run2")
wait_for test -s "$T/run2/child" || fail "the run did not start its child"
CHILD=$(cat "$T/run2/child")
status_completed() { "$ALMANAC" show "$JOB2" --json | grep -q '"status": "completed"'; }
wait_for status_completed || fail "the run did not succeed"
WAIT_SECONDS=10 wait_for dead "$CHILD" || fail "the setsid child $CHILD outlived its run"

}

start_isolated_daemon
case $PART in
  crash) crash ;;
  leftover) leftover ;;
  *) fail "unknown part '$PART'" ;;
esac

step "SIGTERM stops the daemon with exit 0"
stop_daemon
echo "PASS"
