#!/usr/bin/env bash
# Usage: replay_without_caf.sh ALMANAC_REPLAY
# almanac-replay needs no CAF: ldd lists no libcaf among the libraries it loads, and the binary
# holds no CAF code at all (nm: no caf:: symbol, defined or wanted; the linker's --as-needed can
# drop a libcaf that only inlined templates call, which ldd alone would not see). It must also
# still run (--version), so that an empty or failing ldd cannot pass.
set -euo pipefail
bin=${1:?usage: replay_without_caf.sh ALMANAC_REPLAY}
libs=$(ldd "$bin")
echo "$libs"
grep -q 'librocksdb' <<<"$libs" || { echo "ldd shows no librocksdb: not the replay tool?" >&2; exit 1; }
if grep -i 'caf' <<<"$libs"; then
  echo "almanac-replay links CAF" >&2
  exit 1
fi
caf_symbols=$(nm -C "$bin" | grep -c ' caf::' || true)
if (( caf_symbols > 0 )); then
  nm -C "$bin" | grep ' caf::' | head -5
  echo "almanac-replay holds $caf_symbols CAF symbols" >&2
  exit 1
fi
"$bin" --version
