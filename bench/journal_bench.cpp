// Durable appends per second through the journal contract, the same loop for both backends:
// W writer threads, each appending one event at a time to its own job and waiting until it is
// durable (group commit shares each flush among whoever is waiting). For docs/STORAGE.md.
// Usage: almanac_journal_bench (--dir D | --pg CONNINFO) [--seconds S] [--writers 1,8,64]
// The PostgreSQL figure means something only with fsync and synchronous_commit on.
#include "store/event_log.hpp"
#include "store/postgres/pg_log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace almanac;
using namespace almanac::store;
using clock_type = std::chrono::steady_clock;

namespace {

const instant t0 = from_unix_us(1'772'323'200'000'000);

event make_event(job_id job, std::uint64_t seq) {
  return event{event_envelope{job, seq, t0 + std::chrono::minutes{seq}, "timer", {}, "due"},
               run_skipped{t0 + std::chrono::minutes{seq}, skip_reason::overlap, std::nullopt}};
}

double run(journal& log, int writers, double seconds, std::uint64_t job_base) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> appended{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  auto start = clock_type::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      job_id job{job_base + static_cast<std::uint64_t>(w)};
      std::uint64_t seq = 0;
      while (!stop) {
        auto st = log.append(job, seq, {make_event(job, seq + 1)});
        if (!st) {
          std::fprintf(stderr, "append failed: %s\n", st.to_string().c_str());
          failed = true;
          return;
        }
        ++seq;
        ++appended;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>{seconds});
  stop = true;
  for (auto& t : threads)
    t.join();
  double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  if (failed)
    std::exit(1);
  return static_cast<double>(appended) / elapsed;
}

} // namespace

int main(int argc, char** argv) {
  std::string dir, pg;
  double seconds = 3.0;
  std::vector<int> writers{1, 8, 64};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k{argv[i]};
    if (k == "--dir")
      dir = argv[i + 1];
    else if (k == "--pg")
      pg = argv[i + 1];
    else if (k == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (k == "--writers") {
      writers.clear();
      for (char* p = argv[i + 1]; *p;) {
        writers.push_back(static_cast<int>(std::strtol(p, &p, 10)));
        if (*p == ',')
          ++p;
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (dir.empty() == pg.empty()) {
    std::fprintf(stderr, "usage: almanac_journal_bench (--dir D | --pg CONNINFO) [--seconds S] "
                         "[--writers 1,8,64]\n");
    return 2;
  }
  std::unique_ptr<journal> log;
  if (!dir.empty()) {
    std::unique_ptr<event_log> rocks;
    if (auto st = event_log::open(dir, {}, rocks); !st) {
      std::fprintf(stderr, "%s\n", st.to_string().c_str());
      return 1;
    }
    log = std::move(rocks);
  } else {
    std::unique_ptr<pg_log> p;
    if (auto st = pg_log::open(pg, {}, p); !st) {
      std::fprintf(stderr, "%s\n", st.to_string().c_str());
      return 1;
    }
    log = std::move(p);
  }
  std::uint64_t job_base = 1;
  for (int w : writers) {
    auto rate = run(*log, w, seconds, job_base);
    job_base += static_cast<std::uint64_t>(w);
    std::printf("%s writers=%d durable_events_per_s=%.0f\n", dir.empty() ? "postgres" : "rocksdb",
                w, rate);
  }
  return log->close().ok() ? 0 : 1;
}
