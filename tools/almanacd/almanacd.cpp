// `almanacd`: the Almanac daemon. Opens a data directory, recovers every job, runs exec and http
// targets, publishes the admin gate (admin_gate.hpp) for the `almanac` CLI and serves the HTTP
// JSON API (http_api.hpp). Prints `ready admin=HOST:PORT http=HOST:PORT` on stdout once it
// accepts work; logs to stderr or --log-file; SIGTERM, SIGINT, SIGQUIT, SIGUSR1 and SIGUSR2 stop
// it gracefully, SIGHUP reopens the log file. See docs/TOOLS.md.
#include "tools/edge/admin_client.hpp"
#include "tools/almanacd/admin_front.hpp"
#include "tools/almanacd/admin_gate.hpp"
#include "tools/edge/admin_tls.hpp"
#include "tools/edge/credentials.hpp"
#include "tools/edge/endpoint.hpp"
#include "tools/edge/error_table.hpp"
#include "tools/almanacd/exec_runner.hpp"
#include "tools/almanacd/http_api.hpp"
#include "tools/almanacd/ui_assets.hpp"
#include <nlohmann/json.hpp>
#include "tools/almanacd/run_isolation.hpp"

#include <almanac/almanac.hpp>
#include <almanac/time.hpp>
#include <almanac/version.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace almanac;
using namespace almanac::tools;
using nlohmann::json;

