// Almanac's side of the side-by-side workloads, one JSON object a line on stdout (bench/run
// collects them; the peers under bench/peers/ print the same fields):
//
//   almanac_bench lateness N           N one-shot jobs, each due 1-2 s after its own create
//   almanac_bench throughput N SECONDS N `every 1s` jobs; runs/s, CPU s per 1k runs, events/s
//   almanac_bench memory N             N idle `every 1h` jobs; RSS growth per job once idle
//   almanac_bench admin-local N        N pause/resume pairs through the admin actor in-process
//   almanac_bench admin-remote HOST:PORT N CREDENTIALS_DIR   the same through almanacd's admin gate
//                                            (middleman, mutual TLS with the admin-client.* the
//                                            daemon generated in CREDENTIALS_DIR)
//
// Every event is fsync'd (the default durability). The data directory is $TMPDIR/almanac-bench-*,
// removed afterwards. With ALMANAC_BENCH_STORE=postgresql://... the log is in that (empty)
// PostgreSQL database instead, committed under the server's synchronous_commit. Creates are paced (at most 1000 in flight) so each job's due instant is
// measured from its own create, not from a queue of creates waiting for the admin actor.
#include <almanac/almanac.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sys/resource.h>

using namespace almanac;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

long status_kib(const char* field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  auto len = std::string{field}.size();
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0)
      return std::stol(line.substr(len));
  return 0;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

double ms(duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The distribution as "pcts": [[percentile, ms], ...], plus p50/p99/max; `xs` is sorted here.
std::string distribution_json(std::vector<double>& xs) {
  std::sort(xs.begin(), xs.end());
  auto at = [&](double p) {
    if (xs.empty())
      return 0.0;
    auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(xs.size() - 1) + 0.5);
    return xs[std::min(i, xs.size() - 1)];
  };
  std::vector<double> ps;
  for (int p = 0; p < 100; ++p)
    ps.push_back(p);
  for (double p : {99.5, 99.9, 100.0})
    ps.push_back(p);
  std::ostringstream out;
  out.precision(4);
  out << std::fixed << "\"p50_ms\":" << at(50) << ",\"p99_ms\":" << at(99)
      << ",\"max_ms\":" << at(100) << ",\"samples\":" << xs.size() << ",\"pcts\":[";
  for (std::size_t i = 0; i < ps.size(); ++i)
    out << (i ? "," : "") << "[" << ps[i] << "," << at(ps[i]) << "]";
  out << "]";
  return out.str();
}

struct embedded {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<scheduler> sched;
  std::filesystem::path dir;

