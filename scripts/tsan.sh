#!/usr/bin/env bash
# ThreadSanitizer on the actor tests where CAF allows it. Debian's libcaf_core is not built with
# TSan, so every hand-off through a CAF mailbox or scheduler queue is invisible to it and shows
# as a race (the whole actor suite: 37 cases pass, ~5 000 reports, every one with CAF frames; see
# docs/RELIABILITY.md). The executor (tests tagged [executor]) is Almanac's own threads, mutexes
# and condition variables with no CAF in between: that part TSan checks, and any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=${ALMANAC_BUILD_LOCK:-/tmp/almanac-build.lock}
dir=build-tsan
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-fsanitize=thread -g -O1" \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
flock "$lock" cmake --build "$dir" -j2 --target almanac_actors_test
TSAN_OPTIONS=halt_on_error=1 "$dir/tests/actors/almanac_actors_test" "[executor]"
