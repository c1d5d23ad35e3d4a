#include "tools/almanacd/http_server.hpp"

#include "tools/edge/endpoint.hpp"
#include "tools/edge/error_table.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace almanac::tools {

namespace beast = boost::beast;
using clock_type = std::chrono::steady_clock;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// --- request and response helpers ------------------------------------------------------------

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Percent-decoding; a malformed escape stays as it was.
std::string decode_url(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
        hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

} // namespace

std::string http_request::get_header_value(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name))
      return v;
  return {};
}

bool http_request::has_header(const std::string& name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& kv) { return iequals(kv.first, name); });
}

bool http_request::has_param(const std::string& name) const { return params.count(name) > 0; }

std::string http_request::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string{} : it->second;
}

void http_response::set_header(std::string name, std::string value) {
  for (auto& kv : headers)
    if (iequals(kv.first, name)) {
      kv.second = std::move(value);
      return;
    }
  headers.emplace_back(std::move(name), std::move(value));
}

void http_response::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  set_header("Content-Type", std::move(content_type));
}

namespace {

// --- the request parser -----------------------------------------------------------------------

// Counts header fields as they are parsed (Beast bounds only their bytes) and collects the body
// into a string only once the server has decided to read it.
class request_reader final : public http::basic_parser<true> {
public:
  request_reader(std::size_t header_bytes, std::size_t max_fields, std::size_t max_body)
    : max_fields_{max_fields}, max_body_{max_body} {
    header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(header_bytes, UINT32_MAX)));
    // The declared length is judged by the server after the token check (413), not here.
    body_limit(boost::none);
  }

  std::string method;
  std::string target;
  int version = 11;
  std::vector<std::pair<std::string, std::string>> fields;
  bool too_many_fields = false;
  bool body_too_large = false;
  std::string body;

