// The admin port's front: almanacd's own TCP acceptor on the public admin address, in front of
// the CAF middleman, which listens on an ephemeral loopback port only. CAF 0.17 caps nothing (no
// connection limit, no handshake timeout), so the front does: it forwards bytes both ways
// untouched (the TLS stays end to end between the client and CAF, which authenticates the peer
// before any BASP is parsed), and
//   - caps the connections, in all and per peer address; at a cap, a new connection takes the
//     place of the oldest one still in its handshake for at least a second, else it is closed;
//   - closes a connection whose TLS handshake is not over by the handshake deadline. The bytes
//     are not parsed; the handshake counts as over once the data has changed direction four
//     times (client, server, client, server: with mutual TLS the server's second flight comes only
//     after it accepted the client's certificate), six after a TLS 1.3 HelloRetryRequest;
//   - closes a connection on which no byte moved in either direction for the idle timeout;
//   - connects to CAF only once the client sent its first byte, so a silent connection costs one
//     descriptor, and holds at most `buffer_bytes` per direction (it stops reading one side while
//     the other side's write is pending);
//   - logs refusals at most once a second, with how many there were.
#pragma once

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace almanac::tools {

struct admin_front_options {
  // The public address (a host name is resolved once, at start).
  std::string host = "127.0.0.1";
  // 0: the system picks one (admin_front::port tells which).
  std::uint16_t port = 0;
  // Where CAF listens (loopback).
  std::uint16_t inner_port = 0;
  // Default: 64 connections in all.
  std::size_t max_connections = 64;
  // Default: 16 per peer address. Every local client shares 127.0.0.1, so on loopback this is
  // only a smaller total cap; it matters for remote peers.
  std::size_t max_connections_per_peer = 16;
  // Default: 10 s from accept to the end of the TLS handshake.
  duration handshake_timeout = std::chrono::seconds{10};
  // Default: 10 min without a byte in either direction.
  duration idle_timeout = std::chrono::minutes{10};
  // Default: 64 KiB buffered per direction and connection.
  std::size_t buffer_bytes = 64 * 1024;
  // Receives the warnings (refusals, accept errors); called from the front's thread.
  std::function<void(const std::string&)> log;
};

class admin_front {
public:
  // Binds and starts the front's thread. Errors: invalid_input when the host does not resolve or
  // an option is zero; unavailable when the address cannot be bound.
  static result<std::unique_ptr<admin_front>> start(admin_front_options opts);

  virtual ~admin_front() = default;

  // The bound public port.
  virtual std::uint16_t port() const noexcept = 0;

  // Connections open now (for tests and metrics). Thread-safe.
  virtual std::size_t connections() const noexcept = 0;

  // Closes the acceptor and every connection and joins the thread. Idempotent.
  virtual void stop() = 0;
};

} // namespace almanac::tools
