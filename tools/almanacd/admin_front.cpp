#include "tools/almanacd/admin_front.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <list>
#include <thread>
#include <unordered_map>
#include <vector>

namespace almanac::tools {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

// A handshake-phase connection younger than this is never displaced by a newer one: a real
// client's handshake takes milliseconds, so one still pending after a second is stalling.
constexpr auto displace_after = std::chrono::seconds{1};

// The random of a TLS 1.3 HelloRetryRequest (RFC 8446, 4.1.3), at byte 11 of the server's first
// record (5 bytes record header, 4 handshake header, 2 legacy version).
constexpr std::array<unsigned char, 32> hello_retry_random = {
  0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
  0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
constexpr std::size_t server_prefix_bytes = 11 + hello_retry_random.size();

class front_impl;

// One client connection and, once the client has spoken, its connection to CAF.
struct session : std::enable_shared_from_this<session> {
  enum direction { from_client = 0, from_server = 1, none = 2 };

  session(front_impl& f, tcp::socket s, std::string peer_address);

  void start();
  void close(const char* why);
  void on_data(direction d, const unsigned char* data, std::size_t n);
  // Forwards `d`'s bytes: one read, then its whole write, then the next read (so at most one
  // buffer is held per direction, and a side is not read while the other's write is pending).
  void pump(direction d);
  void arm_idle();

  front_impl& front;
  tcp::socket client;
  tcp::socket inner;
  std::string peer;
  clock_type::time_point accepted = clock_type::now();
  clock_type::time_point last_activity = accepted;
  std::vector<unsigned char> up;
  std::vector<unsigned char> down;
  asio::steady_timer handshake_timer;
  asio::steady_timer idle_timer;
  // Direction changes of the data seen so far, and how many end the handshake.
  int turns = 0;
  int turns_needed = 4;
  direction last = none;
  std::array<unsigned char, server_prefix_bytes> server_prefix{};
  std::size_t server_seen = 0;
  bool established = false;
  bool closed = false;
};

class front_impl final : public admin_front {
public:
  explicit front_impl(admin_front_options o)
    : opts_(std::move(o)), acceptor_(io_), backoff_(io_), flush_timer_(io_) {}

  ~front_impl() override { stop(); }

  result<void> bind() {
    error_code ec;
    tcp::resolver resolver{io_};
    auto hosts = resolver.resolve(opts_.host, std::to_string(opts_.port), ec);
    if (ec || hosts.empty())
      return fail(errc::invalid_input, "cannot resolve '" + opts_.host + "': " + ec.message());
    std::string last_error;
    for (const auto& entry : hosts) {
      auto ep = entry.endpoint();
      acceptor_.open(ep.protocol(), ec);
      if (!ec)
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec)
        acceptor_.bind(ep, ec);
      if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) {
        port_ = acceptor_.local_endpoint().port();
        return {};
      }
      last_error = ep.address().to_string() + ": " + ec.message();
      error_code ignored;
      acceptor_.close(ignored);
    }
    return fail(errc::unavailable, "cannot listen on " + opts_.host + ":" +
                                     std::to_string(opts_.port) + ": " + last_error);
  }

  void run() {
    accept();
    thread_ = std::thread{[this] { io_.run(); }};
  }

  std::uint16_t port() const noexcept override { return port_; }

  std::size_t connections() const noexcept override { return count_.load(); }

  void stop() override {
    if (!thread_.joinable())
      return;
    asio::post(io_, [this] {
      stopping_ = true;
      error_code ignored;
      acceptor_.close(ignored);
      backoff_.cancel();
      flush_timer_.cancel();
      flush();
      // close() edits the list.
      auto all = sessions_;
      for (auto& s : all)
        s->close(nullptr);
    });
    // Every socket and timer is closed or cancelled: run() returns once their handlers ran.
    thread_.join();
  }

  const admin_front_options& opts() const { return opts_; }
  bool stopping() const { return stopping_; }