private:
  void on_request_impl(http::verb, beast::string_view method_str, beast::string_view target_str,
                       int v, beast::error_code&) override {
    method.assign(method_str.data(), method_str.size());
    target.assign(target_str.data(), target_str.size());
    version = v;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = http::error::bad_version;
  }
  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override {
    if (fields.size() >= max_fields_) {
      too_many_fields = true;
      ec = http::error::header_limit;
      return;
    }
    fields.emplace_back(std::string{name.data(), name.size()},
                        std::string{value.data(), value.size()});
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t take(beast::string_view piece, beast::error_code& ec) {
    if (body.size() + piece.size() > max_body_) {
      body_too_large = true;
      ec = http::error::body_limit;
      return 0;
    }
    body.append(piece.data(), piece.size());
    return piece.size();
  }
  std::size_t on_body_impl(beast::string_view piece, beast::error_code& ec) override {
    return take(piece, ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view piece,
                                 beast::error_code& ec) override {
    return take(piece, ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  std::size_t max_fields_;
  std::size_t max_body_;
};

// --- a small pool for the handlers, which block on the admin actor ----------------------------

class worker_pool {
public:
  explicit worker_pool(std::size_t n) {
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~worker_pool() { stop(); }

  void post(std::function<void()> task) {
    {
      std::lock_guard lock{mx_};
      if (stopping_)
        return;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  void stop() {
    {
      std::lock_guard lock{mx_};
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    std::lock_guard lock{mx_};
    tasks_.clear();
  }

private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock{mx_};
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (stopping_)
          return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// --- the server -------------------------------------------------------------------------------

// After a refusal: how long and how much the server still reads (and drops) after its answer, so
// that closing with unread bytes does not reset the connection before the peer has read it.
constexpr auto linger_time = std::chrono::seconds{1};
constexpr std::size_t linger_bytes = 256 * 1024;

std::string json_error(std::string_view code, std::string_view message) {
  // The codes and messages here are fixed texts without quotes or backslashes.
  return std::string{"{\"error\":\""} + std::string{code} + "\",\"message\":\"" +
         std::string{message} + "\"}";
}

bool is_ip_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  asio::ip::make_address(std::string{host}, ec);
  return !ec;
}

class server_impl;

// What the server may close to make room: a connection waiting for a request's first byte.
struct connection_base {
  virtual ~connection_base() = default;
  virtual void evict() = 0;
  std::atomic<bool> idle{false};
  std::atomic<clock_type::rep> idle_since{0};
};

template <class Stream>
class session : public connection_base, public std::enable_shared_from_this<session<Stream>> {
public:
  session(server_impl& srv, Stream stream);
  ~session() override;
  void run();
  void evict() override;

private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }
  void start_request(bool first);
  void wait_idle(bool first);
  void read_header(duration deadline);
  void on_header(beast::error_code ec);
  bool check_header(http_request& req);
  void read_body();
  void on_body(beast::error_code ec);
  void dispatch();
  void write(http_response res, bool close);
  void refuse(http_refusal r, std::string_view message,
              std::vector<std::pair<std::string, std::string>> extra = {});
  bool field_lines_over_limit();
  void linger();
  void drain();
  void close();

  server_impl& srv_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<request_reader> parser_;
  http_request req_;
  bool keep_alive_ = true;
  bool head_ = false;
  bool close_after_ = false;
  http::response<http::string_body> res_;
  std::array<char, 4096> scratch_{};
  std::size_t drained_ = 0;
};

class server_impl final : public http_server {
public:
  server_impl(http_server_options opts, http_handler handler)
    : opts_{std::move(opts)}, handler_{std::move(handler)}, acceptor_{io_} {}

  ~server_impl() override { stop(); }

  result<std::uint16_t> listen() {
    if (!opts_.tls_cert.empty() || !opts_.tls_key.empty()) {
      if (opts_.tls_cert.empty() || opts_.tls_key.empty())
        return fail(errc::invalid_input, "TLS needs both a certificate and a key");
      ssl_.emplace(asio::ssl::context::tls_server);
      ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
      beast::error_code ec;
      ssl_->use_certificate_chain_file(opts_.tls_cert, ec);
      if (ec)
        return fail(errc::invalid_input,
                    "cannot use TLS certificate '" + opts_.tls_cert + "': " + ec.message());
      ssl_->use_private_key_file(opts_.tls_key, asio::ssl::context::pem, ec);
      if (ec)
        return fail(errc::invalid_input,
                    "cannot use TLS key '" + opts_.tls_key + "': " + ec.message());
    }
    std::string host = opts_.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    tcp::endpoint ep;
    auto addr = asio::ip::make_address(host, ec);
    if (!ec) {
      ep = tcp::endpoint{addr, opts_.port};
    } else {
      tcp::resolver resolver{io_};
      auto found = resolver.resolve(host, std::to_string(opts_.port), ec);
      if (ec || found.empty())
        return fail(errc::invalid_input, "cannot resolve '" + opts_.host + "'");
      ep = *found.begin();
    }
    wildcard_ = ep.address().is_unspecified();
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return fail(errc::unavailable,
                  "cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) + ": " +
                    ec.message());
    port_ = acceptor_.local_endpoint().port();
    hosts_ = {lower(opts_.host), "localhost", "127.0.0.1", "[::1]"};
    if (ep.address().is_v6() && opts_.host.front() != '[')
      hosts_.push_back("[" + lower(opts_.host) + "]");
    workers_.emplace(std::max<std::size_t>(1, std::min(opts_.workers, opts_.in_flight)));
    accept();
    for (std::size_t i = 0; i < std::max<std::size_t>(1, opts_.io_threads); ++i)
      threads_.emplace_back([this] { io_.run(); });
    return port_;
  }

  std::uint16_t port() const override { return port_; }

  http_server_stats stats() const override {
    return {connections_.load(), in_flight_.load(), refused_.load()};
  }

  void stop() override {
    if (stopped_.exchange(true))
      return;
    asio::post(io_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    io_.stop();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    if (workers_)
      workers_->stop();
  }

  // Is `hostport` (a Host header, or an Origin without its scheme) this server?
  bool names_us(std::string_view hostport, std::uint16_t default_port) const {
    auto text = lower(hostport);
    std::string host = text;
    std::uint16_t port = default_port;
    auto colon = text.rfind(':');
    auto bracket = text.rfind(']');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
      host = text.substr(0, colon);
      auto digits = text.substr(colon + 1);
      if (digits.empty() || digits.size() > 5 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
      auto n = std::stoul(digits);
      if (n > 65535)
        return false;
      port = static_cast<std::uint16_t>(n);
    }
    if (port != port_)
      return false;
    if (std::find(hosts_.begin(), hosts_.end(), host) != hosts_.end())
      return true;
    // Bound to every address: any address literal names us. A rebinding page always comes
    // through a name, never through a literal.
    return wildcard_ && is_ip_literal(host);
  }

  const http_server_options& opts() const { return opts_; }
  bool tls() const { return ssl_.has_value(); }

  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> refused_{0};

  void run_handler(std::function<void()> task) { workers_->post(std::move(task)); }

  void enlist(std::weak_ptr<connection_base> c) {
    std::lock_guard lock{registry_mx_};
    registry_.push_back(std::move(c));
  }

  // Closes the connection idle the longest (no byte of a request yet), if any: an idle flood
  // must not keep a real request out until the deadlines expire.
  bool evict_oldest_idle() {
    std::lock_guard lock{registry_mx_};
    std::shared_ptr<connection_base> oldest;
    auto live = registry_.begin();
    for (auto it = registry_.begin(); it != registry_.end(); ++it) {
      auto c = it->lock();
      if (!c)
        continue;
      *live++ = std::move(*it);
      if (c->idle && (!oldest || c->idle_since < oldest->idle_since))
        oldest = c;
    }
    registry_.erase(live, registry_.end());
    if (!oldest || !oldest->idle.exchange(false))
      return false;
    oldest->evict();
    return true;
  }
  void handle(http_request& req, http_response& res) { handler_(req, res); }

private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || stopped_)
        return;
      if (ec) {
        // Out of descriptors or the like: try again shortly rather than spin.
        auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds{50});
        timer->async_wait([this, timer](beast::error_code) {
          if (!stopped_)
            accept();
        });
        return;
      }
      on_accept(std::move(s));
      accept();
    });
  }

  void on_accept(tcp::socket s) {
    beast::error_code ec;
    s.set_option(tcp::no_delay(true), ec);
    if (connections_.load() >= opts_.connections && !evict_oldest_idle()) {
      ++refused_;
      if (!ssl_) {
        static const std::string busy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Connection: close\r\nRetry-After: 1\r\nContent-Length: " +
          std::to_string(json_error("unavailable", "too many connections").size()) + "\r\n\r\n" +
          json_error("unavailable", "too many connections");
        s.non_blocking(true, ec);
        s.write_some(asio::buffer(busy), ec);
      }
      s.shutdown(tcp::socket::shutdown_both, ec);
      s.close(ec);
      return;
    }
    if (ssl_) {
      std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(
        *this, beast::ssl_stream<beast::tcp_stream>{beast::tcp_stream{std::move(s)}, *ssl_})
        ->run();
    } else {
      std::make_shared<session<beast::tcp_stream>>(*this, beast::tcp_stream{std::move(s)})->run();
    }
  }

  // Declared before the io_context: the sessions its queue still holds at destruction count
  // themselves out and use the TLS context.
  http_server_options opts_;
  http_handler handler_;
  std::optional<asio::ssl::context> ssl_;
  std::uint16_t port_ = 0;
  bool wildcard_ = false;
  std::vector<std::string> hosts_;
  std::atomic<bool> stopped_{false};
  std::mutex registry_mx_;
  std::vector<std::weak_ptr<connection_base>> registry_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::optional<worker_pool> workers_;
};

// --- one connection ---------------------------------------------------------------------------

template <class Stream>
session<Stream>::session(server_impl& srv, Stream stream)
  : srv_{srv}, stream_{std::move(stream)}, buffer_{srv.opts().header_bytes + 4096} {
  ++srv_.connections_;
}

template <class Stream>
session<Stream>::~session() {
  --srv_.connections_;
}

template <class Stream>
void session<Stream>::run() {
  srv_.enlist(this->weak_from_this());
  // Start on the connection's strand: the accept handler ran on another.
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      self->start_request(true);
    } else {
      self->lowest().expires_after(self->srv_.opts().header_deadline);
      self->stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self](beast::error_code ec) {
                                      if (ec)
                                        return self->close();
                                      self->start_request(true);
                                    });
    }
  });
}

