#!/usr/bin/env bash
# Sets up, builds and runs every test: a Debug build with -Wall -Wextra, then the same suite
# built with ASan+UBSan. Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
./setup.sh
jobs=${ALMANAC_JOBS:-2}

run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600
}

run_suite build -DCMAKE_BUILD_TYPE=Debug
if [[ "${1:-}" != "--no-sanitize" ]]; then
  # detect_leaks=0: CAF 0.17 keeps some process-lifetime singletons that LSan reports at exit.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DALMANAC_SANITIZE=ON
fi
