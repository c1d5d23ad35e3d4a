#!/usr/bin/env bash
# End to end: attacks on the real almanacd's admin port (mutual TLS behind the admin front), with
# raw sockets from admin_attack.py, while the real almanac CLI must keep getting answers.
#   rss          one 32-byte BASP header announcing a 0xF0000000-byte payload, no secret: the
#                connection is closed and the daemon's peak RSS grows by less than 8 MiB
#   refuse       a plain (non-TLS) BASP client and TLS clients with a certificate from a foreign
#                CA (the real CLI too) get no reply and are closed; the real CLI works
#   flood        200 idle TCP connections: those over the per-address cap are closed, the CLI
#                answers within seconds, the descriptors stay bounded by the cap, no CPU spin
#   deadline     a silent connection and a TLS handshake that stalls after the server's answer are
#                closed at the handshake deadline (2 s here) and the CPU spin of the stalled one
#                ends with it; an authenticated connection left idle is closed at the idle timeout
#   credentials  the generated certificates are reused on restart, the CLI finds them with --data,
#                a key others can read is refused, given --admin-tls-* files replace them
# Usage: e2e_admin_port.sh ALMANACD ALMANAC rss|refuse|flood|deadline|credentials
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
PART=$3
HERE=$(dirname "$0")
source "$HERE/daemon_test_lib.sh" admin-port
step() { echo "== $*"; }

start() {
  start_daemon --no-http "$@"
  ADMIN_HOST=${ALMANAC_CONNECT%:*}
  ADMIN_PORT=${ALMANAC_CONNECT##*:}
}
attack() { python3 "$HERE/admin_attack.py" "$1" "$ADMIN_HOST" "$ADMIN_PORT" "${@:2}"; }
# The daemon's peak resident memory so far (a buffer freed with its connection still counts).
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$DAEMON_PID/status"; }
fd_count() { find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# The daemon's CPU time (user + system) in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }
TICKS=$(getconf CLK_TCK)
# The CLI gets an answer within 10 s.
cli_answers() { timeout 10 "$ALMANAC" --request-timeout 5s jobs >/dev/null 2>"$T/cli.err"; }
# A CA and a certificate signed by it, with the openssl tool (the daemon never shells out; the
# test only needs a foreign CA). make_leaf DIR NAME serverAuth|clientAuth
make_ca() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" \
    -out "$1/ca.pem" -subj /CN=foreign-ca -days 2 -addext basicConstraints=critical,CA:TRUE \
    2>/dev/null
}
make_leaf() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2.key" \
    -subj "/CN=$2" 2>/dev/null \
    | openssl x509 -req -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial -days 2 \
        -extfile <(printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=%s\n' "$3") \
        -out "$1/$2.pem" 2>/dev/null
  chmod 600 "$1/$2.key"
}
CRED=$T/data/credentials

case $PART in
rss)
  start
  cli_answers || fail "the CLI got no answer before the attack: $(cat "$T/cli.err")"
  before=$(peak_rss_kib)
  step "a BASP header announcing 0xF0000000 payload bytes, without a secret (peak RSS $before KiB)"
  result=$(attack basp-header 5)
  sleep 1
  after=$(peak_rss_kib)
  echo "connection: $result; peak RSS $before -> $after KiB"
  ((after - before < 8192)) || fail "the peak RSS grew by $((after - before)) KiB"
  [[ $result == closed* ]] || fail "the connection was left open: $result"
  cli_answers || fail "the CLI got no answer after the attack: $(cat "$T/cli.err")"
  ;;
refuse)
  start --admin-handshake-timeout 2s
  step "a plain BASP client: no server handshake, closed"
  result=$(attack plain-basp 8)
  echo "plain client: $result"
  [[ $result == closed ]] || fail "a plain client got: $result"
  step "TLS clients: the generated client certificate gets a reply, a foreign one is refused"
  good=$(attack tls "$CRED/admin-client.pem" "$CRED/admin-client.key" "$CRED/admin-ca.pem" 10)
  echo "generated client certificate: $good"
  [[ $good == reply* ]] || fail "the generated client certificate got: $good"
  make_ca "$T/foreign"
  make_leaf "$T/foreign" client clientAuth
  bad=$(attack tls "$T/foreign/client.pem" "$T/foreign/client.key" "$CRED/admin-ca.pem" 10)
  echo "foreign client certificate: $bad"
  [[ $bad == refused* ]] || fail "a foreign client certificate got: $bad"
  step "the real CLI with the foreign certificate is refused by the daemon, with its own it works"
  # The CLI trusts both CAs, so its own check passes and the daemon is the one that refuses.
  cat "$T/foreign/ca.pem" "$CRED/admin-ca.pem" >"$T/foreign/both.pem"
  rc=0
  timeout 20 "$ALMANAC" --tls-cert "$T/foreign/client.pem" --tls-key "$T/foreign/client.key" \
    --tls-ca "$T/foreign/both.pem" jobs >/dev/null 2>"$T/foreign.err" || rc=$?
  [[ $rc != 0 ]] || fail "the CLI with a foreign certificate was answered"
  echo "CLI with a foreign certificate: exit $rc, $(head -1 "$T/foreign.err")"
  [[ $rc == 3 ]] || fail "the CLI with a foreign certificate: exit $rc, not 3 (unreachable)"
  cli_answers || fail "the CLI got no answer: $(cat "$T/cli.err")"
  ;;