namespace {

// What the command line and the config file may set; the command line wins.
struct daemon_options {
  std::optional<std::string> data;
  // The log in PostgreSQL (a postgresql:// URI) instead of RocksDB in the data directory.
  std::optional<std::string> store;
  std::optional<std::string> admin;
  std::optional<std::string> http;
  std::optional<std::string> config;
  std::optional<std::string> log_level;
  std::optional<std::string> log_file;
  std::optional<std::string> run_isolation;
  std::optional<std::string> grace;
  std::optional<std::string> passivate_after;
  std::optional<std::string> secret;
  std::optional<std::string> token;
  std::optional<std::string> secret_file;
  std::optional<std::string> token_file;
  std::optional<bool> demo;
  std::optional<bool> quarantine;
  // Command line only: accepting the loss of a damaged log is a decision for one start.
  bool salvage = false;
  std::optional<bool> no_http;
  std::optional<std::size_t> workers;
  std::optional<std::uint64_t> max_jobs;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> exec_env_allow;
  // The admin port's mutual TLS (all three, or none: generated in DATA/credentials).
  std::optional<std::string> admin_tls_cert;
  std::optional<std::string> admin_tls_key;
  std::optional<std::string> admin_tls_ca;
  // Command line only: the admin front's limits (admin_front.hpp).
  admin_front_options admin_front;
  std::optional<std::string> admin_handshake_timeout;
  std::optional<std::string> admin_idle_timeout;
};

struct usage_error {
  std::string message;
};

// The config file: a JSON object with the long option names as keys ("data", "store", "admin", "http",
// "log_level", "log_file", "run_isolation", "grace", "passivate_after", "secret", "token",
// "secret_file", "token_file", "demo", "quarantine", "no_http", "workers", "tls_cert", "tls_key",
// "max_jobs", "exec_env_allow", "admin_tls_cert", "admin_tls_key", "admin_tls_ca").
void merge_config(daemon_options& o) {
  std::ifstream in{*o.config};
  if (!in)
    throw usage_error{"cannot read config file '" + *o.config + "'"};
  auto j = json::parse(in, nullptr, false);
  if (!j.is_object())
    throw usage_error{"config file '" + *o.config + "' is not a JSON object"};
  // A secret in a file others can read is no secret (ssh refuses such keys the same way).
  struct stat st {};
  bool store_password = j.contains("store") && j["store"].is_string()
                        && store_uri_has_password(j["store"].get<std::string>());
  if ((j.contains("secret") || j.contains("token") || store_password)
      && ::stat(o.config->c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    throw usage_error{"config file '" + *o.config + "' holds a secret, token or database password "
                      "and is readable by others (mode " + mode_text(st.st_mode) + "): chmod 600 it"};
  auto str = [&](const char* key, std::optional<std::string>& slot) {
    if (!j.contains(key))
      return;
    if (!j[key].is_string())
      throw usage_error{std::string{"config "} + key + ": must be a string"};
    if (!slot)
      slot = j[key].get<std::string>();
  };
  auto flag = [&](const char* key, std::optional<bool>& slot) {
    if (!j.contains(key))
      return;
    if (!j[key].is_boolean())
      throw usage_error{std::string{"config "} + key + ": must be true or false"};
    if (!slot)
      slot = j[key].get<bool>();
  };
  for (auto& [key, v] : j.items()) {
    static constexpr std::string_view known[] = {"data", "store",  "admin", "http",       "log_level",
                                                 "log_file", "run_isolation",
                                                 "grace",  "secret", "token",     "demo",
                                                 "quarantine", "no_http", "workers",
                                                 "passivate_after", "tls_cert", "tls_key",
                                                 "secret_file", "token_file", "max_jobs",
                                                 "exec_env_allow", "admin_tls_cert",
                                                 "admin_tls_key", "admin_tls_ca"};
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      throw usage_error{"config " + key + ": unknown setting"};
  }
  str("data", o.data);
  str("store", o.store);
  str("admin", o.admin);
  str("http", o.http);
  str("log_level", o.log_level);
  str("log_file", o.log_file);
  str("run_isolation", o.run_isolation);
  str("grace", o.grace);
  str("passivate_after", o.passivate_after);
  str("secret", o.secret);
  str("token", o.token);
  str("secret_file", o.secret_file);
  str("token_file", o.token_file);
  str("tls_cert", o.tls_cert);
  str("tls_key", o.tls_key);
  str("exec_env_allow", o.exec_env_allow);
  str("admin_tls_cert", o.admin_tls_cert);
  str("admin_tls_key", o.admin_tls_key);
  str("admin_tls_ca", o.admin_tls_ca);
  flag("demo", o.demo);
  flag("quarantine", o.quarantine);
  flag("no_http", o.no_http);
  if (j.contains("workers")) {
    if (!j["workers"].is_number_unsigned())
      throw usage_error{"config workers: must be a positive number"};
    if (!o.workers)
      o.workers = j["workers"].get<std::size_t>();
  }
  if (j.contains("max_jobs")) {
    if (!j["max_jobs"].is_number_unsigned())
      throw usage_error{"config max_jobs: must be a positive number"};
    if (!o.max_jobs)
      o.max_jobs = j["max_jobs"].get<std::uint64_t>();
  }
}

spdlog::level::level_enum parse_level(const std::string& text) {
  if (text == "debug")
    return spdlog::level::debug;
  if (text == "info")
    return spdlog::level::info;
  if (text == "warning" || text == "warn")
    return spdlog::level::warn;
  if (text == "error")
    return spdlog::level::err;
  throw usage_error{"--log-level: '" + text + "' is not debug, info, warning or error"};
}

endpoint endpoint_or(const std::optional<std::string>& text, std::uint16_t port, const char* what) {
  if (!text)
    return endpoint{"127.0.0.1", port};
  auto e = parse_endpoint(*text);
  if (!e)
    throw usage_error{std::string{what} + ": " + e.err().message};
  return *e;
}

// Demo jobs for an empty data directory: something that succeeds often, a cron job, and one that
// fails until it is failed (to try `almanac resume --force` on).
void create_demo_jobs(caf::actor_system& sys, const admin_actor& admin,
                      std::shared_ptr<spdlog::logger> log) {
  auto existing = ask<job_list>(sys, admin, std::chrono::seconds{30}, list_request{"", "", 1});
  if (!existing || !existing->jobs.empty())
    return;
  auto make = [](std::string name, schedule s, std::vector<std::string> argv,
                 std::optional<std::uint32_t> max_errors) {
    job_spec spec;
    spec.name = std::move(name);
    spec.sched = std::move(s);
    spec.what = exec_target{std::move(argv), {}, {}};
    spec.policies.max_consecutive_errors = max_errors;
    spec.policies.backoff = {std::chrono::seconds{5}};
    return spec;
  };
  std::vector<job_spec> specs;
  specs.push_back(make("demo-heartbeat", every_schedule{std::chrono::seconds{10}, {}, {}},
                       {"true"}, std::nullopt));
  specs.push_back(make("demo-nightly", *make_cron("0 3 * * *", "UTC"), {"date", "-u"}, std::nullopt));
  specs.push_back(make("demo-failing", every_schedule{std::chrono::seconds{15}, {}, {}},
                       {"false"}, 3));
  for (auto& spec : specs) {
    auto name = spec.name;
    auto r = ask<job_state>(sys, admin, std::chrono::seconds{30},
                            create_request{std::move(spec), "system:demo", "demo job"});
    if (r)
      log->info("demo job '{}' created: {}", name, to_string(r->id));
    else
      log->warn("demo job '{}' not created: {}", name, r.err().message);
  }
}

// Holds DIR/almanacd.lock (flock) for the daemon's lifetime, so a second almanacd on the same
// directory stops before it touches the store, with a message naming the holder. The store
// takes its own lock too; this one does not rely on its open() reporting the refusal.
int lock_data_dir(const std::string& dir) {
  if (auto made = make_data_directory(dir); !made)
    throw usage_error{made.err().message};
  auto path = std::filesystem::path{dir} / "almanacd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw usage_error{"cannot open " + path.string() + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    auto n = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    return n > 0 ? std::atoi(holder) : -1;
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // nop: the pid is only for the message a second daemon prints
  }
  return 0;
}

// The log file of --log-file: appended to, and reopened by name on SIGHUP so that logrotate can
// move it away (the next line goes to a new file of that name).
class reopenable_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit reopenable_file_sink(std::string path) : path_(std::move(path)) {
    if (!open_file())
      throw usage_error{"--log-file: cannot open '" + path_ + "': " + std::strerror(errno)};
  }
  ~reopenable_file_sink() override {
    if (file_)
      std::fclose(file_);
  }
  // Returns false (the old file kept) when the path cannot be opened.
  bool reopen() {
    std::lock_guard guard{mutex_};
    return open_file();
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), file_);
  }
  void flush_() override { std::fflush(file_); }

