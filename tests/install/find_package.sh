#!/usr/bin/env bash
# An application's view of Almanac: install the build into a fresh prefix, build examples/ as a
# project of its own that knows only find_package(almanac 0.2), and run it. Also checks that the
# prefix holds the public headers and nothing of the source tree's internal ones.
#   find_package.sh BUILD_DIR SOURCE_DIR CXX_FLAGS LINKER_FLAGS
set -euo pipefail
build=$1 src=$2 cxx_flags=$3 ld_flags=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cmake --install "$build" --prefix "$T/prefix" >"$T/install.log"
test -f "$T/prefix/include/almanac/almanac.hpp"
test -f "$T/prefix/include/almanac/version.hpp"
test -f "$T/prefix/lib/cmake/almanac/almanacConfig.cmake"
test -f "$T/prefix/lib/cmake/almanac/almanacConfigVersion.cmake"
if [ "$(ls "$T/prefix/include")" != almanac ]; then
  echo "the prefix's include/ holds more than almanac/: $(ls "$T/prefix/include")" >&2
  exit 1
fi
for tool in almanac almanacd almanac-replay almanac-exec; do
  test -x "$T/prefix/bin/$tool"
done

# Outside the source tree, so nothing can reach a header by a relative path.
cp -r "$src/examples" "$T/app"
cmake -S "$T/app" -B "$T/app-build" -G Ninja -DCMAKE_PREFIX_PATH="$T/prefix" \
  -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$ld_flags" >"$T/configure.log" ||
  { cat "$T/configure.log" >&2; exit 1; }
if grep -rq -- "$src" "$T/app-build/build.ninja"; then
  echo "the example's build refers to the source tree:" >&2
  grep -o -- "-I$src[^ ]*" "$T/app-build/build.ninja" | sort -u >&2
  exit 1
fi
cmake --build "$T/app-build" >"$T/build.log" 2>&1 || { cat "$T/build.log" >&2; exit 1; }
"$T/app-build/embedded_scheduler" "$T/data"

# An older or newer minor version is refused: 0.x promises nothing across minors.
mkdir "$T/want"
cat >"$T/want/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(want LANGUAGES CXX)
find_package(almanac 0.9 REQUIRED)
CMAKE
if cmake -S "$T/want" -B "$T/want-build" -DCMAKE_PREFIX_PATH="$T/prefix" >"$T/want.log" 2>&1; then
  echo "find_package(almanac 0.9) accepted version 0.2" >&2
  exit 1
fi
grep -q 'version: 0.2.0' "$T/want.log"
echo "installed, built and ran the example against $T/prefix"
