#!/usr/bin/env bash
# Starts the real almanacd on a temporary data directory (tests/tools/daemon_test_lib.sh: killed
# and removed at exit), then runs one scenario of ui_test.py against it in headless chromium.
# Usage: run_ui_test.sh ALMANACD PART [ARGS...]
#   PART: a scenario of ui_test.py, or `screenshots DIR` / `measure N` (not in CTest).
set -euo pipefail
ALMANACD=$1
PART=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/daemon_test_lib.sh" "ui-$PART"

# Debian's python3-selenium lives in the system interpreter, which a PATH python3 may not be.
PY=
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import selenium' 2>/dev/null; then PY=$p; break; fi
done
[[ -n $PY ]] || fail "python3-selenium is not installed (run setup.sh)"
command -v chromium >/dev/null || fail "chromium is not installed (run setup.sh)"
command -v chromedriver >/dev/null || fail "chromedriver is not installed: the chromium-driver package (run setup.sh)"

start_daemon --grace 5s
[[ -n $TOKEN ]] || fail "no HTTP token"
HOME=$T/home ALMANAC_UI_HTTP=$HTTP ALMANAC_UI_TOKEN=$TOKEN ALMANAC_UI_TMP=$T \
  "$PY" "$here/ui_test.py" "$PART" "$@" || fail "ui_test.py $PART failed"
stop_daemon
echo "PASS: $PART"