private:
  bool open_file() {
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
      return false;
    auto* f = ::fdopen(fd, "a");
    if (!f) {
      ::close(fd);
      return false;
    }
    if (file_)
      std::fclose(file_);
    file_ = f;
    return true;
  }
  std::string path_;
  std::FILE* file_ = nullptr;
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

// The shim next to the daemon's own binary (found through /proc/self/exe, so a symlinked or
// copied almanacd finds the shim installed beside the real file).
std::filesystem::path exec_shim_path() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return {};
  return self.parent_path() / "almanac-exec";
}

// The soft RLIMIT_NOFILE the daemon was started with (its runs get it back), after raising its
// own to the hard limit: it polls (never select), and every run costs it two pipes.
std::uint64_t raise_nofile_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 0;
  auto original = static_cast<std::uint64_t>(lim.rlim_cur);
  if (lim.rlim_cur != lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
      return 0;
  }
  return original;
}

// Fills an empty `secret` (and `token`, when HTTP is served) from DATA/credentials/, generating
// the files on first use. Throws usage_error naming the file that is unusable.
// `secret_file` and `token_file` become the files used, for the connection record.
void generate_missing_credentials(const std::string& data, std::string& secret, std::string& token,
                                  bool serve_http, std::filesystem::path& secret_file,
                                  std::filesystem::path& token_file, spdlog::logger& log) {
  if (!secret.empty() && (!serve_http || !token.empty()))
    return;
  auto dir = credentials_dir(data, true);
  if (!dir)
    throw usage_error{dir.err().message};
  auto fill = [&](std::string& slot, std::filesystem::path& file, const char* name,
                  const char* what) {
    if (!slot.empty())
      return;
    file = std::filesystem::absolute(*dir / name);
    bool generated = false;
    auto v = load_or_generate_credential(*dir / name, generated);
    if (!v)
      throw usage_error{v.err().message};
    slot = std::move(*v);
    if (generated)
      log.info("generated the {} into {} (the almanac CLI finds it there)", what,
               (*dir / name).string());
  };
  fill(secret, secret_file, admin_secret_file, "admin secret");
  if (serve_http)
    fill(token, token_file, http_token_file, "HTTP bearer token");
}

