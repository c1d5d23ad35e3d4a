// Where a daemon listens and a client connects: "HOST:PORT" as operators write it on command
// lines, plus the one rule the daemon enforces about it (anything but loopback needs a secret).
#pragma once

#include <almanac/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace almanac::tools {

// The admin port almanacd publishes on and almanac connects to by default; the HTTP API's.
inline constexpr std::uint16_t default_admin_port = 7317;
inline constexpr std::uint16_t default_http_port = 7318;

struct endpoint {
  std::string host = "127.0.0.1";
  // 0: let the system pick one (the daemon prints the one it got).
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// "127.0.0.1:7317", "localhost:7317", "[::1]:7317", or ":7317" (loopback). Errors: invalid_input
// naming the text (no port, port not 0-65535, empty host in brackets).
result<endpoint> parse_endpoint(std::string_view text);

// 127.0.0.0/8, ::1 and "localhost": reachable from this machine only.
bool is_loopback(std::string_view host) noexcept;

// Compares a presented secret with the expected one in time that depends only on their lengths'
// maximum, not on where they first differ. Empty never equals non-empty.
bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept;

} // namespace almanac::tools
