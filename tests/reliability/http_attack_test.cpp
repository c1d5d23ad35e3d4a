// Attacks on the HTTP port, performed for real against the daemon's server (tools/http_server.hpp)
// and routes on 127.0.0.1 with raw sockets: slow headers, idle connections, an endless request
// line, a header flood, a request hidden in a refused body, a body sent before the token is
// checked, and the cross-site and DNS-rebinding requests a browser page can make. Every loop is
// bounded by a count and a deadline; a hang fails the test instead of blocking it.
#include "reliability_fixture.hpp"

#include "tools/http_api.hpp"
#include "tools/http_server.hpp"
#include "tools/job_json.hpp"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <thread>

namespace almanac::reliability {
namespace {

using tools::json;
using clock_type = std::chrono::steady_clock;

// The server and routes in front of a fresh scheduler.
struct attack_setup {
  scheduler_fixture f;
  std::unique_ptr<tools::http_server> server;
  int port = 0;

  explicit attack_setup(tools::http_server_options o = {}) {
    f.start();
    auto started = tools::http_server::start(
      std::move(o), tools::make_http_api(f.sys, *f.sched, {}));
    if (!started)
      FAIL("server did not start: " << started.err().message);
    server = std::move(*started);
    port = server->port();
  }

  ~attack_setup() {
    if (server)
      server->stop();
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(port); }

  std::vector<std::string> job_names() {
    auto l = f.ask<job_list>(list_request{"", "", 1000});
    REQUIRE(l.ok());
    std::vector<std::string> names;
    for (const auto& s : l->jobs)
      names.push_back(s.name);
    return names;
  }
};

struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd{f} {}
  fd_guard(fd_guard&& o) noexcept : fd{std::exchange(o.fd, -1)} {}
  fd_guard& operator=(fd_guard&&) = delete;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

fd_guard connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd_guard{fd};
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// What came back on a connection: the bytes, and whether the server closed it.
struct reply {
  std::string bytes;
  bool closed = false;

  int status() const {
    if (bytes.rfind("HTTP/1.1 ", 0) != 0 || bytes.size() < 12)
      return 0;
    return std::stoi(bytes.substr(9, 3));
  }
  bool complete() const {
    auto end = bytes.find("\r\n\r\n");
    if (end == std::string::npos)
      return false;
    auto head = bytes.substr(0, end);
    auto cl = head.find("Content-Length: ");
    if (cl == std::string::npos)
      cl = head.find("content-length: ");
    std::size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
    return bytes.size() >= end + 4 + length;
  }
  std::string body() const {
    auto end = bytes.find("\r\n\r\n");
    return end == std::string::npos ? std::string{} : bytes.substr(end + 4);
  }
};

// Reads until one whole response is in (and, with `to_close`, until the server closes), or until
// `limit` passes.
reply read_reply(int fd, std::chrono::milliseconds limit, bool to_close = false) {
  reply r;
  auto deadline = clock_type::now() + limit;
  char buf[8192];
  while (clock_type::now() < deadline) {
    if (!to_close && r.complete())
      break;
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0)
      continue;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.bytes.append(buf, static_cast<std::size_t>(n));
  }
  return r;
}

std::string request_text(const std::string& method, const std::string& path,
                         const std::string& host, const std::string& body = "",
                         const std::vector<std::string>& extra = {},
                         const std::string& type = "application/json") {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n";
  for (const auto& h : extra)
    text += h + "\r\n";
  if (!body.empty() || method == "POST")
    text += "Content-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n";
  return text + "\r\n" + body;
}

// One request on its own connection; with `to_close`, read until the server closes it.
reply round_trip(int port, const std::string& text, std::chrono::milliseconds limit = 5000ms,
                 bool to_close = false) {
  auto c = connect_to(port);
  REQUIRE(send_all(c.fd, text));
  return read_reply(c.fd, limit, to_close);
}

std::string job_body(const std::string& name) {
  return json{{"name", name},
              {"schedule", {{"kind", "every"}, {"every", "1h"}}},
              {"target", {{"kind", "handler"}, {"name", "record"}}}}
    .dump();
}

std::size_t rss_bytes() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoul(line.substr(6)) * 1024;
  return 0;
}

