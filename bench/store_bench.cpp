// The event log's figures for docs/BENCHMARKS.md: durable appends per second (sync
// per event vs group commit with 1, 8, 64 concurrent writers, and the async path the job actors
// use), replay of 1M events over 100k streams (read_all and per stream, decode included, plus
// the pointer-lookup alternative for the global index), and bytes on disk per event.
// Each figure is the median of --reps runs. Usage: almanac_store_bench [--dir D] [--reps N]
// [--seconds S] [--events N] [--streams N]. Runs in about 3 minutes with the defaults.
#include "store/detail/keys.hpp"
#include "store/event_log.hpp"

#include "events/codec.hpp"
#include "events/evolve.hpp"

#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace almanac;
using namespace almanac::store;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::filesystem::path dir;
  int reps = 3;
  double seconds = 2.0;
  std::uint64_t events = 1'000'000;
  std::uint64_t streams = 100'000;
  bool appends = true;
};

const instant t0 = from_unix_us(1'772'323'200'000'000);

// A job's life as the log holds it: created, then runs started and succeeded in turn, each
// success with a short output tail (the most common events of a busy log).
event make_event(job_id job, std::uint64_t seq) {
  auto at = t0 + std::chrono::minutes{seq};
  event_envelope env{job, seq, at, "timer", {}, "due"};
  if (seq == 1) {
    env.actor = "user:alice";
    env.cause = "create";
    return event{std::move(env),
                 job_created{"report-" + std::to_string(job.value),
                             every_schedule{std::chrono::minutes{1}, t0, every_anchor::grid},
                             handler_target{"report", "{}"}, job_policies{}, "user:alice",
                             at + std::chrono::minutes{1}}};
  }
  auto run = seq / 2;
  if (seq % 2 == 0)
    return event{std::move(env), run_started{run, at, run_trigger::timer, at + std::chrono::minutes{1}}};
  env.cause = "run_finished";
  return event{std::move(env),
               run_succeeded{run, std::chrono::milliseconds{120 + seq % 50},
                             "ok: processed " + std::to_string(seq * 37 % 10007) + " rows",
                             at + std::chrono::minutes{1}}};
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string fmt(double v) {
  char buf[64];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

void check(const status& st, const char* what) {
  if (!st) {
    std::fprintf(stderr, "%s: %s\n", what, st.to_string().c_str());
    std::exit(1);
  }
}

std::unique_ptr<event_log> open_fresh(const std::filesystem::path& dir, durability d) {
  std::filesystem::remove_all(dir);
  open_options opts;
  opts.sync = d;
  std::unique_ptr<event_log> log;
  check(event_log::open(dir, opts, log), "open");
  return log;
}

// `writers` threads, each appending one event at a time to its own stream with the blocking
// append, for `seconds`. Returns events/s.
double blocking_writers(const settings& s, int writers) {
  auto log = open_fresh(s.dir / "append", durability::sync);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> threads;
  auto start = clock_type::now();
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      job_id job{static_cast<std::uint64_t>(w + 1)};
      std::uint64_t seq = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        check(log->append(job, seq, {make_event(job, seq + 1)}), "append");
        ++seq;
      }
      total += seq;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(s.seconds));
  stop = true;
  for (auto& t : threads)
    t.join();
  auto rate = static_cast<double>(total) / seconds_since(start);
  check(log->close(), "close");
  return rate;
}

// One producer thread, as the job actors share a few scheduler threads: `streams` streams, each
// with at most one append in flight (a job actor waits for its acknowledgement), through
// append_async. Returns events/s.
double async_producer(const settings& s, std::uint64_t streams) {
  auto log = open_fresh(s.dir / "append", durability::sync);
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::uint64_t> ready; // streams whose last append was acknowledged
  std::vector<std::uint64_t> seq(streams, 0);
  for (std::uint64_t j = 0; j < streams; ++j)
    ready.push_back(j);
  std::uint64_t acked = 0;
  std::uint64_t in_flight = 0;
  auto start = clock_type::now();
  auto deadline = start + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(s.seconds));
  std::vector<std::uint64_t> batch;
  for (;;) {
    {
      std::unique_lock lock{mtx};
      cv.wait(lock, [&] { return !ready.empty(); });
      batch.swap(ready);
      if (clock_type::now() >= deadline) {
        cv.wait(lock, [&] { return in_flight == 0; });
        break;
      }
      in_flight += batch.size();
    }
    for (auto j : batch) {
      job_id job{j + 1};
      auto at = seq[j]++;
      log->append_async(job, at, {make_event(job, at + 1)}, [&, j](status st, std::uint64_t) {
        check(st, "append_async");
        std::lock_guard lock{mtx};
        ++acked;
        --in_flight;
        ready.push_back(j);
        cv.notify_one();
      });
    }
    batch.clear();
  }
  auto rate = static_cast<double>(acked) / seconds_since(start);
  check(log->close(), "close");
  return rate;
}