template <class Stream>
void session<Stream>::evict() {
  asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
}

template <class Stream>
void session<Stream>::start_request(bool first) {
  const auto& o = srv_.opts();
  parser_.emplace(o.header_bytes, o.header_fields, o.body_bytes);
  req_ = http_request{};
  close_after_ = false;
  if (buffer_.size() > 0)
    read_header(srv_.opts().header_deadline);
  else
    wait_idle(first);
}

// Until a request's first byte the connection is idle (and may be evicted); a kept-alive one
// waits the idle timeout, a new one its header deadline, which runs on from there.
template <class Stream>
void session<Stream>::wait_idle(bool first) {
  auto wait = first ? srv_.opts().header_deadline : srv_.opts().idle_timeout;
  auto since = clock_type::now();
  lowest().expires_after(wait);
  idle_since = since.time_since_epoch().count();
  idle = true;
  stream_.async_read_some(buffer_.prepare(1024), [self = this->shared_from_this(), first, since](
                                                   beast::error_code ec, std::size_t n) {
    bool was_idle = self->idle.exchange(false);
    if (ec || !was_idle)
      return self->close();
    self->buffer_.commit(n);
    auto left = self->srv_.opts().header_deadline;
    if (first)
      left -= std::chrono::duration_cast<duration>(clock_type::now() - since);
    self->read_header(std::max(left, duration{std::chrono::milliseconds{1}}));
  });
}