// Pushes `chunk` (produced on demand) until the server answers or closes, `total` bytes are out,
// or `limit` passes; returns how much was sent and what came back.
template <class Next>
std::pair<std::size_t, reply> flood(int fd, std::size_t total, Next next,
                                    std::chrono::milliseconds limit) {
  std::size_t sent = 0;
  reply r;
  std::string pending;
  auto deadline = clock_type::now() + limit;
  char buf[8192];
  while (clock_type::now() < deadline && !r.closed) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < total ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        r.bytes.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        r.closed = true;
        break;
      }
    }
    if ((p.revents & POLLOUT) && sent < total && r.bytes.empty()) {
      if (pending.empty())
        pending = next(sent);
      auto n = ::send(fd, pending.data(), std::min(pending.size(), total - sent),
                      MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        r.closed = true;
        break;
      }
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        pending.erase(0, static_cast<std::size_t>(n));
      }
    }
  }
  if (!r.closed) {
    auto rest = read_reply(fd, std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::max(clock_type::duration{1s}, deadline - clock_type::now())),
                           true);
    r.bytes += rest.bytes;
    r.closed = rest.closed;
  }
  return {sent, r};
}

TEST_CASE("slow-header connections do not stop a normal request and each is closed by the header deadline",
          "[reliability][http]") {
  tools::http_server_options o;
  o.header_deadline = 1s;
  attack_setup s{o};
  constexpr int slow_count = 10;
  std::vector<fd_guard> slow;
  for (int i = 0; i < slow_count; ++i)
    slow.push_back(connect_to(s.port));
  auto opened = clock_type::now();
  std::vector<clock_type::duration> closed_after(slow_count, clock_type::duration::max());
  std::thread dripper{[&] {
    std::string head = "GET /api/health HTTP/1.1\r\nHost: " + s.host() + "\r\nX-Slow: ";
    // A byte every 500 ms to every connection still open, for at most 8 s.
    for (std::size_t k = 0; k < 16; ++k) {
      bool any_open = false;
      for (int i = 0; i < slow_count; ++i) {
        if (closed_after[i] != clock_type::duration::max())
          continue;
        pollfd p{slow[i].fd, POLLIN, 0};
        char c;
        if (::poll(&p, 1, 0) > 0 && ::recv(slow[i].fd, &c, 1, MSG_DONTWAIT) <= 0) {
          closed_after[i] = clock_type::now() - opened;
          continue;
        }
        any_open = true;
        char byte = k < head.size() ? head[k] : 'x';
        (void) ::send(slow[i].fd, &byte, 1, MSG_NOSIGNAL);
      }
      if (!any_open)
        break;
      std::this_thread::sleep_for(500ms);
    }
  }};
  std::this_thread::sleep_for(200ms);
  auto before = clock_type::now();
  auto r = round_trip(s.port, request_text("GET", "/api/health", s.host()), 3000ms);
  auto took = clock_type::now() - before;
  dripper.join();
  CHECK(r.status() == 200);
  CHECK(took < 2s);
  for (int i = 0; i < slow_count; ++i) {
    INFO("slow connection " << i);
    CHECK(closed_after[i] < 4s);
  }
}

TEST_CASE("200 idle connections neither hang a request nor outlive the header deadline",
          "[reliability][http]") {
  tools::http_server_options o;
  o.header_deadline = 1s;
  attack_setup s{o};
  std::vector<fd_guard> idle;
  for (int i = 0; i < 200; ++i)
    idle.push_back(connect_to(s.port));
  std::this_thread::sleep_for(100ms);
  CHECK(s.server->stats().connections <= o.connections);
  // Every try is answered at once: a new connection takes the place of the one idle the longest
  // (a 503 only when none is idle).
  auto start = clock_type::now();
  int status = 0;
  for (int tries = 0; tries < 100 && status != 200 && clock_type::now() - start < 6s; ++tries) {
    auto r = round_trip(s.port, request_text("GET", "/api/health", s.host()), 3000ms);
    INFO("try " << tries << ": " << r.bytes.substr(0, 200));
    REQUIRE((r.status() == 200 || r.status() == 503));
    status = r.status();
    if (status != 200)
      std::this_thread::sleep_for(100ms);
  }
  CHECK(status == 200);
  CHECK(clock_type::now() - start < 1s);
  CHECK(s.server->stats().connections <= o.connections + 1);
  // The idle ones are all closed: by the cap at once, or by the header deadline.
  std::size_t closed = 0;
  for (auto& c : idle)
    closed += read_reply(c.fd, 3000ms, true).closed ? 1 : 0;
  CHECK(closed == idle.size());
}