flood)
  start
  cli_answers || fail "the CLI got no answer before the flood: $(cat "$T/cli.err")"
  fds_before=$(fd_count)
  ticks_before=$(cpu_ticks)
  step "200 idle connections, held for 8 s ($fds_before descriptors before)"
  attack hold 200 8 >"$T/held.txt" &
  HOLDER=$!
  sleep 2
  fds_during=$(fd_count)
  SECONDS=0
  cli_answers || fail "the CLI got no answer during the flood: $(cat "$T/cli.err")"
  echo "the CLI answered in ${SECONDS}s during the flood; $fds_during descriptors"
  wait "$HOLDER" || fail "the connection holder failed"
  ticks=$(($(cpu_ticks) - ticks_before))
  read -r _ open _ closed <"$T/held.txt"
  echo "held to the end: $open, closed by the daemon: $closed; CPU $((ticks * 1000 / TICKS)) ms"
  ((open <= 16)) || fail "$open idle connections stayed open past the cap of 16 per address"
  ((closed >= 184)) || fail "only $closed connections were closed"
  # Each connection costs the daemon at most 3 descriptors (client, inner, CAF's end).
  ((fds_during - fds_before <= 16 * 3 + 8)) \
    || fail "descriptors grew from $fds_before to $fds_during"
  # Over about 8 s: a spinning poll loop would use them all.
  ((ticks * 1000 / TICKS < 3000)) || fail "the daemon used $((ticks * 1000 / TICKS)) ms of CPU"
  grep -q 'refused a connection from 127.0.0.1' "$T/daemon.err" || fail "no refusal logged"
  refusals=$(grep -c 'admin port: ' "$T/daemon.err")
  echo "$refusals log lines for the refusals"
  ((refusals <= 20)) || fail "$refusals log lines: refusals flood the log"
  cli_answers || fail "the CLI got no answer after the flood: $(cat "$T/cli.err")"
  ;;
deadline)
  start --admin-handshake-timeout 2s
  ticks_before=$(cpu_ticks)
  step "a silent connection is closed at the 2 s deadline, without reaching CAF"
  result=$(attack silent 15)
  echo "silent: $result"
  [[ $result == closed* ]] || fail "the silent connection stayed open: $result"
  read -r _ secs _ <<<"$result"
  awk -v s="$secs" 'BEGIN { exit !(s >= 1.5 && s <= 8) }' || fail "closed after $secs s, not about 2"
  ms=$((($(cpu_ticks) - ticks_before) * 1000 / TICKS))
  echo "CPU while it waited: $ms ms"
  ((ms < 500)) || fail "the daemon used $ms ms of CPU for a silent connection"
  step "a TLS handshake that stalls after the server's answer is closed at the deadline"
  ticks_before=$(cpu_ticks)
  attack stall "$CRED/admin-client.pem" "$CRED/admin-client.key" "$CRED/admin-ca.pem" 15 \
    >"$T/stall.txt" &
  STALLER=$!
  sleep 0.5
  cli_answers || fail "the CLI got no answer during a stalled handshake: $(cat "$T/cli.err")"
  wait "$STALLER" || fail "the staller failed"
  result=$(cat "$T/stall.txt")
  echo "stalled handshake: $result"
  [[ $result == closed* ]] || fail "the stalled handshake stayed open: $result"
  read -r _ secs got <<<"$result"
  ((got > 0)) || fail "the server never answered the ClientHello: the test stalled nothing"
  awk -v s="$secs" 'BEGIN { exit !(s >= 1.5 && s <= 8) }' || fail "closed after $secs s, not about 2"
  # CAF 0.17.6 spins its multiplexer while a TLS handshake waits for the client (CAF issue 1060):
  # the deadline is what ends it. Reported, and it must stop with the connection.
  echo "CPU during the stalled handshake: $((($(cpu_ticks) - ticks_before) * 1000 / TICKS)) ms"
  ticks_before=$(cpu_ticks)
  sleep 2
  ms=$((($(cpu_ticks) - ticks_before) * 1000 / TICKS))
  echo "CPU in the 2 s after it was closed: $ms ms"
  ((ms < 400)) || fail "the daemon still spins after the stalled handshake was closed: $ms ms in 2 s"
  cli_answers || fail "the CLI got no answer: $(cat "$T/cli.err")"
  stop_daemon
  step "an authenticated connection on which nothing moves is closed at the idle timeout"
  start --admin-idle-timeout 3s
  result=$(attack tls-idle "$CRED/admin-client.pem" "$CRED/admin-client.key" "$CRED/admin-ca.pem" 20)
  echo "idle authenticated connection: $result"
  [[ $result == reply*closed* ]] || fail "the idle connection was not closed: $result"
  read -r _ _ _ secs <<<"$result"
  awk -v s="$secs" 'BEGIN { exit !(s >= 2 && s <= 12) }' || fail "closed after $secs s, not about 3"
  ;;