template <class Stream>
void session<Stream>::read_header(duration deadline) {
  lowest().expires_after(deadline);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_header(ec);
                          });
}

template <class Stream>
void session<Stream>::on_header(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
    return close();
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    if (parser_->too_many_fields || field_lines_over_limit())
      return refuse(http_refusals::too_many_headers,
                    "more than " + std::to_string(srv_.opts().header_fields) + " header fields");
    return refuse(http_refusals::header_too_large,
                  "the request line and headers are over " +
                    std::to_string(srv_.opts().header_bytes) + " bytes");
  }
  if (ec)
    return refuse(http_refusals::bad_request, "malformed request: " + ec.message());
  auto& p = *parser_;
  req_.method = p.method;
  req_.target = p.target;
  req_.headers = std::move(p.fields);
  keep_alive_ = p.keep_alive();
  head_ = p.method == "HEAD";
  if (!check_header(req_))
    return;
  bool has_body = p.chunked() || (p.content_length() && *p.content_length() > 0);
  if (!has_body)
    return dispatch();
  if (iequals(trim(req_.get_header_value("Expect")), "100-continue")) {
    lowest().expires_after(srv_.opts().write_deadline);
    static const std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(go_on),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec)
                          return self->close();
                        self->read_body();
                      });
    return;
  }
  read_body();
}