std::uint64_t dir_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      total += e.file_size();
  return total;
}

void fill(const settings& s, const std::filesystem::path& dir) {
  auto log = open_fresh(dir, durability::none);
  std::mutex mtx;
  std::condition_variable cv;
  std::uint64_t in_flight = 0;
  auto per_stream = s.events / s.streams;
  // Round-robin over the streams, so the global order interleaves them as a live system does.
  for (std::uint64_t round = 0; round < per_stream; ++round)
    for (std::uint64_t j = 0; j < s.streams; ++j) {
      {
        std::unique_lock lock{mtx};
        cv.wait(lock, [&] { return in_flight < 50'000; });
        ++in_flight;
      }
      job_id job{j + 1};
      log->append_async(job, round, {make_event(job, round + 1)}, [&](status st, std::uint64_t) {
        check(st, "fill");
        std::lock_guard lock{mtx};
        --in_flight;
        cv.notify_one();
      });
    }
  // The steady state of a long-running log: everything compacted to the last level.
  check(log->compact(), "compact");
  check(log->close(), "close");
}

struct raw_db {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  explicit raw_db(const std::filesystem::path& dir) {
    using namespace almanac::store::detail;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (auto name : {std::string_view{rocksdb::kDefaultColumnFamilyName}, cf_streams, cf_global,
                      cf_snapshots, cf_projections, cf_checkpoints, cf_meta})
      descs.emplace_back(std::string{name}, rocksdb::ColumnFamilyOptions{});
    rocksdb::DBOptions o;
    o.max_open_files = -1;
    auto st = rocksdb::DB::OpenForReadOnly(o, dir.string(), descs, &handles, &db);
    if (!st.ok()) {
      std::fprintf(stderr, "raw open: %s\n", st.ToString().c_str());
      std::exit(1);
    }
  }
  ~raw_db() {
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    delete db;
  }
  std::uint64_t sst_bytes(int cf) {
    std::uint64_t v = 0;
    db->GetIntProperty(handles[cf], "rocksdb.total-sst-files-size", &v);
    return v;
  }
};

// The alternative design: a global index of (job, seq) pointers only, each resolved by a
// batched MultiGet into the streams. Read from the same data (the pointer is the first 16
// bytes of each global value), so the figure isolates the cost of the lookups.
double pointer_replay(raw_db& raw) {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it{raw.db->NewIterator(ro, raw.handles[2])};
  std::vector<std::string> keys;
  std::uint64_t n = 0;
  auto start = clock_type::now();
  auto resolve = [&] {
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    raw.db->MultiGet(rocksdb::ReadOptions{}, raw.handles[1], keys.size(), slices.data(),
                     values.data(), statuses.data());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto e = decode_event({values[i].data(), values[i].size()});
      if (!statuses[i].ok() || !e) {
        std::fprintf(stderr, "pointer replay: lookup failed\n");
        std::exit(1);
      }
      ++n;
    }
    keys.clear();
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    keys.emplace_back(it->value().data(), 16);
    if (keys.size() == 256)
      resolve();
  }
  resolve();
  return static_cast<double>(n) / seconds_since(start);
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  s.dir = std::filesystem::temp_directory_path() / "almanac-store-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view arg{argv[i]};
    if (arg == "--dir")
      s.dir = argv[i + 1];
    else if (arg == "--reps")
      s.reps = std::atoi(argv[i + 1]);
    else if (arg == "--seconds")
      s.seconds = std::atof(argv[i + 1]);
    else if (arg == "--events")
      s.events = std::strtoull(argv[i + 1], nullptr, 10);
    else if (arg == "--only")
      s.appends = std::string_view{argv[i + 1]} != "replay";
    else if (arg == "--streams")
      s.streams = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  std::filesystem::create_directories(s.dir);
  std::printf("store_bench: dir %s, %d reps, %.1f s per append run, %llu events over %llu "
              "streams\n\n",
              s.dir.c_str(), s.reps, s.seconds, static_cast<unsigned long long>(s.events),
              static_cast<unsigned long long>(s.streams));

  auto run = [&](const char* name, const std::function<double()>& fn) {
    std::vector<double> v;
    for (int r = 0; r < s.reps; ++r)
      v.push_back(fn());
    auto m = median(v);
    std::printf("%-56s %12s   (runs:", name, fmt(m).c_str());
    for (auto x : v)
      std::printf(" %s", fmt(x).c_str());
    std::printf(")\n");
    std::fflush(stdout);
    return m;
  };
  if (s.appends) {
  std::printf("%-56s %12s\n", "durable appends (sync=true), 1 event per append", "events/s");
  auto single = run("sync per event: 1 writer, blocking append",
                    [&] { return blocking_writers(s, 1); });
  for (int w : {8, 64}) {
    auto name = "group commit: " + std::to_string(w) + " writer threads, blocking append";
    auto m = run(name.c_str(), [&] { return blocking_writers(s, w); });
    std::printf("%-56s %12.1fx\n", "  ratio to sync per event", m / single);
  }
  for (std::uint64_t streams : {1, 8, 64, 1000}) {
    auto name = "group commit: append_async, " + std::to_string(streams) + " streams in flight";
    auto m = run(name.c_str(), [&] { return async_producer(s, streams); });
    std::printf("%-56s %12.1fx\n", "  ratio to sync per event", m / single);
  }
  }

  auto replay_dir = s.dir / "replay";
  std::printf("\nfilling %llu events over %llu streams (durability none)...\n",
              static_cast<unsigned long long>(s.events),
              static_cast<unsigned long long>(s.streams));
  auto fill_start = clock_type::now();
  fill(s, replay_dir);
  std::printf("filled in %.1f s\n\n", seconds_since(fill_start));

  std::printf("%-56s %12s\n", "replay, decode included", "events/s");
  open_options ro;
  ro.mode = open_mode::read_only;
  std::unique_ptr<event_log> log;
  check(event_log::open(replay_dir, ro, log), "open read-only");
  run("read_all from position 1", [&] {
    std::uint64_t n = 0;
    auto start = clock_type::now();
    check(log->read_all(1, [&](std::uint64_t, const event&) { return ++n, true; }), "read_all");
    if (n != s.events)
      std::exit(1);
    return static_cast<double>(n) / seconds_since(start);
  });
  run("for_each_stream alone (streams/s)", [&] {
    std::uint64_t n = 0;
    auto start = clock_type::now();
    check(log->for_each_stream([&](const stream_info&) { return ++n, true; }), "for_each_stream");
    return static_cast<double>(n) / seconds_since(start);
  });
  run("per stream, one pass: load_jobs (decode + evolve)", [&] {
    std::uint64_t n = 0;
    auto start = clock_type::now();
    check(log->load_jobs([&](job_state&& state, const std::string&) {
      n += state.seq;
      return true;
    }), "load_jobs");
    if (n != s.events)
      std::exit(1);
    return static_cast<double>(n) / seconds_since(start);
  });
  run("per stream: for_each_stream + read_stream of each", [&] {
    std::uint64_t n = 0;
    std::vector<job_id> jobs;
    auto start = clock_type::now();
    check(log->for_each_stream([&](const stream_info& i) { return jobs.push_back(i.job), true; }),
          "for_each_stream");
    std::vector<event> out;
    for (auto job : jobs) {
      out.clear();
      check(log->read_stream(job, 1, out), "read_stream");
      n += out.size();
    }
    if (n != s.events)
      std::exit(1);
    return static_cast<double>(n) / seconds_since(start);
  });
  check(log->close(), "close");
  {
    raw_db raw{replay_dir};
    run("alternative: global pointers + MultiGet into streams", [&] { return pointer_replay(raw); });
    auto total = dir_bytes(replay_dir);
    auto ev = static_cast<double>(s.events);
    std::printf("\nbytes on disk per event: %.1f total (directory), streams %.1f, global %.1f\n",
                static_cast<double>(total) / ev, static_cast<double>(raw.sst_bytes(1)) / ev,
                static_cast<double>(raw.sst_bytes(2)) / ev);
    std::printf("encoded event size: %zu bytes\n",
                encode_event(make_event(job_id{1}, 5)).size());
  }
  std::filesystem::remove_all(s.dir);
  return 0;
}