TEST_CASE("a 200 MiB request line without a newline is refused after the header limit and costs no memory",
          "[reliability][http]") {
  attack_setup s;
  auto c = connect_to(s.port);
  auto rss_before = rss_bytes();
  constexpr std::size_t total = 200u << 20;
  const std::string chunk(64 * 1024, 'a');
  auto [sent, r] = flood(
    c.fd, total, [&](std::size_t sent) { return sent == 0 ? "GET /" + chunk : chunk; }, 20000ms);
  auto rss_after = rss_bytes();
  INFO("sent " << sent << " bytes; RSS " << rss_before << " -> " << rss_after << "; answer "
               << r.bytes.substr(0, 200));
  CHECK(r.closed);
  CHECK((r.status() == 400 || r.status() == 431 || r.bytes.empty()));
  // The server stops reading at its header limit: what got out is what the kernel buffers held.
  CHECK(sent < (32u << 20));
  // Buffered whole, the line alone was 200 MiB; read up to the limit, a few buffers (under ASan
  // its quarantine keeps the freed ones for a while).
  CHECK(rss_after < rss_before + (32u << 20));
}

TEST_CASE("300000 header fields are refused with 431 and the connection closed",
          "[reliability][http]") {
  attack_setup s;
  auto c = connect_to(s.port);
  std::size_t field = 0;
  auto next = [&](std::size_t sent) {
    std::string out = sent == 0 ? "GET /api/health HTTP/1.1\r\nHost: " + s.host() + "\r\n" : "";
    for (int i = 0; i < 1000; ++i)
      out += "X-F" + std::to_string(field++) + ": v\r\n";
    return out;
  };
  auto [sent, r] = flood(c.fd, 300000 * 12, next, 20000ms);
  INFO("sent " << sent << " bytes, " << field << " fields; answer " << r.bytes.substr(0, 300));
  CHECK(r.status() == 431);
  CHECK(r.closed);
  CHECK(field < 300000);
}

TEST_CASE("a request hidden in a body refused with 413 is never parsed and the connection is closed",
          "[reliability][http]") {
  attack_setup s;
  auto hidden = request_text("POST", "/api/jobs", s.host(), job_body("hidden"));
  auto text = "POST /api/jobs HTTP/1.1\r\nHost: " + s.host() +
              "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(tools::max_http_body + 1000) + "\r\n\r\n" + hidden;
  auto c = connect_to(s.port);
  REQUIRE(send_all(c.fd, text));
  auto r = read_reply(c.fd, 5000ms, true);
  INFO(r.bytes.substr(0, 400));
  CHECK(r.status() == 413);
  CHECK(r.closed);
  CHECK(r.bytes.find("HTTP/1.1 201") == std::string::npos);
  // The server has finished with the connection: a later request sees no job.
  CHECK(round_trip(s.port, request_text("GET", "/api/jobs", s.host())).status() == 200);
  CHECK(s.job_names().empty());
}

TEST_CASE("a request without the token is answered 401 before its body is sent",
          "[reliability][http]") {
  tools::http_server_options o;
  o.token = "s3cret-token";
  attack_setup s{o};
  auto body = job_body("sneaky");
  auto head = "POST /api/jobs HTTP/1.1\r\nHost: " + s.host() +
              "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n";
  auto c = connect_to(s.port);
  REQUIRE(send_all(c.fd, head));
  auto r = read_reply(c.fd, 3000ms, true);
  INFO(r.bytes.substr(0, 300));
  CHECK(r.status() == 401);
  CHECK(r.bytes.find("WWW-Authenticate: Bearer") != std::string::npos);
  CHECK(r.closed);
  CHECK(s.job_names().empty());
}

TEST_CASE("the bearer scheme is case-insensitive and a wrong token is refused",
          "[reliability][http]") {
  tools::http_server_options o;
  o.token = "s3cret-token";
  attack_setup s{o};
  for (const std::string& scheme : std::vector<std::string>{"Bearer", "bearer", "BEARER", "bEaReR"}) {
    INFO(scheme);
    auto r = round_trip(s.port, request_text("GET", "/api/health", s.host(), "",
                                           {"Authorization: " + scheme + " s3cret-token"}));
    CHECK(r.status() == 200);
  }
  for (const std::string& auth : std::vector<std::string>{"Bearer s3cret-toke", "Basic s3cret-token", "s3cret-token", "Bearer"}) {
    INFO(auth);
    CHECK(round_trip(s.port, request_text("GET", "/api/health", s.host(), "",
                                        {"Authorization: " + auth}))
            .status() == 401);
  }
  CHECK(round_trip(s.port, request_text("GET", "/api/health", s.host())).status() == 401);
}