// Beast parses the fields only once the whole header is in: a header over the byte limit is
// judged by its lines. More complete lines than fields allowed (after the request line) is a
// flood of fields (431); otherwise the line or a field is too long (400).
template <class Stream>
bool session<Stream>::field_lines_over_limit() {
  auto data = buffer_.cdata();
  std::string_view seen{static_cast<const char*>(data.data()), data.size()};
  std::size_t lines = 0;
  for (auto at = seen.find('\n'); at != std::string_view::npos; at = seen.find('\n', at + 1))
    ++lines;
  return lines > srv_.opts().header_fields + 1;
}

// The checks a request passes before any body byte is read. False: refused (answered here).
template <class Stream>
bool session<Stream>::check_header(http_request& req) {
  const auto& o = srv_.opts();
  auto& p = *parser_;
  auto refused = [&](http_refusal r, std::string_view message,
                     std::vector<std::pair<std::string, std::string>> extra = {}) {
    refuse(r, message, std::move(extra));
    return false;
  };
  if (req.target.empty() || req.target.front() != '/')
    return refused(http_refusals::bad_request, "the request target must be a path");
  auto q = req.target.find('?');
  req.path = decode_url(std::string_view{req.target}.substr(0, q), false);
  if (q != std::string::npos) {
    std::string_view query = std::string_view{req.target}.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      auto pair = query.substr(0, amp);
      if (!pair.empty()) {
        auto eq = pair.find('=');
        req.params.emplace(decode_url(pair.substr(0, eq), true),
                           eq == std::string_view::npos ? std::string{}
                                                        : decode_url(pair.substr(eq + 1), true));
      }
      if (amp == std::string_view::npos)
        break;
      query.remove_prefix(amp + 1);
    }
  }
  std::size_t hosts = 0;
  for (const auto& [k, v] : req.headers)
    if (iequals(k, "Host"))
      ++hosts;
  if (hosts != 1)
    return refused(http_refusals::bad_request, "exactly one Host header is required");
  std::uint16_t default_port = srv_.tls() ? 443 : 80;
  if (!srv_.names_us(trim(req.get_header_value("Host")), default_port))
    return refused(http_refusals::misdirected_request,
                   "the Host header does not name this server (localhost or its address with "
                   "the port)");
  if (req.has_header("Origin")) {
    auto origin = lower(trim(req.get_header_value("Origin")));
    bool ok = false;
    if (origin.rfind("http://", 0) == 0)
      ok = srv_.names_us(std::string_view{origin}.substr(7), 80);
    else if (origin.rfind("https://", 0) == 0)
      ok = srv_.names_us(std::string_view{origin}.substr(8), 443);
    if (!ok)
      return refused(http_refusals::forbidden_origin, "cross-origin requests are not accepted");
  }
  bool open = !o.open_path.empty() && (req.method == "GET" || req.method == "HEAD") &&
              req.path.rfind(o.open_path, 0) == 0 &&
              (req.path.size() == o.open_path.size() || req.path[o.open_path.size()] == '/');
  if (!o.token.empty() && !open) {
    auto header = req.get_header_value("Authorization");
    auto auth = trim(header);
    std::string_view presented;
    auto space = auth.find(' ');
    if (space != std::string_view::npos && iequals(auth.substr(0, space), "Bearer"))
      presented = trim(auth.substr(space + 1));
    if (!constant_time_equal(presented, o.token))
      return refused(http_refusals::unauthorized, "a valid bearer token is required",
                     {{"WWW-Authenticate", "Bearer"}});
  }
  bool has_body = p.chunked() || (p.content_length() && *p.content_length() > 0);
  if (has_body) {
    auto type = req.get_header_value("Content-Type");
    auto media = lower(trim(std::string_view{type}.substr(0, type.find(';'))));
    if (media != "application/json")
      return refused(http_refusals::unsupported_media_type,
                     "a request body must be sent as Content-Type: application/json");
    if (p.content_length() && *p.content_length() > o.body_bytes)
      return refused(http_refusals::payload_too_large,
                     "the body is over " + std::to_string(o.body_bytes) + " bytes");
  }
  return true;
}

