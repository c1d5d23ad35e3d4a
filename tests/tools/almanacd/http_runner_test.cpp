// The http runner against a real server on loopback that answers too much: a 200 MiB body and a
// gzip bomb (100 KiB that inflate to 100 MiB). The runner streams the answer, keeps its tail and
// stops reading at max_response_bytes, so what the daemon holds stays small whatever a target
// sends back.
#include "tools/almanacd/exec_runner.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>
#include <thread>

namespace almanac::tools {
namespace {

using namespace std::chrono_literals;

// Resident memory of this process, from /proc.
std::size_t rss_bytes() {
  std::ifstream in{"/proc/self/status"};
  std::string key;
  std::size_t kb = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> kb;
      return kb * 1024;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

// The highest RSS seen while `fn` runs, above what it was before.
template <class F>
std::size_t peak_growth(F&& fn) {
  auto base = rss_bytes();
  std::atomic<bool> done{false};
  std::atomic<std::size_t> peak{base};
  std::thread sampler{[&] {
    while (!done) {
      peak = std::max(peak.load(), rss_bytes());
      std::this_thread::sleep_for(5ms);
    }
  }};
  fn();
  done = true;
  sampler.join();
  return peak > base ? peak - base : 0;
}

std::string gzip_of_zeros(std::size_t n) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
          == Z_OK);
  std::string in(1 << 20, '\0');
  std::string out;
  char buf[1 << 16];
  for (std::size_t fed = 0; fed < n; fed += in.size()) {
    zs.next_in = reinterpret_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    bool last = fed + in.size() >= n;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buf, sizeof buf - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return out;
}

struct flood_server {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string bomb = gzip_of_zeros(std::size_t{100} << 20);

  flood_server() {
    server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      auto sent = std::make_shared<std::size_t>(0);
      res.set_chunked_content_provider("text/plain", [sent](std::size_t, httplib::DataSink& sink) {
        static const std::string chunk(1 << 16, 'x');
        if (*sent >= (std::size_t{200} << 20)) {
          sink.done();
          return true;
        }
        *sent += chunk.size();
        return sink.write(chunk.data(), chunk.size());
      });
    });
    server.Get("/bomb", [this](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Encoding", "gzip");
      res.set_content(bomb, "text/plain");
    });
    server.Get("/fail", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("out of luck", "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread{[this] { server.listen_after_bind(); }};
    // The socket is bound and listening already: a connect before the loop runs just waits.
  }
  ~flood_server() {
    server.stop();
    thread.join();
  }
};

run_outcome get(int port, const std::string& path) {
  http_target t;
  t.method = "GET";
  t.url = "http://127.0.0.1:" + std::to_string(port) + path;
  run_context ctx{run_key{}, target{t}, std::make_shared<std::atomic<bool>>(false)};
  return run_http(ctx);
}

TEST_CASE("an http answer of 200 MiB is cut at the cap and never held whole", "[tools]") {
  flood_server s;
  run_outcome out;
  auto grew = peak_growth([&] { out = get(s.port, "/big"); });
  INFO("peak RSS growth " << grew / 1024 << " KiB");
  // Held whole, the answer alone was 200 MiB; streamed, a few buffers (under ASan its
  // quarantine keeps the freed read buffers of the 16 MiB read, and the server's, a while).
  CHECK(grew < std::size_t{100} << 20);
  CHECK(out.ok);
  CHECK_THAT(out.output_tail, Catch::EndsWith("[answer cut after 16777216 bytes]"));
  CHECK(out.output_tail.size() <= max_output_tail);
}

TEST_CASE("a gzip bomb stops at the cap after decompression", "[tools]") {
  flood_server s;
  REQUIRE(s.bomb.size() < std::size_t{1} << 20);
  run_outcome out;
  auto grew = peak_growth([&] { out = get(s.port, "/bomb"); });
  INFO("peak RSS growth " << grew / 1024 << " KiB for " << s.bomb.size() << " gzip bytes");
  // Inflated whole, the answer was 100 MiB.
  CHECK(grew < std::size_t{64} << 20);
  CHECK(out.ok);
  CHECK_THAT(out.output_tail, Catch::EndsWith("[answer cut after 16777216 bytes]"));
}

TEST_CASE("a failing http answer keeps its status and body tail", "[tools]") {
  flood_server s;
  auto out = get(s.port, "/fail");
  CHECK_FALSE(out.ok);
  CHECK(out.error == "HTTP 500");
  CHECK(out.output_tail == "out of luck");
}

TEST_CASE("an http header secret is sent and masked in the answer's tail and the error", "[tools]") {
  httplib::Server server;
  std::string received;
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    received = req.get_header_value("Authorization");
    res.status = 502;
    res.set_content("you sent " + received, "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread thread{[&] { server.listen_after_bind(); }};
  ::setenv("HTTP_TEST_SECRET", "Bearer header-secret-value", 1);
  http_target t;
  t.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  t.secret_headers["Authorization"] = {secret_source::env, "HTTP_TEST_SECRET"};
  run_context ctx{run_key{}, target{t}, std::make_shared<std::atomic<bool>>(false)};
  auto out = run_http(ctx);
  ::setenv("HTTP_TEST_SECRET", "line\r\nX-Injected: 1", 1);
  auto injected = run_http(ctx);
  ::unsetenv("HTTP_TEST_SECRET");
  auto missing = run_http(ctx);
  server.stop();
  thread.join();
  CHECK(received == "Bearer header-secret-value");
  CHECK_FALSE(out.ok);
  CHECK(out.error == "HTTP 502");
  CHECK(out.output_tail == "you sent ***");
  CHECK_FALSE(injected.ok);
  CHECK_THAT(injected.error, Catch::Contains("CR, LF or NUL"));
  CHECK(injected.error.find("Injected") == std::string::npos);
  CHECK_FALSE(missing.ok);
  CHECK(missing.error == "header Authorization: secret from_env:HTTP_TEST_SECRET: the daemon's "
                         "environment has no such variable");
}

} // namespace
} // namespace almanac::tools