TEST_CASE("a body that is not application/json is refused with 415 and creates nothing",
          "[reliability][http]") {
  attack_setup s;
  for (const std::string& type : std::vector<std::string>{"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x", "application/jsonp", ""}) {
    INFO("type '" << type << "'");
    auto body = job_body("plain");
    auto text = type.empty() ? "POST /api/jobs HTTP/1.1\r\nHost: " + s.host() +
                                 "\r\nContent-Length: " + std::to_string(body.size()) +
                                 "\r\n\r\n" + body
                             : request_text("POST", "/api/jobs", s.host(), body, {}, type);
    auto c = connect_to(s.port);
    REQUIRE(send_all(c.fd, text));
    auto r = read_reply(c.fd, 3000ms, true);
    CHECK(r.status() == 415);
    CHECK(r.closed);
  }
  CHECK(s.job_names().empty());
  // The same body as JSON, with parameters, is a job.
  CHECK(round_trip(s.port, request_text("POST", "/api/jobs", s.host(), job_body("plain"), {},
                                      "Application/JSON; charset=utf-8"))
          .status() == 201);
  CHECK(s.job_names() == std::vector<std::string>{"plain"});
}

TEST_CASE("a request from another origin is refused with 403 and creates nothing",
          "[reliability][http]") {
  attack_setup s;
  for (const std::string& origin : std::vector<std::string>{"http://evil.example", "null", "https://evil.example:443",
                             "http://127.0.0.1.evil.example:" + std::to_string(s.port),
                             "http://127.0.0.1:" + std::to_string(s.port + 1)}) {
    INFO(origin);
    auto r = round_trip(s.port, request_text("POST", "/api/jobs", s.host(), job_body("csrf"),
                                             {"Origin: " + origin}),
                        5000ms, true);
    CHECK(r.status() == 403);
    CHECK(r.closed);
  }
  CHECK(s.job_names().empty());
  // The server's own origin (its dashboard) may.
  CHECK(round_trip(s.port, request_text("POST", "/api/jobs", s.host(), job_body("own"),
                                      {"Origin: http://localhost:" + std::to_string(s.port)}))
          .status() == 201);
}

TEST_CASE("a Host that does not name the server is refused with 421", "[reliability][http]") {
  attack_setup s;
  auto port = std::to_string(s.port);
  for (const std::string& host : std::vector<std::string>{"evil.example:" + port, "evil.example", "rebind.attacker.test:" + port,
                           "127.0.0.1:" + std::to_string(s.port + 1), "127.0.0.1",
                           "localhost.evil.example:" + port}) {
    INFO(host);
    auto r = round_trip(s.port, request_text("GET", "/api/jobs", host), 5000ms, true);
    CHECK(r.status() == 421);
    CHECK(r.closed);
    CHECK(r.body().find("jobs") == std::string::npos);
    CHECK(round_trip(s.port, request_text("POST", "/api/jobs", host, job_body("rebound")))
            .status() == 421);
  }
  CHECK(s.job_names().empty());
  CHECK(round_trip(s.port, "GET /api/jobs HTTP/1.1\r\n\r\n").status() == 400);
  for (const std::string& host : std::vector<std::string>{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port}) {
    INFO(host);
    CHECK(round_trip(s.port, request_text("GET", "/api/jobs", host)).status() == 200);
  }
}

TEST_CASE("with a certificate the port serves HTTPS and a plain request fails cleanly",
          "[reliability][http]") {
  temp_dir dir;
  auto cert = (dir.path() / "cert.pem").string();
  auto key = (dir.path() / "key.pem").string();
  auto cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
             key + "' -out '" + cert + "' >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  tools::http_server_options o;
  o.tls_cert = cert;
  o.tls_key = key;
  attack_setup s{o};
  httplib::SSLClient client{"127.0.0.1", s.port};
  client.set_ca_cert_path(cert.c_str());
  client.enable_server_certificate_verification(true);
  client.set_read_timeout(5, 0);
  auto res = client.Get("/api/health");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(json::parse(res->body, nullptr, false).is_object());
  // Plain HTTP to the TLS port: no HTTP answer, and the connection is closed.
  auto c = connect_to(s.port);
  REQUIRE(send_all(c.fd, request_text("GET", "/api/health", s.host())));
  auto r = read_reply(c.fd, 5000ms, true);
  CHECK(r.closed);
  CHECK(r.bytes.find("HTTP/1.1 200") == std::string::npos);
  CHECK(r.bytes.find("\"status\"") == std::string::npos);
  // A bad certificate path is refused at start, naming it.
  tools::http_server_options bad;
  bad.tls_cert = (dir.path() / "missing.pem").string();
  bad.tls_key = key;
  auto refused = tools::http_server::start(bad, [](tools::http_request&, tools::http_response&) {});
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.err().message, Catch::Contains("missing.pem"));
}

} // namespace
} // namespace almanac::reliability
