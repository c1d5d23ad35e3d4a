// almanacd's HTTP server: a small Boost.Beast server (kept in http_server.cpp alone, Beast compiles
// slowly) that bounds what one peer can make the daemon hold, and refuses what a browser page may
// send on a user's behalf, all before a handler runs and before any body byte is read:
//
//   1. the TLS handshake (when a certificate is configured) within `header_deadline`, and the
//      request line and headers within `header_deadline` of the connection (or of a kept-alive
//      request's first byte); `header_bytes` and `header_fields` bound them (400 and 431);
//   2. Host must name this server: the bound address, localhost, 127.0.0.1 or [::1], with the port
//      (421 otherwise: DNS rebinding);
//   3. Origin, when present, must be http(s):// one of those (403: cross-site requests);
//   4. the bearer token, when one is configured (401; scheme case-insensitive, constant time),
//      except for a GET or HEAD of `open_path` or a path under it (static files without data);
//   5. a body only as application/json (415) and within `body_bytes` (413).
// Every refusal answers `Connection: close` and closes the connection: bytes behind a refused
// request are never parsed as a request. At `connections` open connections a new one takes the
// place of the one idle the longest (no byte of a request yet), or is answered 503 and closed when
// none is idle; over `in_flight` requests in the handler, 503. See docs/SECURITY.md.
#pragma once

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace almanac::tools {

// One request as the routes see it: headers and query decoded, the body read whole.
struct http_request {
  std::string method;
  std::string target; // as sent, with the query
  std::string path;   // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::multimap<std::string, std::string> params; // the query, decoded
  std::string body;
  std::smatch matches; // set by the router, into `path`

  // The first header of that name (case-insensitive), or "".
  std::string get_header_value(const std::string& name) const;
  bool has_header(const std::string& name) const;
  bool has_param(const std::string& name) const;
  // The first query value of that name, or "".
  std::string get_param_value(const std::string& name) const;
};

struct http_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void set_header(std::string name, std::string value);
  void set_content(std::string content, std::string content_type);
};

// Runs on one of the server's worker threads; it may block (it waits for the admin actor).
using http_handler = std::function<void(http_request&, http_response&)>;

struct http_server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0; // 0 picks one
  // When non-empty, every request needs `Authorization: Bearer <token>`.
  std::string token;
  // GET and HEAD of this path, or of one under it ("/ui": "/ui" and "/ui/..."), need no token.
  // Only for files that hold no data: the handler must answer such paths from them alone.
  std::string open_path;
  // PEM files; both set: the port speaks HTTPS only.
  std::string tls_cert;
  std::string tls_key;
  // From accept (or a kept-alive request's first byte) to the end of the headers, however slowly
  // the bytes come; the TLS handshake has as long again.
  duration header_deadline = std::chrono::seconds{10};
  // To the end of the body once the headers are in.
  duration body_deadline = std::chrono::seconds{10};
  // For the response to be taken by the peer.
  duration write_deadline = std::chrono::seconds{10};
  // A kept-alive connection waiting for its next request.
  duration idle_timeout = std::chrono::seconds{60};
  std::size_t header_bytes = 16 * 1024; // request line and headers
  std::size_t header_fields = 100;
  std::size_t body_bytes = 64 * 1024;
  std::size_t connections = 128;
  std::size_t in_flight = 32;
  std::size_t io_threads = 2;
  std::size_t workers = 4;
};

// What the server holds now (for tests and metrics).
struct http_server_stats {
  std::size_t connections = 0;
  std::size_t in_flight = 0;
  std::uint64_t refused = 0; // requests and connections answered 4xx/503 by the server itself
};

class http_server {
public:
  // Binds and starts serving; errors name the address (or the certificate) that failed.
  static result<std::unique_ptr<http_server>> start(http_server_options opts, http_handler handler);

  virtual ~http_server() = default;
  virtual std::uint16_t port() const = 0;
  virtual http_server_stats stats() const = 0;
  // Stops accepting, closes every connection and joins the threads; idempotent.
  virtual void stop() = 0;
};

} // namespace almanac::tools