  explicit embedded(const std::string& tag) {
    dir = std::filesystem::temp_directory_path() / ("almanac-bench-" + tag);
    std::filesystem::remove_all(dir);
    add_message_types(cfg);
    // As almanacd runs; ALMANAC_BENCH_STEALING=1 measures CAF's default scheduler instead.
    if (!std::getenv("ALMANAC_BENCH_STEALING"))
      use_work_sharing(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    scheduler_options opts;
    opts.data_dir = dir;
    if (const char* where = std::getenv("ALMANAC_BENCH_STORE"))
      opts.store = where;
    opts.settings.max_concurrent_runs = 4096;
    opts.executor.workers = 4;
    auto started = scheduler::start(*sys, opts);
    if (!started) {
      std::fprintf(stderr, "start: %s\n", started.err().message.c_str());
      std::exit(1);
    }
    sched = std::move(*started);
  }

  ~embedded() {
    sched->stop(5s);
    sched.reset();
    std::filesystem::remove_all(dir);
  }

  // Creates jobs make(i) for i < n, at most `window` in flight; returns how many were created.
  template <class Make>
  std::size_t create(std::size_t n, Make make, std::size_t window = 1000) {
    std::size_t created = 0;
    std::size_t answered = 0;
    caf::scoped_actor self{*sys};
    auto receive_one = [&] {
      self->receive([&](job_state&) { ++created; },
                    [&](caf::error& e) {
                      std::fprintf(stderr, "create refused: %s\n", sys->render(e).c_str());
                    });
      ++answered;
    };
    for (std::size_t i = 0; i < n; ++i) {
      while (i - answered >= window)
        receive_one();
      self->send(sched->admin(), create_request{make(i), "user:bench", ""});
    }
    while (answered < n)
      receive_one();
    return created;
  }
};

job_spec handler_job(std::string name, schedule s) {
  job_spec spec;
  spec.name = std::move(name);
  spec.sched = std::move(s);
  spec.what = handler_target{"noop", ""};
  return spec;
}

int lateness(std::size_t n) {
  embedded e{"lateness"};
  system_clock wall;
  std::mutex mtx;
  std::vector<double> late_ms;
  late_ms.reserve(n);
  std::atomic<std::size_t> ran{0};
  e.sched->register_handler("noop", [&](const run_context& run) {
    auto late = wall.now() - run.key.scheduled_for;
    std::lock_guard guard{mtx};
    late_ms.push_back(ms(late));
    ++ran;
  });
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<std::int64_t> spread_us{0, 999'999};
  auto t0 = steady::now();
  auto created = e.create(n, [&](std::size_t i) {
    return handler_job("late-" + std::to_string(i),
                       at_schedule{wall.now() + 1s + std::chrono::microseconds{spread_us(rng)}});
  });
  auto create_s = seconds_since(t0);
  auto deadline = steady::now() + 120s;
  while (ran < created && steady::now() < deadline)
    std::this_thread::sleep_for(10ms);
  std::vector<double> xs;
  {
    std::lock_guard guard{mtx};
    xs = late_ms;
  }
  std::printf("{\"workload\":\"lateness\",\"peer\":\"almanac\",\"n\":%zu,\"created\":%zu,"
              "\"ran\":%zu,\"create_per_s\":%.0f,\"peak_rss_kib\":%ld,%s}\n",
              n, created, xs.size(), static_cast<double>(created) / create_s,
              status_kib("VmHWM:"), distribution_json(xs).c_str());
  return xs.size() == n ? 0 : 1;
}

int throughput(std::size_t n, int seconds) {
  embedded e{"throughput"};
  std::atomic<std::uint64_t> runs{0};
  e.sched->register_handler("noop", [&](const run_context&) { ++runs; });
  auto t0 = steady::now();
  auto created = e.create(n, [&](std::size_t i) {
    return handler_job("tp-" + std::to_string(i), every_schedule{1s, {}, {}});
  });
  auto create_s = seconds_since(t0);
  // One second of warm-up, so every job has fired at least once before the window opens.
  std::this_thread::sleep_for(1s);
  auto& m = e.sched->metrics();
  auto runs0 = m.runs_succeeded.load();
  auto events0 = m.log_events.load();
  auto cpu0 = cpu_seconds();
  auto w0 = steady::now();
  std::this_thread::sleep_for(std::chrono::seconds{seconds});
  auto window = seconds_since(w0);
  auto done = m.runs_succeeded.load() - runs0;
  auto events = m.log_events.load() - events0;
  auto cpu = cpu_seconds() - cpu0;
  std::printf("{\"workload\":\"throughput\",\"peer\":\"almanac\",\"n\":%zu,\"created\":%zu,"
              "\"create_per_s\":%.0f,\"seconds\":%.2f,\"runs\":%llu,\"runs_per_s\":%.0f,"
              "\"demand_per_s\":%zu,\"cpu_s_per_1k_runs\":%.4f,\"events_per_s\":%.0f,"
              "\"peak_rss_kib\":%ld}\n",
              n, created, static_cast<double>(created) / create_s, window,
              static_cast<unsigned long long>(done), static_cast<double>(done) / window, n,
              done ? cpu / static_cast<double>(done) * 1000.0 : 0.0,
              static_cast<double>(events) / window, status_kib("VmHWM:"));
  return created == n ? 0 : 1;
}

int memory(std::size_t n) {
  embedded e{"memory"};
  auto rss0 = status_kib("VmRSS:");
  auto t0 = steady::now();
  auto created = e.create(n, [&](std::size_t i) {
    return handler_job("idle-" + std::to_string(i), every_schedule{1h, {}, {}});
  });
  auto create_s = seconds_since(t0);
  // Idle: the supervisor stops job actors idle for passivate_after (10 s by default); wait until
  // it has (at most a minute), so what is measured is an idle job, not one just created.
  auto& m = e.sched->metrics();
  auto idle_deadline = steady::now() + 60s;
  while (m.actors_passivated.load() < created && steady::now() < idle_deadline)
    std::this_thread::sleep_for(100ms);
  auto passivated = m.actors_passivated.load();
  auto rss1 = status_kib("VmRSS:");
  // Where the bytes are: the heap in use (job actors, states, the supervisor's registry, RocksDB's
  // memtables and block cache), against what RSS holds after freed heap is given back.
  auto heap = mallinfo2().uordblks;
  malloc_trim(0);
  auto rss_trimmed = status_kib("VmRSS:");
  auto per_job = [&](double bytes) { return bytes / static_cast<double>(n); };
  std::printf("{\"workload\":\"memory\",\"peer\":\"almanac\",\"n\":%zu,\"created\":%zu,"
              "\"create_per_s\":%.0f,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,"
              "\"bytes_per_job\":%.0f,\"heap_bytes_per_job\":%.0f,"
              "\"trimmed_bytes_per_job\":%.0f,\"passivated\":%llu}\n",
              n, created, static_cast<double>(created) / create_s, rss0, rss1,
              per_job(static_cast<double>(rss1 - rss0) * 1024.0), per_job(static_cast<double>(heap)),
              per_job(static_cast<double>(rss_trimmed - rss0) * 1024.0),
              static_cast<unsigned long long>(passivated));
  return created == n ? 0 : 1;
}

// `ask(request)` makes one blocking request and returns true when it was answered with a job.
template <class Ask>
std::string admin_pairs(std::size_t pairs, std::size_t jobs, Ask ask) {
  std::vector<double> lat;
  lat.reserve(pairs * 2);
  std::size_t errors = 0;
  for (std::size_t i = 0; i < pairs; ++i) {
    auto name = "adm-" + std::to_string(i % jobs);
    auto t = steady::now();
    errors += ask(pause_request{name, "user:bench", ""}) ? 0 : 1;
    auto t2 = steady::now();
    errors += ask(resume_request{name, false, "user:bench", ""}) ? 0 : 1;
    auto t3 = steady::now();
    lat.push_back(std::chrono::duration<double, std::milli>(t2 - t).count());
    lat.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
  }
  return "\"errors\":" + std::to_string(errors) + "," + distribution_json(lat);
}

constexpr std::size_t admin_jobs = 100;

int admin_local(std::size_t pairs) {
  embedded e{"admin"};
  e.create(admin_jobs, [&](std::size_t i) {
    return handler_job("adm-" + std::to_string(i), every_schedule{1h, {}, {}});
  });
  std::string out;
  {
    caf::scoped_actor self{*e.sys};
    out = admin_pairs(pairs, admin_jobs, [&](auto req) {
      bool ok = false;
      self->request(e.sched->admin(), 10s, std::move(req))
        .receive([&](job_state&) { ok = true; }, [&](caf::error&) {});
      return ok;
    });
  }
  std::printf("{\"workload\":\"admin\",\"peer\":\"almanac\",\"path\":\"local\",\"n\":%zu,%s}\n",
              pairs, out.c_str());
  return 0;
}

int admin_remote(const std::string& endpoint, std::size_t pairs, const std::string& credentials) {
  auto colon = endpoint.rfind(':');
  auto host = endpoint.substr(0, colon);
  auto port = static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1)));
  caf::actor_system_config cfg;
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  cfg.set("openssl.certificate", credentials + "/admin-client.pem");
  cfg.set("openssl.key", credentials + "/admin-client.key");
  cfg.set("openssl.cafile", credentials + "/admin-ca.pem");
  caf::actor_system sys{cfg};
  auto gate = caf::openssl::remote_actor(sys, host, port);
  if (!gate) {
    std::fprintf(stderr, "cannot reach %s: %s\n", endpoint.c_str(),
                 sys.render(gate.error()).c_str());
    return 1;
  }
  std::string out;
  {
    caf::scoped_actor self{sys};
    // The gate takes (secret, request): the daemon's, from $ALMANAC_SECRET.
    const char* env = std::getenv("ALMANAC_SECRET");
    std::string secret = env ? env : "";
    auto ask = [&](auto req) {
      bool ok = false;
      self->request(*gate, 10s, secret, std::move(req))
        .receive([&](job_state&) { ok = true; },
                 [&](caf::error& err) {
                   std::fprintf(stderr, "refused: %s\n", sys.render(err).c_str());
                 });
      return ok;
    };
    for (std::size_t i = 0; i < admin_jobs; ++i)
      ask(create_request{handler_job("adm-" + std::to_string(i), every_schedule{1h, {}, {}}),
                         "user:bench", ""});
    out = admin_pairs(pairs, admin_jobs, ask);
  }
  std::printf("{\"workload\":\"admin\",\"peer\":\"almanac\",\"path\":\"middleman\",\"n\":%zu,%s}\n",
              pairs, out.c_str());
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: almanac_bench lateness N | throughput N SECONDS | memory N | "
                       "admin-local N | admin-remote HOST:PORT N CREDENTIALS_DIR\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "lateness")
    return lateness(std::stoul(args[1]));
  if (args.size() == 3 && args[0] == "throughput")
    return throughput(std::stoul(args[1]), std::stoi(args[2]));
  if (args.size() == 2 && args[0] == "memory")
    return memory(std::stoul(args[1]));
  if (args.size() == 2 && args[0] == "admin-local")
    return admin_local(std::stoul(args[1]));
  if (args.size() == 4 && args[0] == "admin-remote")
    return admin_remote(args[1], std::stoul(args[2]), args[3]);
  return usage();
}
