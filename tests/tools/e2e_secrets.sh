#!/usr/bin/env bash
# End to end: secret references and the exec environment allow-list on the real almanacd.
# Part `references`: an exec job takes one variable from a file in DATA/secrets and one from the
# daemon's environment, an http job one header from the daemon's environment (a small Python
# server records what it got). Each run proves the value arrived; then no value is found in the
# HTTP API, `almanac show` (which prints the references), `almanac-replay export`, the run
# history's output tail, the daemon's log or any file of the data directory outside DATA/secrets.
# A missing secret file fails the run naming the reference. Part `environment`: a job dumping its
# environment shows the daemon's FOO_SECRET only when --exec-env-allow names it, and
# ALMANAC_TOKEN / ALMANAC_SECRET never, not even under '*'.
# Usage: e2e_secrets.sh ALMANACD ALMANAC ALMANAC_REPLAY references|environment
set -euo pipefail

ALMANACD=$1
ALMANAC=$2
REPLAY=$3
PART=$4
source "$(dirname "$0")/daemon_test_lib.sh" secrets
step() { echo "== $*"; }

TOKEN=e2e-token-0123456789abcdef
export ALMANAC_SECRET=e2e-admin-secret-0123456789
FILE_VALUE="file-secret-$RANDOM$RANDOM-value"
ENV_VALUE="env-secret-$RANDOM$RANDOM-value"
HDR_VALUE="Bearer hdr-secret-$RANDOM$RANDOM-value"
VALUES=("$FILE_VALUE" "$ENV_VALUE" "$HDR_VALUE")
# The daemon's environment: the two sources, an unrelated secret of its own, and its token.
DAEMON_WRAPPER=(env "ENV_SECRET_SRC=$ENV_VALUE" "HDR_SECRET_SRC=$HDR_VALUE" FOO_SECRET=x
                "ALMANAC_TOKEN=$TOKEN")
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }

# assert_nowhere FILE WHAT: none of the secret values is in FILE.
assert_nowhere() {
  local v
  for v in "${VALUES[@]}"; do
    if grep -a -q -F -- "$v" "$1"; then fail "$2 shows a secret value in clear"; fi
  done
}

