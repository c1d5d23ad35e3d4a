#include "tools/edge/endpoint.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace almanac::tools {

result<endpoint> parse_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return fail(errc::invalid_input, "'" + std::string{text} + "' is not HOST:PORT");
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size()
      || port > 65535)
    return fail(errc::invalid_input,
                "'" + std::string{text} + "': the port must be a number 0-65535");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  endpoint out;
  out.host = host.empty() ? std::string{"127.0.0.1"} : std::string{host};
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

bool is_loopback(std::string_view host) noexcept {
  if (host == "localhost")
    return true;
  // Only a numeric address is known to be loopback: a name such as "127.0.0.1.evil.example"
  // resolves wherever its owner likes.
  std::string text{host};
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept {
  auto n = std::max(presented.size(), expected.size());
  // The lengths enter the result, not the loop's length: no early exit anywhere.
  unsigned diff = presented.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    auto a = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0u;
    auto b = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0u;
    diff |= a ^ b;
  }
  return diff == 0;
}

} // namespace almanac::tools