credentials)
  start
  for f in admin-ca.pem admin-server.pem admin-server.key admin-client.pem admin-client.key; do
    [[ $(stat -c %a "$CRED/$f") == 600 ]] || fail "$f is $(stat -c %a "$CRED/$f")"
  done
  [[ $(stat -c %a "$CRED") == 700 ]] || fail "credentials/ is $(stat -c %a "$CRED")"
  sums=$(cat "$CRED"/admin-* | sha256sum)
  stop_daemon
  step "a restart reuses them; the CLI finds them with --data"
  start
  [[ $(cat "$CRED"/admin-* | sha256sum) == "$sums" ]] || fail "the certificates changed on restart"
  (unset ALMANAC_TLS_CERT ALMANAC_TLS_KEY ALMANAC_TLS_CA
   timeout 10 "$ALMANAC" --data "$T/data" jobs >/dev/null) || fail "almanac --data found no certificate"
  stop_daemon
  step "a server key others can read is refused"
  chmod 644 "$CRED/admin-server.key"
  rc=0
  timeout 20 "$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --no-http >/dev/null 2>"$T/mode.err" || rc=$?
  [[ $rc != 0 ]] || fail "almanacd started with a 0644 key"
  grep -q 'admin-server.key.*chmod 600' "$T/mode.err" || fail "no clear message: $(cat "$T/mode.err")"
  chmod 600 "$CRED/admin-server.key"
  step "--admin-tls-* without all three is a usage error"
  rc=0
  "$ALMANACD" --data "$T/data" --admin-tls-cert "$CRED/admin-server.pem" --no-http \
    >/dev/null 2>"$T/usage.err" || rc=$?
  [[ $rc == 2 ]] || fail "exit $rc for --admin-tls-cert alone"
  grep -q 'go together' "$T/usage.err" || fail "no clear message: $(cat "$T/usage.err")"
  step "given certificates of another CA replace the generated ones"
  make_ca "$T/own"
  make_leaf "$T/own" server serverAuth
  make_leaf "$T/own" client clientAuth
  start --admin-tls-cert "$T/own/server.pem" --admin-tls-key "$T/own/server.key" \
    --admin-tls-ca "$T/own/ca.pem"
  # The generated client, trusting both CAs: the daemon now knows only the given one.
  cat "$T/own/ca.pem" "$CRED/admin-ca.pem" >"$T/own/both.pem"
  rc=0
  timeout 20 "$ALMANAC" --tls-cert "$CRED/admin-client.pem" --tls-key "$CRED/admin-client.key" \
    --tls-ca "$T/own/both.pem" jobs >/dev/null 2>"$T/old.err" || rc=$?
  [[ $rc == 3 ]] || fail "the generated client certificate: exit $rc, not 3: $(cat "$T/old.err")"
  timeout 10 "$ALMANAC" --tls-cert "$T/own/client.pem" --tls-key "$T/own/client.key" \
    --tls-ca "$T/own/ca.pem" jobs >/dev/null || fail "the given CA's client was refused"
  ;;
*)
  fail "unknown part $PART"
  ;;
esac
stop_daemon
echo "PASS"
