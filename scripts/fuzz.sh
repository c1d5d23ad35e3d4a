#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz and runs each for N seconds on its
# committed seed corpus (fuzz/corpus/<target>/), copying new inputs into a scratch corpus in the
# build directory (the committed seeds stay as they are). A crash, sanitizer report, leak,
# timeout or out-of-memory fails the script and leaves the reproducer in build-fuzz/artifacts/.
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target ...]   (targets: cron decoder http_json)
# Runs under the shared build lock, so it waits for other builds and they wait for it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(cron decoder http_json)
lock=${ALMANAC_BUILD_LOCK:-/tmp/almanac-build.lock}
dir=build-fuzz

# Configured every time (a second or two): a target added since the last run is then known.
CXX=${CXX_FUZZ:-clang++-14} cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DALMANAC_FUZZ=ON -DALMANAC_TESTS=OFF >/dev/null
flock "$lock" cmake --build "$dir" -j2 --target "${targets[@]/#/almanac_fuzz_}"

mkdir -p "$dir/artifacts"
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t"
  echo "== almanac_fuzz_$t: $seconds s"
  # -timeout=1: one input taking a second is a hang for a parser answering in microseconds.
  # -rss_limit_mb/-malloc_limit_mb: a decoder asked for gigabytes by a corrupt length fails.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    flock "$lock" "$dir/fuzz/almanac_fuzz_$t" -max_total_time="$seconds" -timeout=1 \
      -rss_limit_mb=1024 -malloc_limit_mb=256 -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "fuzz/corpus/$t"
done
