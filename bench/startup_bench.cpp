// Start-up cost of the actor runtime: a log with N jobs of about ten events each is opened, every
// job recovered, its actor spawned and its timer armed; the clock stops when the supervisor
// answers its first health request (it handles messages only after recovery is done).
//
//   build-rel/bench/almanac_startup_bench [JOBS=100000] [EVENTS_PER_JOB=10]
//
// Prints one line per phase; RSS is the process's resident set (VmRSS) after each phase. With
// ALMANAC_BENCH_STORE=postgresql://... the log is written to and recovered from that (empty)
// PostgreSQL database instead of a data directory.
#include <almanac/almanac.hpp>

#include "events/decide.hpp"
#include "events/evolve.hpp"
#include "store/event_log.hpp"
#include "store/open_journal.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

using namespace almanac;
using namespace std::chrono_literals;

namespace {

long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Writes the log directly: each job created, then paused and resumed until it has `events`.
void build_log(const std::string& where, std::uint64_t jobs, std::uint64_t events) {
  std::unique_ptr<store::journal> log;
  store::open_options o;
  o.sync = store::durability::none;
  if (auto st = store::open_journal(where, o, log); !st.ok()) {
    std::fprintf(stderr, "open %s: %s\n", store::describe_location(where).c_str(),
                 st.message().c_str());
    std::abort();
  }
  // Now, so the jobs are what a restarted scheduler mostly holds: idle, next run within the hour
  // (not overdue, which would measure a misfire storm instead).
  auto now = std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
  std::atomic<std::uint64_t> pending{0};
  for (std::uint64_t j = 1; j <= jobs; ++j) {
    job_state s;
    s.id = job_id{j * 0x9e3779b97f4a7c15ULL};
    std::vector<event> all;
    command create{create_job{s.id, "job-" + std::to_string(j), every_schedule{1h, {}, {}},
                              handler_target{"noop", ""}, {}},
                   "user:bench", ""};
    auto step = [&](const command& c) {
      auto r = decide(s, c, now);
      if (!r)
        std::abort();
      for (auto& e : *r) {
        s = evolve(std::move(s), e);
        all.push_back(std::move(e));
      }
    };
    step(create);
    while (all.size() + 2 <= events) {
      step(command{pause_job{}, "user:bench", ""});
      step(command{resume_job{false}, "user:bench", ""});
    }
    ++pending;
    log->append_async(s.id, 0, std::move(all), [&](store::status st, std::uint64_t) {
      if (!st.ok())
        std::abort();
      --pending;
    });
    while (pending > 4096)
      std::this_thread::yield();
  }
  while (pending > 0)
    std::this_thread::yield();
  if (auto* rocks = dynamic_cast<store::event_log*>(log.get());
      rocks && std::getenv("ALMANAC_BENCH_FLUSH"))
    (void) rocks->flush();
  (void) log->close();
}

} // namespace

int main(int argc, char** argv) {
  std::uint64_t jobs = argc > 1 ? std::stoull(argv[1]) : 100000;
  std::uint64_t events = argc > 2 ? std::stoull(argv[2]) : 10;
  auto dir = std::filesystem::temp_directory_path() / "almanac-startup-bench";
  std::filesystem::remove_all(dir);
  const char* pg = std::getenv("ALMANAC_BENCH_STORE");
  std::string where = pg ? std::string{pg} : dir.string();
  auto t = std::chrono::steady_clock::now();
  // The log is written by a child process, so the memory figures below are the start-up's own.
  if (auto pid = fork(); pid == 0) {
    build_log(where, jobs, events);
    _exit(0);
  } else {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return 1;
  }
  std::printf("log written: %llu jobs x %llu events in %.2f s\n",
              static_cast<unsigned long long>(jobs), static_cast<unsigned long long>(events),
              seconds_since(t));

  caf::actor_system_config cfg;
  add_message_types(cfg);
  use_work_sharing(cfg);
  caf::actor_system sys{cfg};
  auto rss_before = rss_kib();
  t = std::chrono::steady_clock::now();
  scheduler_options opts;
  opts.data_dir = dir;
  if (pg)
    opts.store = pg;
  opts.projections = false;
  auto sched = scheduler::start(sys, opts);
  if (!sched) {
    std::fprintf(stderr, "start failed: %s\n", sched.err().message.c_str());
    return 1;
  }
  auto recovered = seconds_since(t);
  health_report h;
  {
    caf::scoped_actor self{sys};
    self->request((*sched)->admin(), caf::infinite, health_request{})
      .receive([&](health_report& r) { h = r; }, [](caf::error&) { std::abort(); });
  }
  auto live = seconds_since(t);
  auto rss_after = rss_kib();
  std::printf("recovered (read + fold) in %.2f s; all %llu jobs live and armed in %.2f s\n",
              recovered, static_cast<unsigned long long>(h.active), live);
  std::printf("RSS: %ld MiB before, %ld MiB after: %.0f bytes per job\n", rss_before / 1024,
              rss_after / 1024,
              static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(jobs));
  std::uintmax_t dir_bytes = 0;
  if (!pg)
    for (auto& f : std::filesystem::recursive_directory_iterator(dir))
      if (f.is_regular_file())
        dir_bytes += f.file_size();
  // The same figures as one JSON object, for bench/run.
  std::printf("{\"workload\":\"recovery\",\"peer\":\"almanac\",\"n\":%llu,\"events\":%llu,"
              "\"log_bytes\":%llu,\"read_fold_s\":%.3f,\"live_s\":%.3f,\"bytes_per_job\":%.0f}\n",
              static_cast<unsigned long long>(jobs), static_cast<unsigned long long>(jobs * events),
              static_cast<unsigned long long>(dir_bytes), recovered, live,
              static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(jobs));
  (*sched)->stop(0s);
  std::filesystem::remove_all(dir);
  return h.active == jobs ? 0 : 1;
}