// The admin port's identity: the files given by --admin-tls-*, checked (no client side then), or
// the set generated in DATA/credentials (admin_tls.hpp). Empty after logging why when neither is
// usable.
std::optional<admin_credentials> admin_tls_setup(const daemon_options& o, spdlog::logger& log) {
  if (o.admin_tls_cert) {
    admin_tls_files given{*o.admin_tls_cert, *o.admin_tls_key, *o.admin_tls_ca};
    if (auto c = check_admin_tls_files(given); !c) {
      log.critical("--admin-tls-cert/--admin-tls-key/--admin-tls-ca: {}", c.err().message);
      return std::nullopt;
    }
    return admin_credentials{given, {}, false};
  }
  auto dir = std::filesystem::path{*o.data} / credentials_dir_name;
  auto made = ensure_admin_certificates(dir);
  if (!made) {
    log.critical("admin port certificates in {}: {}", dir.string(), made.err().message);
    return std::nullopt;
  }
  if (made->generated)
    log.info("generated the admin port's private CA and certificates in {}; a remote almanac "
             "needs admin-client.pem, admin-client.key and admin-ca.pem from there",
             dir.string());
  return *made;
}

// Stops CAF's listener on the inner port (caf/openssl/unpublish.hpp does not compile on 0.17.6).
void unpublish_admin_gate(const caf::actor& gate, std::uint16_t inner_port) {
  caf::anon_send(gate.home_system().openssl_manager().actor_handle(), caf::unpublish_atom::value,
                 gate.address(), inner_port);
}

// The admin gate on CAF's middleman with mutual TLS, on an ephemeral loopback port, behind the
// front on the public endpoint. Returns the front (its port is the public one) and sets
// `inner_port`; empty after logging why.
std::unique_ptr<admin_front> open_admin_port(const caf::actor& gate, const endpoint& ep,
                                             admin_front_options fo, std::uint16_t& inner_port,
                                             std::shared_ptr<spdlog::logger> log) {
  auto& sys = gate.home_system();
  auto published = caf::openssl::publish(gate, 0, "127.0.0.1", false);
  if (!published) {
    log->critical("cannot publish the admin gate on 127.0.0.1: {}", sys.render(published.error()));
    return nullptr;
  }
  inner_port = *published;
  fo.host = ep.host;
  fo.port = ep.port;
  fo.inner_port = inner_port;
  fo.log = [log](const std::string& line) { log->warn(line); };
  auto front = admin_front::start(std::move(fo));
  if (!front) {
    log->critical("cannot serve the admin port on {}: {}", ep.to_string(), front.err().message);
    unpublish_admin_gate(gate, inner_port);
    return nullptr;
  }
  return std::move(*front);
}

