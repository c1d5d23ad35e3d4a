// The state of one job: what its events add up to. Built only by folding its events (evolve) and
// read when a command is decided; the job actor holds one, snapshots store one.
#pragma once

#include <almanac/job.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace almanac {

enum class job_status : std::uint8_t { active = 0, paused = 1, failed = 2, completed = 3 };

std::string_view to_string(job_status s);
// Errors: invalid_input for anything but the four names.
result<job_status> parse_job_status(std::string_view text);

// A run that has started and not yet finished or been abandoned.
struct in_flight_run {
  std::uint64_t run_id = 0;
  instant scheduled_for{};
  instant started_at{};
  run_trigger trigger = run_trigger::timer;
};

// The outcome of the last finished run.
struct last_run_info {
  std::uint64_t run_id = 0;
  bool ok = false;
  std::string error;
  instant started_at{};
  instant finished_at{};
};

struct job_state {
  job_id id;
  // Sequence of the last event applied; 0 for a job that does not exist yet.
  std::uint64_t seq = 0;
  bool deleted = false;

  std::string name;
  schedule sched = at_schedule{};
  target what;
  job_policies policies;
  std::string created_by;
  instant created_at{};
  instant updated_at{};

  job_status status = job_status::active;
  std::optional<instant> next_run_at;
  std::uint32_t consecutive_errors = 0;
  std::string last_error;
  // Runs started so far; the next run gets runs_started + 1 as its id.
  std::uint64_t runs_started = 0;
  // Scheduled (non-manual) runs that finished, for max_runs.
  std::uint64_t scheduled_runs_finished = 0;
  // Missed fires run in a row by catch_up; reset by an on-time fire.
  std::uint32_t catch_up_streak = 0;
  // Runs in a row the daemon could not carry out for want of its own resources (RunAbandoned
  // with infra_failures); reset by the next run that really ran. Sets the retry delay only: it
  // never counts toward max_consecutive_errors.
  std::uint32_t consecutive_infra_failures = 0;
  std::vector<in_flight_run> in_flight;
  // A fire deferred by overlap=buffer_one.
  std::optional<instant> queued_fire;
  std::optional<last_run_info> last_run;

  // Whether a job exists at all (created and not deleted).
  bool live() const noexcept { return seq > 0 && !deleted; }
};

// The effective limit of consecutive failed runs: policies.max_consecutive_errors, else 10 (3
// for `at` jobs). One of the job's rules, defined with the others where commands are decided.
std::uint32_t max_errors(const job_state& s);

// Checks the invariants every state reachable by evolve must hold (a failed job has no next run,
// an active job with no run in flight has a next run, ...). Returns the first violation.
result<void> check_invariants(const job_state& s);

} // namespace almanac
