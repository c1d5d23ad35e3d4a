// Durable appends per second through the journal contract, the same loop for both backends:
// W writer threads, each appending one event at a time to its own job and waiting until it is
// durable (group commit shares each flush among whoever is waiting). For docs/STORAGE.md.
// Usage: almanac_journal_bench (--dir D | --pg CONNINFO) [--seconds S] [--writers 1,8,64]
// The PostgreSQL figure means something only with fsync and synchronous_commit on.
//
// With --recover N: recovery instead. Writes N jobs of 10 events each (every third with a
// snapshot at seq 6) into an empty log, then times load_jobs over all of them, which is what a
// start-up of the daemon waits for before any job is live.
#include "store/event_log.hpp"
#include "store/postgres/pg_log.hpp"

#include "events/evolve.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
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

constexpr std::uint64_t recover_events = 10;
constexpr std::uint64_t recover_snapshot_seq = 6;

// Appends in batches of async appends (one per job), so writing the log is not what takes long.
bool fill(journal& log, std::uint64_t jobs) {
  constexpr std::uint64_t batch = 2000;
  for (std::uint64_t first = 1; first <= jobs; first += batch) {
    auto last = std::min(jobs, first + batch - 1);
    std::atomic<std::uint64_t> left{last - first + 1};
    std::atomic<bool> failed{false};
    std::mutex m;
    std::condition_variable cv;
    for (auto id = first; id <= last; ++id) {
      job_id job{id};
      std::vector<event> events;
      for (std::uint64_t seq = 1; seq <= recover_events; ++seq)
        events.push_back(make_event(job, seq));
      log.append_async(job, 0, std::move(events), [&](status st, std::uint64_t) {
        if (!st) {
          std::fprintf(stderr, "append failed: %s\n", st.to_string().c_str());
          failed = true;
        }
        if (--left == 0) {
          std::lock_guard lock{m};
          cv.notify_all();
        }
      });
    }
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return left == 0; });
    if (failed)
      return false;
  }
  for (std::uint64_t id = 1; id <= jobs; id += 3) {
    job_state state;
    state.id = job_id{id};
    for (std::uint64_t seq = 1; seq <= recover_snapshot_seq; ++seq)
      state = evolve(std::move(state), make_event(job_id{id}, seq));
    if (auto st = log.save_snapshot(job_id{id}, state); !st) {
      std::fprintf(stderr, "snapshot failed: %s\n", st.to_string().c_str());
      return false;
    }
  }
  return true;
}

int recover(journal& log, const char* backend, std::uint64_t jobs) {
  std::uint64_t highest = 0;
  if (auto st = log.highest_position(highest); !st || highest != 0) {
    std::fprintf(stderr, "--recover needs an empty log\n");
    return 1;
  }
  auto started = clock_type::now();
  if (!fill(log, jobs))
    return 1;
  double filled = std::chrono::duration<double>(clock_type::now() - started).count();
  std::uint64_t loaded = 0;
  std::uint64_t wrong = 0;
  started = clock_type::now();
  auto st = log.load_jobs([&](job_state&& s, const std::string& warning) {
    ++loaded;
    if (s.seq != recover_events || !warning.empty())
      ++wrong;
    return true;
  });
  double took = std::chrono::duration<double>(clock_type::now() - started).count();
  if (!st) {
    std::fprintf(stderr, "load_jobs failed: %s\n", st.to_string().c_str());
    return 1;
  }
  if (loaded != jobs || wrong != 0) {
    std::fprintf(stderr, "load_jobs gave %llu jobs, %llu of them wrong\n",
                 static_cast<unsigned long long>(loaded), static_cast<unsigned long long>(wrong));
    return 1;
  }
  std::printf("%s recover jobs=%llu events=%llu fill_s=%.1f load_jobs_s=%.2f jobs_per_s=%.0f\n",
              backend, static_cast<unsigned long long>(jobs),
              static_cast<unsigned long long>(jobs * recover_events), filled, took,
              static_cast<double>(jobs) / took);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string dir, pg;
  double seconds = 3.0;
  std::vector<int> writers{1, 8, 64};
  std::uint64_t recover_jobs = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k{argv[i]};
    if (k == "--dir")
      dir = argv[i + 1];
    else if (k == "--pg")
      pg = argv[i + 1];
    else if (k == "--recover")
      recover_jobs = std::strtoull(argv[i + 1], nullptr, 10);
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
                         "[--writers 1,8,64 | --recover N]\n");
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
  const char* backend = dir.empty() ? "postgres" : "rocksdb";
  if (recover_jobs > 0) {
    auto rc = recover(*log, backend, recover_jobs);
    return log->close().ok() ? rc : 1;
  }
  std::uint64_t job_base = 1;
  for (int w : writers) {
    auto rate = run(*log, w, seconds, job_base);
    job_base += static_cast<std::uint64_t>(w);
    std::printf("%s writers=%d durable_events_per_s=%.0f\n", backend, w, rate);
  }
  return log->close().ok() ? 0 : 1;
}
