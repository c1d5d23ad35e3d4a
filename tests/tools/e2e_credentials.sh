#!/usr/bin/env bash
# End to end: loopback is no authentication boundary. The real almanacd, started with no token
# and no secret, generates both into DATA/credentials/ (0700, files 0600, never logged); every
# HTTP request without the token is 401 — the cross-site `text/plain` create and the job list
# read of a page the operator opens included — and the admin port refuses a wrong or missing
# secret. The real almanac CLI finds the secret by itself (the runtime connection record, or
# --data DIR) and prints the token for curl; a restart reuses both; credential files that others
# can read, or symlinks, are refused and left as they are.
# Usage: e2e_credentials.sh ALMANACD ALMANAC
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
source "$(dirname "$0")/daemon_test_lib.sh" creds
step() { echo "== $*"; }
mode_of() { stat -c %a "$1"; }
code_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
JOB_JSON='{"name": "from-a-web-page", "schedule": {"kind": "every", "every": "1h"},
           "target": {"kind": "exec", "argv": ["true"]}}'

step "the first start generates a token and an admin secret, private to their owner"
start_daemon
C=$T/data/credentials
[[ $(mode_of "$C") == 700 ]] || fail "credentials directory is $(mode_of "$C")"
for f in http-token admin-secret; do
  [[ $(mode_of "$C/$f") == 600 ]] || fail "$f is $(mode_of "$C/$f")"
  [[ $(cat "$C/$f") =~ ^[0-9a-f]{64}$ ]] || fail "$f does not hold 32 random bytes in hex"
done
[[ $(cat "$C/http-token") != "$(cat "$C/admin-secret")" ]] || fail "token and secret are the same"
[[ $TOKEN == $(cat "$C/http-token") ]] || fail "the test library did not pick up the token"
grep -q "generated the admin secret into $C/admin-secret" "$T/daemon.err" \
  || fail "the log does not say where the secret is"
for f in http-token admin-secret; do
  ! grep -qF "$(cat "$C/$f")" "$T/daemon.err" "$T/daemon.out" || fail "the log shows the $f"
done

step "HTTP without the token is 401, however it is asked"
[[ $(code_of "$HTTP/api/jobs") == 401 ]] || fail "GET /api/jobs without a token"
[[ $(code_of "$HTTP/api/health") == 401 ]] || fail "GET /api/health without a token"
[[ $(code_of -X POST -H 'Content-Type: text/plain' -H 'Origin: http://evil.example' \
      -d "$JOB_JSON" "$HTTP/api/jobs") =~ ^40[13]$ ]] || fail "a cross-site create got through"
[[ $(code_of -X POST -H 'Content-Type: application/json' -d "$JOB_JSON" "$HTTP/api/jobs") == 401 ]] \
  || fail "a same-machine create without the token got through"
[[ $(code_of -H 'Authorization: Bearer 0123456789abcdef0123' "$HTTP/api/jobs") == 401 ]] \
  || fail "a wrong token got through"
! api "$HTTP/api/jobs" | grep -q from-a-web-page || fail "a refused create was created"

step "the CLI finds the secret through its connection record"
[[ -f $XDG_RUNTIME_DIR/almanac/admin-${ALMANAC_CONNECT/:/-}.json ]] || fail "no connection record"
[[ $(mode_of "$XDG_RUNTIME_DIR/almanac") == 700 ]] || fail "runtime directory is not 0700"
"$ALMANAC" create --name cli-job --every 1h --exec -- true >/dev/null || fail "create with the found secret"
"$ALMANAC" jobs | grep -q cli-job || fail "jobs with the found secret"

step "a wrong or missing secret is refused by the admin port"
rc=0
"$ALMANAC" --secret 0123456789abcdef0123 jobs >/dev/null 2>"$T/wrong.err" || rc=$?
[[ $rc == 2 ]] || fail "a wrong secret: exit $rc"
grep -q "unauthorized" "$T/wrong.err" || fail "no clear message: $(cat "$T/wrong.err")"
rc=0
XDG_RUNTIME_DIR=$T/elsewhere "$ALMANAC" jobs >/dev/null 2>"$T/none.err" || rc=$?
[[ $rc == 2 ]] || fail "no credentials at all: exit $rc"
grep -q "no client certificate found for $ALMANAC_CONNECT" "$T/none.err" || fail "no hint: $(cat "$T/none.err")"
rc=0
XDG_RUNTIME_DIR=$T/elsewhere "$ALMANAC" --tls-cert "$C/admin-client.pem" --tls-key "$C/admin-client.key" \
  --tls-ca "$C/admin-ca.pem" jobs >/dev/null 2>"$T/none.err" || rc=$?
