// What every store test needs: a fresh temporary directory removed afterwards, events built by
// hand, a log opened or failing loudly, and raw RocksDB access for tests that damage the data.
#pragma once

#include "tests/common/raw_db.hpp"
#include "tests/common/temp_dir.hpp"

#include "store/detail/keys.hpp"
#include "store/event_log.hpp"

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace almanac::store::test {

using namespace std::chrono_literals;

using almanac::test::temp_dir;

inline const instant t0 = from_unix_us(1'772'323'200'000'000); // 2026-03-01T00:00:00Z

inline event make_event(job_id job, std::uint64_t seq, event_body body = job_paused{},
                        instant at = t0) {
  return event{event_envelope{job, seq, at, "user:alice", "note " + std::to_string(seq), "test"},
               std::move(body)};
}

// `n` run_skipped events after `after`, as one append would carry them.
inline std::vector<event> make_events(job_id job, std::uint64_t after, std::size_t n) {
  std::vector<event> out;
  for (std::size_t i = 1; i <= n; ++i)
    out.push_back(make_event(job, after + i,
                             run_skipped{t0 + std::chrono::minutes{after + i},
                                         skip_reason::overlap, std::nullopt}));
  return out;
}

inline std::unique_ptr<event_log> open_log(const std::filesystem::path& dir,
                                           open_options opts = {}) {
  std::unique_ptr<event_log> log;
  auto st = event_log::open(dir, opts, log);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return log;
}

inline void append_ok(event_log& log, job_id job, std::uint64_t expected,
                      const std::vector<event>& events) {
  auto st = log.append(job, expected, events);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
}

inline std::vector<event> read_all_of(const event_log& log, job_id job) {
  std::vector<event> out;
  auto st = log.read_stream(job, 1, out);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return out;
}

inline std::vector<std::uint64_t> seqs(const std::vector<event>& events) {
  std::vector<std::uint64_t> out;
  for (auto& e : events)
    out.push_back(e.env.seq);
  return out;
}

inline std::uint64_t highest(const event_log& log, job_id job) {
  std::uint64_t out = 0;
  REQUIRE(log.highest_seq(job, out).is_ok());
  return out;
}

// Opens a closed log's directory with plain RocksDB: tests/common/raw_db.hpp.
using almanac::test::with_raw_db;

} // namespace almanac::store::test
