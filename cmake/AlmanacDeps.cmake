# Imported targets for Almanac's Debian 12 dependencies (setup.sh installs the packages).
# The libraries' own dependencies (cctz, CAF, RocksDB, cereal, nlohmann-json), shared with the
# installed package.
include(almanacDependencies)

find_package(CLI11 CONFIG REQUIRED)
# The HTTP server (tools/http_server.cpp): Boost.Beast and Asio are header-only; TLS through
# OpenSSL, the library CAF's openssl module uses too.
find_package(Boost 1.81 CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
