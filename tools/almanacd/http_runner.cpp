#include "tools/almanacd/exec_runner.hpp"
#include "tools/almanacd/run_isolation.hpp"
#include "tools/almanacd/run_secrets.hpp"

#include <httplib.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace almanac::tools {

namespace {

struct split_url {
  std::string origin; // scheme://host[:port]
  std::string path;   // /path?query, at least "/"
};

std::optional<split_url> split(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return std::nullopt;
  auto scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    return std::nullopt;
  auto path_start = url.find('/', scheme_end + 3);
  split_url out;
  out.origin = url.substr(0, path_start);
  out.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (out.origin.size() == scheme_end + 3)
    return std::nullopt;
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

namespace {

// The run itself, once its secrets are resolved; `mask` covers what it reports.
run_outcome run_http_with(const http_target* t, const run_context& ctx, const http_options& opts,
                          const std::map<std::string, std::string>& secrets,
                          const secret_mask& mask) {
  auto parts = split(t->url);
  if (!parts)
    return {false, "invalid URL '" + t->url + "': expected http://host[:port]/path or https://...", {}};
  httplib::Client cli{parts->origin};
  cli.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(opts.connect_timeout));
  cli.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(opts.read_timeout));
  cli.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(opts.write_timeout));
  httplib::Headers headers;
  std::string content_type = "application/octet-stream";
  for (const auto* source : {&t->headers, &secrets})
    for (const auto& [k, v] : *source) {
      if (lower(k) == "content-type")
        content_type = v;
      else
        headers.emplace(k, v);
    }
  // httplib has no per-request cancel: a watcher closes the socket when the run is cancelled.
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  std::atomic<bool> stopped{false};
  std::thread watcher{[&] {
    std::unique_lock lock{mtx};
    while (!done) {
      if (ctx.cancelled()) {
        stopped = true;
        cli.stop();
        return;
      }
      cv.wait_for(lock, std::chrono::milliseconds{50});
    }
  }};
  // The answer is streamed: only its tail is kept, and reading stops at max_response_bytes
  // (counted after decompression, so a small gzip bomb stops there too).
  httplib::Request req;
  req.method = t->method.empty() ? "POST" : t->method;
  req.path = parts->path;
  req.headers = headers;
  if (req.method != "GET" && req.method != "HEAD") {
    req.body = t->body;
    req.headers.emplace("Content-Type", content_type);
  }
  masked_tail tail{mask};
  std::uint64_t received = 0;
  bool cut = false;
  // Read before the body: a cut answer has no Response afterwards, only this status.
  int status = 0;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    received += n;
    tail.append(data, n);
    cut = received > opts.max_response_bytes;
    return !cut;
  };
  // httplib keeps no errno of its own: read ours right after the failed call, before anything
  // else in this thread can change it.
  errno = 0;
  auto res = cli.send(req);
  int err = errno;
  {
    std::lock_guard guard{mtx};
    done = true;
  }
  cv.notify_all();
  watcher.join();
  if (stopped)
    return {false, "cancelled", {}};
  if (cut) {
    // The status line arrived: a 2xx target has acted, and running it again for its oversized
    // answer would repeat that.
    bool ok = status >= 200 && status < 300;
    auto note = "[answer cut after " + std::to_string(opts.max_response_bytes) + " bytes]";
    return {ok, ok ? std::string{} : "HTTP " + std::to_string(status) + " " + note,
            output_tail(tail.take() + "\n" + note)};
  }
  if (!res) {
    // Out of sockets or ephemeral ports: the daemon's shortage, not the target's refusal.
    if (res.error() == httplib::Error::Connection && is_daemon_resource_errno(err, true)) {
      run_outcome out{false,
                      std::string{daemon_resource_prefix} + "cannot open a connection: "
                        + std::strerror(err),
                      {}};
      out.infra = true;
      return out;
    }
    return {false, "request failed: " + httplib::to_string(res.error()), {}};
  }
  bool ok = res->status >= 200 && res->status < 300;
  return {ok, ok ? std::string{} : "HTTP " + std::to_string(res->status), tail.take()};
}

} // namespace

run_outcome run_http(const run_context& ctx, const http_options& opts) {
  auto* t = std::get_if<http_target>(&ctx.what);
  if (!t)
    return {false, "the http runner got a target that is not http", {}};
  // Resolved here, when the request is made, and kept no longer than this call.
  std::map<std::string, std::string> secrets;
  secret_mask mask;
  for (const auto& [name, ref] : t->secret_headers) {
    auto r = resolve_secret(ref, opts.secrets_dir);
    if (!r.ok) {
      run_outcome out{false, "header " + name + ": " + r.error, {}};
      if (r.infra) {
        out.error.insert(0, daemon_resource_prefix);
        out.infra = true;
      }
      return out;
    }
    // A line break would end the header and start another one of the value's choosing.
    if (r.value.find_first_of(std::string_view{"\r\n\0", 3}) != std::string::npos)
      return {false, "header " + name + ": secret " + to_string(ref)
                       + ": the value holds CR, LF or NUL, which no header value may", {}};
    mask.add(r.value);
    secrets[name] = std::move(r.value);
  }
  auto out = run_http_with(t, ctx, opts, secrets, mask);
  out.error = mask.apply(out.error);
  return out;
}

runner make_http_runner(http_options opts) {
  return [opts](const run_context& ctx) { return run_http(ctx, opts); };
}

} // namespace almanac::tools