[[ $rc == 2 ]] || fail "a certificate but no secret: exit $rc"
grep -q "unauthorized" "$T/none.err" || fail "not refused by the gate: $(cat "$T/none.err")"
grep -q "no admin secret found for $ALMANAC_CONNECT" "$T/none.err" || fail "no hint: $(cat "$T/none.err")"

step "--data DIR alone finds the daemon and its secret; http-token prints the token for curl"
(unset ALMANAC_CONNECT; XDG_RUNTIME_DIR=$T/elsewhere "$ALMANAC" --data "$T/data" jobs) | grep -q cli-job \
  || fail "almanac --data DIR jobs"
token=$("$ALMANAC" http-token) || fail "http-token"
[[ $token == "$TOKEN" ]] || fail "http-token printed something else"
[[ $(code_of -H "Authorization: Bearer $token" "$HTTP/api/jobs") == 200 ]] || fail "curl with http-token"

step "a restart reuses both; a clean stop removes the connection record"
before=$(cat "$C/http-token" "$C/admin-secret")
stop_daemon
[[ ! -e $XDG_RUNTIME_DIR/almanac/admin-${ALMANAC_CONNECT/:/-}.json ]] || fail "the record outlived the daemon"
start_daemon
[[ $(cat "$C/http-token" "$C/admin-secret") == "$before" ]] || fail "the credentials changed"
"$ALMANAC" jobs | grep -q cli-job || fail "the CLI after the restart"
stop_daemon

step "a credential file others can read, or a symlink, refuses the start and is left alone"
chmod 644 "$C/admin-secret"
rc=0
"$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --http 127.0.0.1:0 >/dev/null 2>"$T/open.err" || rc=$?
[[ $rc == 1 ]] || fail "a 0644 admin-secret: exit $rc"
grep -q "admin-secret is accessible to others (mode 0644): chmod 600 it" "$T/open.err" \
  || fail "no clear message: $(cat "$T/open.err")"
[[ $(mode_of "$C/admin-secret") == 644 ]] || fail "the file's mode was changed"
chmod 600 "$C/admin-secret"
mv "$C/http-token" "$T/real-token"
ln -s "$T/real-token" "$C/http-token"
rc=0
"$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --http 127.0.0.1:0 >/dev/null 2>"$T/link.err" || rc=$?
[[ $rc == 1 ]] || fail "a symlinked http-token: exit $rc"
grep -q "is a symbolic link" "$T/link.err" || fail "no clear message: $(cat "$T/link.err")"
rm "$C/http-token"
mv "$T/real-token" "$C/http-token"

step "--token-file and --secret-file: the daemon and the CLI read the operator's files"
umask 077
printf 'operator-token-0123456789\n' >"$T/token"
printf 'operator-secret-0123456789\n' >"$T/secret"
start_daemon --token-file "$T/token" --secret-file "$T/secret"
TOKEN=operator-token-0123456789
[[ $(api -o /dev/null -w '%{http_code}' "$HTTP/api/jobs") == 200 ]] || fail "the operator's token"
"$ALMANAC" jobs | grep -q cli-job || fail "the CLI with the operator's secret file"
[[ $("$ALMANAC" http-token) == operator-token-0123456789 ]] || fail "http-token with --token-file"
stop_daemon
chmod 640 "$T/token"
rc=0
"$ALMANACD" --data "$T/data" --admin 127.0.0.1:0 --token-file "$T/token" >/dev/null 2>"$T/tf.err" || rc=$?
[[ $rc == 2 ]] || fail "a 0640 --token-file: exit $rc"
grep -q -- "--token-file: credential file $T/token is accessible to others" "$T/tf.err" \
  || fail "no clear message: $(cat "$T/tf.err")"
echo "PASS"
