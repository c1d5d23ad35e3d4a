// What the rest of the runtime knows of a job without holding its state: enough to route,
// schedule, gate runs and report health. The job actor sends one after every change, the
// registry keeps one per live job (also for a passivated job, which has no actor), and health
// reads them. One struct, built in one place (summarize), so no view of a job is copied by hand.
#pragma once

#include <almanac/job.hpp>
#include <almanac/job_state.hpp>

#include <almanac/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace almanac {

// A run in flight, for timeouts and health.
struct run_view {
  std::uint64_t run_id = 0;
  instant started_at{};

  friend bool operator==(const run_view& a, const run_view& b) {
    return a.run_id == b.run_id && a.started_at == b.started_at;
  }
};

struct job_summary {
  job_id id;
  std::string name;
  job_status status = job_status::active;
  bool deleted = false;
  instant created_at{};
  std::optional<instant> next_run_at;
  // next_run_at plus the job's jitter: when the timer should fire.
  std::optional<instant> wake;
  // The concurrency group; empty: none.
  std::string group;
  std::uint32_t consecutive_errors = 0;
  // The run timeout; zero: none.
  duration timeout{};
  std::vector<run_view> runs;

  // The earliest instant a run in flight passes its timeout; nullopt without timeout or runs.
  std::optional<instant> deadline() const;
  // Whether the run started at `started_at` is past its timeout at `now`.
  bool timed_out(const run_view& r, instant now) const;
};

// The summary of `s` (wake from wake_at, runs from in_flight).
job_summary summarize(const job_state& s);

} // namespace almanac
