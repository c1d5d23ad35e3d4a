#!/usr/bin/env bash
# Installs the Debian 12 packages Almanac builds, tests and runs with. Idempotent and quiet when all
# is present: it asks dpkg first and calls apt only for what is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev librocksdb-dev libcereal-dev catch2
  libcctz-dev tzdata nlohmann-json3-dev libcli11-dev libspdlog-dev libcpp-httplib-dev
  libboost1.81-dev libssl-dev openssl
  libbenchmark-dev curl python3
  clang libclang-rt-14-dev
  postgresql-15 libpq-dev
  chromium chromium-driver python3-selenium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