runs_done() { # JOB N: the job has N finished runs
  [[ $(api "$HTTP/api/jobs/$1/runs" | python3 -c 'import json,sys
print(sum(1 for r in json.load(sys.stdin)["runs"] if r["finished_at"]))') -ge $2 ]]
}

if [[ $PART == environment ]]; then
start_daemon --token "$TOKEN" --secret "$ALMANAC_SECRET"
step "exec children inherit only the allowed variables"
ENV_JOB=$("$ALMANAC" create --name env-dump --every 1h --env "OUT=$T/env-dump" --exec -- \
  sh -c 'env >"$OUT.tmp"; mv "$OUT.tmp" "$OUT"')
dump_env() { # expect FOO_SECRET present (1) or absent (0)
  rm -f "$T/env-dump"
  "$ALMANAC" run "$ENV_JOB" >/dev/null
  wait_for test -f "$T/env-dump" || fail "the env dump never came"
  if [[ $1 == 1 ]]; then
    grep -q '^FOO_SECRET=x$' "$T/env-dump" || fail "FOO_SECRET absent though allowed"
  else
    ! grep -q '^FOO_SECRET=' "$T/env-dump" || fail "FOO_SECRET inherited by default"
  fi
  ! grep -q -e '^ALMANAC_TOKEN=' -e '^ALMANAC_SECRET=' "$T/env-dump" \
    || fail "the daemon's credentials reached a run"
  grep -q '^PATH=' "$T/env-dump" || fail "PATH is missing"
  grep -q '^ALMANAC_JOB_ID=' "$T/env-dump" || fail "the run key is missing"
}
dump_env 0
stop_daemon
start_daemon --token "$TOKEN" --secret "$ALMANAC_SECRET" --exec-env-allow 'PATH,FOO_*'
dump_env 1
stop_daemon
start_daemon --token "$TOKEN" --secret "$ALMANAC_SECRET" --exec-env-allow '*'
dump_env 1
stop_daemon
rc=0
"$ALMANACD" --data "$T/data" --exec-env-allow 'PATH,ALMANAC_TOKEN' 2>"$T/bad-allow.err" || rc=$?
[[ $rc == 2 ]] || fail "--exec-env-allow ALMANAC_TOKEN: expected exit 2, got $rc"
grep -q "never passed to runs" "$T/bad-allow.err" || fail "unclear refusal: $(cat "$T/bad-allow.err")"

assert_nowhere "$T/daemon.err" "the daemon's log"
echo "PASS"
exit 0
fi
[[ $PART == references ]] || fail "unknown part '$PART'"

step "start almanacd with a token and an admin secret; it creates DATA/secrets 0700"
start_daemon --token "$TOKEN" --secret "$ALMANAC_SECRET"
[[ $(stat -c %a "$T/data/secrets") == 700 ]] || fail "DATA/secrets is not 0700"
printf '%s\n' "$FILE_VALUE" >"$T/data/secrets/db"
chmod 600 "$T/data/secrets/db"

step "an exec job with an env secret from a file and one from the daemon's environment"
EXEC_JOB=$("$ALMANAC" create --name secret-exec --every 1h --env "OUT=$T/exec-out" \
  --env-from-file DB_PASS=db --env-from-env API_KEY=ENV_SECRET_SRC --exec -- \
  sh -c 'printf "%s|%s" "$DB_PASS" "$API_KEY" >"$OUT.tmp"; mv "$OUT.tmp" "$OUT"; echo "db=$DB_PASS key=$API_KEY"')
"$ALMANAC" run "$EXEC_JOB" >/dev/null
wait_for test -f "$T/exec-out" || fail "the exec run never wrote its file"
[[ $(cat "$T/exec-out") == "$FILE_VALUE|$ENV_VALUE" ]] || fail "the program did not get the values"
wait_for runs_done "$EXEC_JOB" 1 || fail "the exec run never finished"

step "an http job with a header secret from the daemon's environment"
mkdir -p "$T/py"
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        got = self.headers.get("Authorization", "")
        with open(sys.argv[1] + ".tmp", "w") as f: f.write(got)
        import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
        body = ("you sent " + got).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_port))
s.serve_forever()' "$T/http-got" "$T/py/port" &
PY_PID=$!
echo "$PY_PID" >"$T/py/pids"
wait_for test -s "$T/py/port" || fail "the python server did not start"
HTTP_JOB=$("$ALMANAC" create --name secret-http --every 1h \
  --http "http://127.0.0.1:$(cat "$T/py/port")/hook" --header-from-env 'Authorization: HDR_SECRET_SRC')
"$ALMANAC" run "$HTTP_JOB" >/dev/null
wait_for test -f "$T/http-got" || fail "the http run never reached the server"
[[ $(cat "$T/http-got") == "$HDR_VALUE" ]] || fail "the server did not get the header value"
wait_for runs_done "$HTTP_JOB" 1 || fail "the http run never finished"

step "the run history masks the values in the output tails"
api "$HTTP/api/jobs/$EXEC_JOB/runs" >"$T/exec-runs.json"
api "$HTTP/api/jobs/$HTTP_JOB/runs" >"$T/http-runs.json"
grep -q -F '"output_tail":"db=*** key=***\n"' "$T/exec-runs.json" \
  || fail "the exec output tail is not masked: $(cat "$T/exec-runs.json")"
grep -q -F '"output_tail":"you sent ***"' "$T/http-runs.json" \
  || fail "the http output tail is not masked: $(cat "$T/http-runs.json")"
grep -q '"outcome":"succeeded"' "$T/exec-runs.json" || fail "the exec run did not succeed"
assert_nowhere "$T/exec-runs.json" "GET /api/jobs/:id/runs"
assert_nowhere "$T/http-runs.json" "GET /api/jobs/:id/runs"
"$ALMANAC" runs "$EXEC_JOB" --json >"$T/cli-runs.json"
assert_nowhere "$T/cli-runs.json" "almanac runs"

step "the API, the CLI and the replay export carry the references only"
for job in "$EXEC_JOB" "$HTTP_JOB"; do
  api "$HTTP/api/jobs/$job" >"$T/api-$job.json"
  assert_nowhere "$T/api-$job.json" "GET /api/jobs/:id"
  "$ALMANAC" show "$job" >"$T/show-$job.txt"
  "$ALMANAC" show "$job" --json >>"$T/show-$job.txt"
  assert_nowhere "$T/show-$job.txt" "almanac show"
done
grep -q -F '"DB_PASS":{"from_file":"db"}' "$T/api-$EXEC_JOB.json" || fail "the API lacks the file reference"
grep -q -F '"API_KEY":{"from_env":"ENV_SECRET_SRC"}' "$T/api-$EXEC_JOB.json" || fail "the API lacks the env reference"
grep -q -F '"Authorization":{"from_env":"HDR_SECRET_SRC"}' "$T/api-$HTTP_JOB.json" || fail "the API lacks the header reference"
grep -q 'DB_PASS <- from_file:db' "$T/show-$EXEC_JOB.txt" || fail "almanac show does not print the reference"
grep -q 'Authorization <- from_env:HDR_SECRET_SRC' "$T/show-$HTTP_JOB.txt" || fail "almanac show does not print the header reference"
"$REPLAY" --data "$T/data" export --jsonl >"$T/export.jsonl"
grep -q -F '"DB_PASS":{"from_file":"db"}' "$T/export.jsonl" || fail "the export lacks the reference"
assert_nowhere "$T/export.jsonl" "almanac-replay export"

step "a missing secret file fails the run, naming the reference and not the value"
rm "$T/data/secrets/db"
rm -f "$T/exec-out"
"$ALMANAC" run "$EXEC_JOB" >/dev/null
wait_for runs_done "$EXEC_JOB" 2 || fail "the second exec run never finished"
"$ALMANAC" show "$EXEC_JOB" --json >"$T/failed.json"
grep -q -F 'env DB_PASS: secret from_file:db: cannot open' "$T/failed.json" \
  || fail "the failure does not name the reference: $(cat "$T/failed.json")"
[[ ! -e $T/exec-out ]] || fail "the program ran without its secret"

step "a job refers to no ALMANAC_ variable: refused, nothing created"
rc=0
"$ALMANAC" create --name steal --every 1h --env-from-env T=ALMANAC_TOKEN --exec -- true \
  2>"$T/steal.err" || rc=$?
[[ $rc != 0 ]] || fail "a reference to ALMANAC_TOKEN was accepted"
grep -q "ALMANAC_ variables are the daemon's own" "$T/steal.err" || fail "unclear refusal: $(cat "$T/steal.err")"

kill "$PY_PID"
wait "$PY_PID" 2>/dev/null || true

step "the daemon's log and the data directory hold no value"
assert_nowhere "$T/daemon.err" "the daemon's log"
found=$(grep -r -a -l -F -e "$FILE_VALUE" -e "$ENV_VALUE" -e "$HDR_VALUE" "$T/data" \
  | grep -v "^$T/data/secrets/" || true)
[[ -z $found ]] || fail "a secret value is in clear in $found"
echo "PASS"