int run_daemon(daemon_options o, std::uint64_t original_nofile) {
  bool store_on_command_line = o.store.has_value();
  if (o.config)
    merge_config(o);
  if (!o.data)
    throw usage_error{"--data DIR is required (on the command line or in the config file): it "
                      "holds the log, or with --store the node's credentials and run secrets"};
  if (o.store && o.store->rfind("postgresql://", 0) != 0 && o.store->rfind("postgres://", 0) != 0)
    throw usage_error{"--store: not a postgresql:// URI (a RocksDB log lives in --data)"};
  auto admin_ep = endpoint_or(o.admin, default_admin_port, "--admin");
  auto http_ep = endpoint_or(o.http, default_http_port, "--http");
  auto grace = o.grace ? parse_duration(*o.grace) : result<duration>{std::chrono::seconds{30}};
  if (!grace)
    throw usage_error{"--grace: " + grace.err().message};
  std::optional<duration> passivate_after;
  if (o.passivate_after) {
    auto d = parse_duration(*o.passivate_after);
    if (!d || *d < duration::zero())
      throw usage_error{"--passivate-after: " +
                        (d ? std::string{"must not be negative"} : d.err().message)};
    passivate_after = *d;
  }
  if (o.max_jobs && *o.max_jobs == 0)
    throw usage_error{"--max-jobs: must be at least 1"};
  auto level = parse_level(o.log_level.value_or("info"));
  auto isolation = o.run_isolation.value_or("auto");
  if (isolation != "auto" && isolation != "process-group")
    throw usage_error{"--run-isolation: '" + isolation + "' is not auto or process-group"};
  std::string secret = o.secret.value_or("");
  std::string token = o.token.value_or("");
  bool serve_http = !o.no_http.value_or(false);
  // Short credentials fall to guessing; 16 bytes of randomness is the floor.
  if (!secret.empty() && secret.size() < min_credential_bytes)
    throw usage_error{"--secret: at least " + std::to_string(min_credential_bytes) +
                      " bytes, got " + std::to_string(secret.size())};
  if (!token.empty() && token.size() < min_credential_bytes)
    throw usage_error{"--token: at least " + std::to_string(min_credential_bytes) +
                      " bytes, got " + std::to_string(token.size())};
  auto env_allow = o.exec_env_allow ? parse_exec_env_allow(*o.exec_env_allow)
                                    : result<std::vector<std::string>>{default_exec_env_allow()};
  if (!env_allow)
    throw usage_error{"--exec-env-allow: " + env_allow.err().message};
  if (o.tls_cert.has_value() != o.tls_key.has_value())
    throw usage_error{"--tls-cert and --tls-key go together"};
  if (!secret.empty() && o.secret_file)
    throw usage_error{"--secret and --secret-file exclude each other"};
  if (!token.empty() && o.token_file)
    throw usage_error{"--token and --token-file exclude each other"};
  // Read now, so that a bad file is a usage error before anything starts.
  auto read_file = [](const std::string& file, const char* flag) {
    auto v = read_credential_file(file);
    if (!v)
      throw usage_error{std::string{flag} + ": " + v.err().message};
    return *v;
  };
  std::filesystem::path secret_file, token_file;
  if (o.secret_file) {
    secret = read_file(*o.secret_file, "--secret-file");
    secret_file = std::filesystem::absolute(*o.secret_file);
  }
  if (o.token_file) {
    token = read_file(*o.token_file, "--token-file");
    token_file = std::filesystem::absolute(*o.token_file);
  }
  if (o.admin_tls_cert.has_value() != o.admin_tls_key.has_value()
      || o.admin_tls_cert.has_value() != o.admin_tls_ca.has_value())
    throw usage_error{"--admin-tls-cert, --admin-tls-key and --admin-tls-ca go together (or none: "
                      "the daemon generates its own in DATA/credentials)"};
  for (auto [text, slot, what] :
       {std::tuple{&o.admin_handshake_timeout, &o.admin_front.handshake_timeout,
                   "--admin-handshake-timeout"},
        std::tuple{&o.admin_idle_timeout, &o.admin_front.idle_timeout, "--admin-idle-timeout"}}) {
    if (!*text)
      continue;
    auto d = parse_duration(**text);
    if (!d || *d <= duration::zero())
      throw usage_error{std::string{what} + ": " +
                        (d ? std::string{"must be positive"} : d.err().message)};
    *slot = *d;
  }
  if (o.admin_front.max_connections == 0 || o.admin_front.max_connections_per_peer == 0)
    throw usage_error{"--admin-max-connections and --admin-max-connections-per-peer must be "
                      "positive"};

  std::shared_ptr<reopenable_file_sink> log_file;
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (o.log_file) {
    log_file = std::make_shared<reopenable_file_sink>(*o.log_file);
    sink = log_file;
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto log = std::make_shared<spdlog::logger>("almanacd", sink);
  log->set_level(level);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  log->flush_on(spdlog::level::trace);

  // Every thread the daemon starts from here on inherits this mask; the main thread takes the
  // signals with sigwait, so no handler ever runs on an actor or worker thread.
  // SIGHUP's default (death) would leave the runs behind; SIGQUIT's would dump core mid-append.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGHUP})
    sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  log->info("almanacd {} starting: pid {}, data {}, log in {}", almanac::version, ::getpid(),
            *o.data, o.store ? describe_store(*o.store) : "the data directory (RocksDB)");
  if (o.store && store_on_command_line && store_uri_has_password(*o.store))
    log->warn("--store holds a password, which every local user can read in the process list: "
              "put it in PGPASSFILE (or a 0600 config file) instead");
  if (o.salvage)
    log->warn("--salvage: a damaged write-ahead log will be accepted; what cannot be read back is "
              "lost and recorded as such");
  if (auto holder = lock_data_dir(*o.data); holder != 0) {
    log->critical("data directory {} is in use by another almanacd{}", *o.data,
                  holder > 0 ? " (pid " + std::to_string(holder) + ")" : std::string{});
    return exit_refused;
  }
  // An existing directory keeps the mode its owner gave it; a shared one is worth a word, since
  // the log holds every job's targets.
  if (struct stat st {}; ::stat(o.data->c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    log->warn("data directory {} is accessible to others (mode {}): the log holds every job's "
              "targets; consider chmod 700", *o.data, mode_text(st.st_mode));
  // Loopback is no authentication boundary (every local user reaches 127.0.0.1): what is not
  // given is generated once into the data directory, where only its owner can read it.
  try {
    generate_missing_credentials(*o.data, secret, token, serve_http, secret_file, token_file,
                                 *log);
  } catch (const usage_error& e) {
    log->critical("cannot start on {}: {}", *o.data, e.message);
    return exit_refused;
  }
  auto admin_tls = admin_tls_setup(o, *log);
  if (!admin_tls)
    return exit_refused;
  caf::actor_system_config cfg;
  add_message_types(cfg);
  use_work_sharing(cfg);
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  // Setting any of them turns on CAF's certificate checks, both ways (mutual TLS).
  cfg.set("openssl.certificate", admin_tls->server.certificate.string());
  cfg.set("openssl.key", admin_tls->server.key.string());
  cfg.set("openssl.cafile", admin_tls->server.ca.string());
  caf::actor_system sys{cfg};
  // Before anything runs again: kill what runs of a crashed daemon left behind, so a fire that is
  // re-run never runs beside its first attempt.
  exec_options xo;
  xo.shim = exec_shim_path();
  if (xo.shim.empty() || ::access(xo.shim.c_str(), X_OK) != 0) {
    log->critical("cannot find the exec shim {}: install almanac-exec next to almanacd",
                  xo.shim.string());
    return exit_refused;
  }
  xo.child_nofile = original_nofile;
  xo.env_allow = *env_allow;
  // Secret files of from_file references, checked at each read.
  xo.secrets_dir = std::filesystem::path{*o.data} / "secrets";
  std::string why;
  xo.instance = data_dir_instance(*o.data, why);
  if (xo.instance.empty()) {
    log->critical("cannot start on {}: {}", *o.data, why);
    return exit_refused;
  }
  if (isolation == "auto")
    xo.cgroup_parent = prepare_cgroup_parent(xo.instance, why);
  else
    why = "--run-isolation process-group";
  if (!xo.cgroup_parent.empty())
    log->info("runs are isolated in cgroups under {}", xo.cgroup_parent.string());
  else
    log->warn("runs are isolated in process groups only ({}): a `setsid` child is found by its "
              "ALMANAC_INSTANCE environment variable, unless it clears it",
              why);
  auto swept = sweep_leftover_runs(xo.cgroup_parent, xo.instance, std::chrono::seconds{2});
  if (swept.processes > 0 || swept.cgroups > 0)
    log->warn("killed {} processes in {} run cgroups left by an earlier daemon", swept.processes,
              swept.cgroups);
  if (swept.survivors > 0) {
    log->critical("{} processes of earlier runs survived SIGKILL; not starting, so that no run "
                  "runs twice",
                  swept.survivors);
    return exit_refused;
  }

  scheduler_options so;
  so.data_dir = *o.data;
  if (o.store)
    so.store = *o.store;
  so.settings.quarantine_undecodable = o.quarantine.value_or(false);
  so.salvage = o.salvage;
  if (passivate_after)
    so.settings.passivate_after = *passivate_after;
  if (o.workers)
    so.executor.workers = *o.workers;
  if (o.max_jobs)
    so.settings.max_jobs = *o.max_jobs;
  so.executor.exec_runner = make_exec_runner(xo);
  http_options hopts;
  hopts.secrets_dir = xo.secrets_dir;
  so.executor.http_runner = make_http_runner(hopts);
  so.logger = [log](log_level l, const std::string& line) {
    switch (l) {
      case log_level::debug: log->debug(line); break;
      case log_level::info: log->info(line); break;
      case log_level::warning: log->warn(line); break;
      case log_level::error: log->error(line); break;
    }
  };
  auto started = scheduler::start(sys, std::move(so));
  if (!started) {
    auto where = o.store ? describe_store(*o.store) : *o.data;
    log->critical("cannot start on {}: {} ({})", where, started.err().message,
                  to_string(started.err().code));
    if (started.err().code == errc::corrupt_event)
      log->critical("run `almanac-replay --store {} verify` for a full report", where);

    return exit_refused;
  }
  auto sched = std::move(*started);
  // Created private once the start is certain (a refused start changes nothing).
  if (::mkdir(xo.secrets_dir.c_str(), 0700) != 0 && errno != EEXIST)
    log->warn("cannot create the secrets directory {}: {}", xo.secrets_dir.string(),
              std::strerror(errno));
  if (o.demo.value_or(false))
    create_demo_jobs(sys, sched->admin(), log);

  auto gate = spawn_admin_gate(sys, sched->admin(), secret, std::chrono::seconds{60});
  std::uint16_t inner_port = 0;
  auto front = open_admin_port(gate, admin_ep, o.admin_front, inner_port, log);
  if (!front) {
    caf::anon_send_exit(gate, caf::exit_reason::kill);
    sched->stop(duration::zero());
    return exit_refused;
  }
  admin_ep.port = front->port();

  std::unique_ptr<http_server> http;
  std::string http_text = "off";
  if (serve_http) {
    http_server_options ho;
    ho.host = http_ep.host;
    ho.port = http_ep.port;
    ho.token = token;
    ho.open_path = std::string{ui_path};
    ho.tls_cert = o.tls_cert.value_or("");
    ho.tls_key = o.tls_key.value_or("");
    auto started_http = http_server::start(
      std::move(ho), make_http_api(sys, *sched, http_api_options{std::chrono::seconds{30}}));
    if (!started_http) {
      log->critical("cannot serve HTTP on {}: {}", http_ep.to_string(),
                    started_http.err().message);
      front->stop();
      unpublish_admin_gate(gate, inner_port);
      caf::anon_send_exit(gate, caf::exit_reason::kill);
      sched->stop(duration::zero());
      return exit_refused;
    }
    http = std::move(*started_http);
    http_ep.port = http->port();
    http_text = http_ep.to_string();
    if (o.tls_cert)
      log->info("the HTTP API port speaks HTTPS only (certificate {})", *o.tls_cert);
  }
  log->info("listening: admin {} (mutual TLS, secret required), http {}{}", admin_ep.to_string(),
            http_text, serve_http ? " (bearer token required)" : "");
  auto abs = [](const std::filesystem::path& p) {
    return p.empty() ? p : std::filesystem::absolute(p);
  };
  connection_record record{admin_ep.to_string(),
                           http_text,
                           o.tls_cert.has_value(),
                           std::filesystem::absolute(*o.data),
                           static_cast<long>(::getpid()),
                           secret_file,
                           serve_http ? token_file : std::filesystem::path{},
                           abs(admin_tls->client.certificate),
                           abs(admin_tls->client.key),
                           abs(admin_tls->client.ca)};
  if (auto written = write_connection_record(record); !written)
    log->warn("the almanac CLI will not find this daemon by itself ({}): give it --data {}",
              written.err().message, *o.data);
  std::cout << "ready admin=" << admin_ep.to_string() << " http=" << http_text << std::endl;

  int sig = 0;
  for (;;) {
    if (sigwait(&stop_signals, &sig) != 0)
      continue;
    if (sig != SIGHUP)
      break;
    if (!log_file) {
      log->info("SIGHUP: no --log-file to reopen; ignored");
    } else if (log_file->reopen()) {
      log->info("SIGHUP: log file {} reopened", *o.log_file);
    } else {
      auto err = errno;
      log->error("SIGHUP: cannot reopen log file {}: {}; still writing to the old one",
                 *o.log_file, std::strerror(err));
    }
  }
  log->info("signal {}: stopping (grace {})", signal_name(sig), format_duration(*grace));
  // A second signal during the grace period is not waited for here: it stays pending, and the
  // grace period bounds the stop anyway.
  if (http)
    http->stop();
  remove_connection_record(admin_ep.to_string());
  front->stop();
  unpublish_admin_gate(gate, inner_port);
  caf::anon_send_exit(gate, caf::exit_reason::kill);
  auto left = sched->stop(*grace);
  if (left > 0)
    log->warn("{} runs still in flight after the grace period; they are recorded RunAbandoned "
              "and run again at the next start",
              left);
  sched.reset();
  if (!xo.cgroup_parent.empty())
    ::rmdir(xo.cgroup_parent.c_str());
  log->info("stopped");
  log->flush();
  return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"almanacd: the Almanac job scheduler daemon"};
  app.set_version_flag("--version", std::string{"almanacd "} + almanac::version);
  daemon_options o;
  app.add_option("--data", o.data,
                 "Data directory (created 0700 if missing): the log, or with --store the node's "
                 "credentials and run secrets");
  app.add_option("--store", o.store,
                 "Keep the log in PostgreSQL: postgresql://USER@HOST:PORT/DB (password from "
                 "PGPASSFILE or PGPASSWORD; never logged)");
  app.add_option("--admin", o.admin,
                 "Admin endpoint HOST:PORT for the almanac CLI (default 127.0.0.1:7317; port 0 "
                 "picks one)");
  app.add_option("--http", o.http,
                 "HTTP API endpoint HOST:PORT (default 127.0.0.1:7318; port 0 picks one)");
  app.add_flag("--no-http", o.no_http, "Do not serve the HTTP API");
  app.add_option("--tls-cert", o.tls_cert,
                 "PEM certificate chain: the HTTP API port speaks HTTPS only (with --tls-key)");
  app.add_option("--tls-key", o.tls_key, "PEM private key for --tls-cert");
  app.add_option("--admin-tls-cert", o.admin_tls_cert,
                 "PEM certificate of the admin port (mutual TLS; with --admin-tls-key and "
                 "--admin-tls-ca; default: generated in DATA/credentials)");
  app.add_option("--admin-tls-key", o.admin_tls_key, "PEM private key for --admin-tls-cert");
  app.add_option("--admin-tls-ca", o.admin_tls_ca,
                 "PEM CA every admin client's certificate must chain to (a private CA for "
                 "Almanac only: no host name is checked)");
  app.add_option("--admin-max-connections", o.admin_front.max_connections,
                 "Admin connections open at once (default 64)");
  app.add_option("--admin-max-connections-per-peer", o.admin_front.max_connections_per_peer,
                 "Admin connections open at once from one address (default 16)");
  app.add_option("--admin-handshake-timeout", o.admin_handshake_timeout,
                 "Close an admin connection whose TLS handshake is not over by then (default "
                 "10s)");
  app.add_option("--admin-idle-timeout", o.admin_idle_timeout,
                 "Close an admin connection on which nothing moved for this long (default 10m)");
  app.add_option("--config", o.config, "JSON config file; command-line options take precedence");
  app.add_option("--log-level", o.log_level, "debug, info (default), warning or error");
  app.add_option("--log-file", o.log_file,
                 "Append the log to this file instead of stderr; SIGHUP reopens it");
  app.add_option("--run-isolation", o.run_isolation,
                 "auto (default: a cgroup v2 per run when one is writable, else process groups) "
                 "or process-group");
  app.add_option("--grace", o.grace,
                 "On SIGTERM, SIGINT, SIGQUIT, SIGUSR1 or SIGUSR2, wait this long for runs in progress (default 30s)");
  app.add_option("--secret", o.secret,
                 "Shared secret the admin CLI must present (default: generated once into "
                 "DATA/credentials/admin-secret)")
    ->envname("ALMANAC_SECRET");
  app.add_option("--secret-file", o.secret_file, "Read the admin secret from this 0600 file");
  app.add_option("--token", o.token,
                 "Bearer token the HTTP API requires (default: generated once into "
                 "DATA/credentials/http-token)")
    ->envname("ALMANAC_TOKEN");
  app.add_option("--token-file", o.token_file, "Read the HTTP bearer token from this 0600 file");
  app.add_option("--workers", o.workers, "Runs executing at once (default 8)");
  app.add_option("--exec-env-allow", o.exec_env_allow,
                 "The daemon's variables exec runs inherit: VAR[,VAR,PREFIX*...] or * (default "
                 "PATH,HOME,USER,LOGNAME,SHELL,LANG,LC_*,TZ,TMPDIR; never ALMANAC_*)");
  app.add_option("--passivate-after", o.passivate_after,
                 "Stop a job's actor after it is idle this long (default 10s; 0s: never)");
  app.add_option("--max-jobs", o.max_jobs,
                 "Refuse creates beyond this many live jobs (default 1000000; at least 1)");
  app.add_flag("--demo", o.demo, "Create a few demo jobs when the data directory has none");
  app.add_flag("--quarantine", o.quarantine,
               "Start even if some jobs' logs cannot be decoded; report them in health");
  app.add_flag("--salvage", o.salvage,
               "Start even if the write-ahead log is damaged: copy it aside, keep what reads "
               "back, record the loss (audit trail, health)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_usage;
  }
  auto original_nofile = raise_nofile_limit();
  try {
    return run_daemon(std::move(o), original_nofile);
  } catch (const usage_error& e) {
    std::cerr << "almanacd: " << e.message << '\n';
    return exit_usage;
  }
}