  void remove(const std::shared_ptr<session>& s) {
    auto it = std::find(sessions_.begin(), sessions_.end(), s);
    if (it == sessions_.end())
      return;
    sessions_.erase(it);
    count_.store(sessions_.size());
    if (auto p = per_peer_.find(s->peer); p != per_peer_.end() && --p->second == 0)
      per_peer_.erase(p);
  }

  // Logs `what` now, or counts it for a summary a second after the last line.
  void warn(const std::string& what) {
    if (!opts_.log)
      return;
    auto now = clock_type::now();
    if (now - last_log_ >= std::chrono::seconds{1}) {
      last_log_ = now;
      opts_.log(what);
      return;
    }
    ++suppressed_;
    latest_ = what;
    if (flush_armed_ || stopping_)
      return;
    flush_armed_ = true;
    flush_timer_.expires_at(last_log_ + std::chrono::seconds{1});
    flush_timer_.async_wait([this](error_code) {
      flush_armed_ = false;
      flush();
    });
  }

private:
  void flush() {
    if (suppressed_ == 0 || !opts_.log)
      return;
    last_log_ = clock_type::now();
    opts_.log(std::to_string(suppressed_) + " more in the last second, the latest: " + latest_);
    suppressed_ = 0;
  }

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (stopping_ || ec == asio::error::operation_aborted)
        return;
      if (ec) {
        // Out of descriptors (or memory): retrying at once would spin; the backlog waits.
        warn("admin port: accept failed: " + ec.message());
        backoff_.expires_after(std::chrono::milliseconds{100});
        backoff_.async_wait([this](error_code e) {
          if (!e && !stopping_)
            accept();
        });
        return;
      }
      admit(std::move(s));
      accept();
    });
  }

  // The oldest connection still in its handshake for at least displace_after, of `peer` or of
  // anyone when `peer` is null.
  std::shared_ptr<session> displaceable(const std::string* peer) {
    auto cutoff = clock_type::now() - displace_after;
    for (auto& s : sessions_)
      if (!s->established && s->accepted <= cutoff && (!peer || s->peer == *peer))
        return s;
    return nullptr;
  }

  void admit(tcp::socket s) {
    error_code ec;
    auto remote = s.remote_endpoint(ec);
    if (ec)
      return; // gone already
    auto peer = remote.address().to_string();
    auto over_peer = per_peer_[peer] >= opts_.max_connections_per_peer;
    auto over_all = sessions_.size() >= opts_.max_connections;
    if (over_peer || over_all) {
      auto victim = over_peer ? displaceable(&peer) : displaceable(nullptr);
      if (!victim) {
        if (per_peer_[peer] == 0)
          per_peer_.erase(peer);
        warn("admin port: refused a connection from " + peer + ": " +
             (over_peer ? std::to_string(opts_.max_connections_per_peer) +
                            " connections from this address already"
                        : std::to_string(opts_.max_connections) + " connections already"));
        s.close(ec);
        return;
      }
      warn("admin port: closed a connection from " + victim->peer +
           " still in its handshake, for a new one from " + peer + " (connection cap)");
      victim->close(nullptr);
    }
    ++per_peer_[peer];
    auto sess = std::make_shared<session>(*this, std::move(s), peer);
    sessions_.push_back(sess);
    count_.store(sessions_.size());
    sess->start();
  }

  admin_front_options opts_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  asio::steady_timer flush_timer_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> count_{0};
  bool stopping_ = false;
  std::list<std::shared_ptr<session>> sessions_;
  std::unordered_map<std::string, std::size_t> per_peer_;
  clock_type::time_point last_log_{};
  std::size_t suppressed_ = 0;
  std::string latest_;
  bool flush_armed_ = false;
};

session::session(front_impl& f, tcp::socket s, std::string peer_address)
  : front(f),
    client(std::move(s)),
    inner(client.get_executor()),
    peer(std::move(peer_address)),
    up(f.opts().buffer_bytes),
    down(f.opts().buffer_bytes),
    handshake_timer(client.get_executor()),
    idle_timer(client.get_executor()) {}

