// A job log held in memory: the same contract as the RocksDB one (job_log.hpp), with nothing
// durable. For tests of the actors (the deterministic ones above all: append calls back on the
// calling thread) and for embedders that want no disk. A test can make the next appends fail.
#pragma once

#include "actors/job_log.hpp"

#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace almanac {

class memory_job_log final : public job_log {
public:
  void append(job_id job, std::uint64_t expected_seq, std::vector<event> events,
              append_callback done) override;
  store::status load(job_id job, job_state& out) const override;
  store::status save_snapshot(job_id job, const job_state& state) override;

  // The next `n` appends fail with `why` and write nothing.
  void fail_appends(std::size_t n, store::status why);
  // The next `n` appends are written but reported as failing with `why`: what a caller sees
  // when a PostgreSQL connection is lost during COMMIT.
  void commit_then_fail(std::size_t n, store::status why);
  // The next `n` loads fail with `why` (a server that cannot be reached).
  void fail_loads(std::size_t n, store::status why);
  // Every event of `job`, in order.
  std::vector<event> events_of(job_id job) const;
  // Loads served so far (what passivation and waking cost).
  std::size_t loads() const;

private:
  struct stream {
    std::vector<event> events;
    std::optional<job_state> snapshot;
  };
  mutable std::mutex mtx_;
  std::unordered_map<job_id, stream> streams_;
  std::uint64_t position_ = 0;
  std::size_t failing_ = 0;
  std::size_t committing_then_failing_ = 0;
  mutable std::size_t failing_loads_ = 0;
  store::status load_failure_;
  store::status failure_;
  mutable std::size_t loads_ = 0;
};

} // namespace almanac