template <class Stream>
void session<Stream>::read_body() {
  lowest().expires_after(srv_.opts().body_deadline);
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                     self->on_body(ec);
                   });
}

template <class Stream>
void session<Stream>::on_body(beast::error_code ec) {
  if (parser_->body_too_large || ec == http::error::body_limit)
    return refuse(http_refusals::payload_too_large,
                  "the body is over " + std::to_string(srv_.opts().body_bytes) + " bytes");
  // A timeout has closed the socket already (basic_stream's deadline).
  if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
    return close();
  if (ec)
    return refuse(http_refusals::bad_request, "malformed body: " + ec.message());
  req_.body = std::move(parser_->body);
  dispatch();
}

template <class Stream>
void session<Stream>::dispatch() {
  auto& in_flight = srv_.in_flight_;
  if (in_flight.fetch_add(1) >= srv_.opts().in_flight) {
    --in_flight;
    ++srv_.refused_;
    http_response res;
    res.status = 503;
    res.set_header("Retry-After", "1");
    res.set_content(json_error("unavailable", "too many requests in progress"),
                    "application/json");
    return write(std::move(res), !keep_alive_);
  }
  lowest().expires_never();
  srv_.run_handler([self = this->shared_from_this()] {
    http_response res;
    try {
      self->srv_.handle(self->req_, res);
    } catch (const std::exception&) {
      res = http_response{};
      res.status = 500;
      res.set_content(json_error("internal", "the request failed inside the server"),
                      "application/json");
    }
    --self->srv_.in_flight_;
    asio::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
      self->write(std::move(res), !self->keep_alive_);
    });
  });
}

template <class Stream>
void session<Stream>::write(http_response res, bool close) {
  close_after_ = close_after_ || close;
  res_ = {};
  res_.version(11);
  res_.result(static_cast<unsigned>(res.status));
  for (auto& [k, v] : res.headers)
    res_.set(k, v);
  res_.keep_alive(!close_after_);
  res_.content_length(res.body.size());
  if (!head_)
    res_.body() = std::move(res.body);
  lowest().expires_after(srv_.opts().write_deadline);
  http::async_write(stream_, res_, [self = this->shared_from_this()](beast::error_code ec,
                                                                      std::size_t) {
    if (ec)
      return self->close();
    if (self->close_after_)
      return self->linger();
    self->start_request(false);
  });
}

template <class Stream>
void session<Stream>::refuse(http_refusal r, std::string_view message,
                             std::vector<std::pair<std::string, std::string>> extra) {
  ++srv_.refused_;
  head_ = false;
  http_response res;
  res.status = r.status;
  res.headers = std::move(extra);
  res.set_content(json_error(r.code, message), "application/json");
  write(std::move(res), true);
}

// The answer is out: stop sending, read (and drop) what the peer still sends for a bounded time
// and amount, then close. Nothing read here is parsed.
template <class Stream>
void session<Stream>::linger() {
  beast::error_code ec;
  lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec)
    return close();
  lowest().expires_after(linger_time);
  drained_ = 0;
  drain();
}

template <class Stream>
void session<Stream>::drain() {
  lowest().async_read_some(asio::buffer(scratch_), [self = this->shared_from_this()](
                                                     beast::error_code ec, std::size_t n) {
    self->drained_ += n;
    if (ec || self->drained_ >= linger_bytes)
      return self->close();
    self->drain();
  });
}

template <class Stream>
void session<Stream>::close() {
  beast::error_code ec;
  lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  lowest().socket().close(ec);
}

} // namespace

result<std::unique_ptr<http_server>> http_server::start(http_server_options opts,
                                                        http_handler handler) {
  auto s = std::make_unique<server_impl>(std::move(opts), std::move(handler));
  auto port = s->listen();
  if (!port)
    return std::move(port).err();
  return std::unique_ptr<http_server>{std::move(s)};
}

} // namespace almanac::tools