void session::start() {
  auto self = shared_from_this();
  handshake_timer.expires_after(front.opts().handshake_timeout);
  handshake_timer.async_wait([self](error_code ec) {
    if (!ec && !self->established)
      self->close("no TLS handshake within the deadline");
  });
  arm_idle();
  // CAF is reached only once the client has said something.
  client.async_read_some(asio::buffer(up), [self](error_code ec, std::size_t n) {
    if (self->closed)
      return;
    if (ec)
      return self->close(nullptr);
    self->on_data(from_client, self->up.data(), n);
    tcp::endpoint inner_ep{asio::ip::address_v4::loopback(), self->front.opts().inner_port};
    self->inner.async_connect(inner_ep, [self, n](error_code ec) {
      if (self->closed)
        return;
      if (ec)
        return self->close("cannot reach the middleman's inner port");
      asio::async_write(self->inner, asio::buffer(self->up.data(), n),
                        [self](error_code ec, std::size_t) {
                          if (self->closed)
                            return;
                          if (ec)
                            return self->close(nullptr);
                          self->pump(from_client);
                        });
      self->pump(from_server);
    });
  });
}

void session::pump(direction d) {
  auto self = shared_from_this();
  auto& from = d == from_client ? client : inner;
  auto& buf = d == from_client ? up : down;
  from.async_read_some(asio::buffer(buf), [self, d, &buf](error_code ec, std::size_t n) {
    if (self->closed)
      return;
    if (ec)
      return self->close(nullptr);
    self->on_data(d, buf.data(), n);
    auto& to = d == from_client ? self->inner : self->client;
    asio::async_write(to, asio::buffer(buf.data(), n), [self, d](error_code ec, std::size_t) {
      if (self->closed)
        return;
      if (ec)
        return self->close(nullptr);
      self->pump(d);
    });
  });
}

void session::on_data(direction d, const unsigned char* data, std::size_t n) {
  last_activity = clock_type::now();
  if (established)
    return;
  if (d == from_server && server_seen < server_prefix.size()) {
    auto take = std::min(n, server_prefix.size() - server_seen);
    std::memcpy(server_prefix.data() + server_seen, data, take);
    server_seen += take;
    // A handshake record (22) holding a ServerHello (2) with the retry random: one more round.
    if (server_seen == server_prefix.size() && server_prefix[0] == 22 && server_prefix[5] == 2
        && std::equal(hello_retry_random.begin(), hello_retry_random.end(),
                      server_prefix.begin() + 11))
      turns_needed = 6;
  }
  if (d != last) {
    last = d;
    ++turns;
  }
  if (turns >= turns_needed && (turns_needed == 6 || server_seen == server_prefix.size())) {
    established = true;
    handshake_timer.cancel();
  }
}

void session::arm_idle() {
  auto self = shared_from_this();
  idle_timer.expires_at(last_activity + front.opts().idle_timeout);
  idle_timer.async_wait([self](error_code ec) {
    if (ec || self->closed)
      return;
    if (clock_type::now() - self->last_activity >= self->front.opts().idle_timeout)
      return self->close("idle for the idle timeout");
    self->arm_idle();
  });
}

void session::close(const char* why) {
  if (closed)
    return;
  closed = true;
  if (why && !front.stopping())
    front.warn("admin port: closed a connection from " + peer + ": " + why);
  error_code ignored;
  client.close(ignored);
  inner.close(ignored);
  handshake_timer.cancel();
  idle_timer.cancel();
  front.remove(shared_from_this());
}

} // namespace

result<std::unique_ptr<admin_front>> admin_front::start(admin_front_options opts) {
  if (opts.max_connections == 0 || opts.max_connections_per_peer == 0 || opts.buffer_bytes == 0
      || opts.handshake_timeout <= duration::zero() || opts.idle_timeout <= duration::zero())
    return fail(errc::invalid_input,
                "admin front: connection caps, buffer size and timeouts must be positive");
  if (opts.inner_port == 0)
    return fail(errc::invalid_input, "admin front: no inner port");
  auto front = std::make_unique<front_impl>(std::move(opts));
  if (auto b = front->bind(); !b)
    return std::move(b).err();
  front->run();
  return std::unique_ptr<admin_front>{std::move(front)};
}

} // namespace almanac::tools
