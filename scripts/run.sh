#!/usr/bin/env bash
# Sets up, builds (Release) and starts the daemon on a demo data directory with a few demo jobs.
# Usage: scripts/run.sh [DATA_DIR]   (default ./almanac-demo-data; Ctrl-C stops it cleanly)
set -euo pipefail
cd "$(dirname "$0")/.."
./setup.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DALMANAC_TESTS=OFF >/dev/null
cmake --build build-release -j"${ALMANAC_JOBS:-2}" --target almanacd almanac almanac-replay
data=${1:-./almanac-demo-data}
echo "almanacd: data in $data; try: build-release/bin/almanac jobs (it finds the generated" \
  "credentials in $data/credentials)" >&2
exec build-release/bin/almanacd --data "$data" --demo --admin 127.0.0.1:7317 --http 127.0.0.1:7318
