// The history of jobs as the admin interface returns it: audit entries (who did what to which
// job, when, why, status before and after) and run records (one per run). The projections
// module folds them from the log.
#pragma once

#include <almanac/job.hpp>
#include <almanac/time.hpp>

#include <cstdint>
#include <string>

namespace almanac {

struct audit_entry {
  // The global position of the event this entry records.
  std::uint64_t position = 0;
  instant at{};
  job_id job;
  std::string job_name;
  // create, update, pause, resume, resume:force, run_now, delete; automatic: failed, backoff,
  // completed.
  std::string action;
  std::string from_status;
  std::string to_status;
  std::string actor;
  std::string note;
  std::string detail;
};

struct run_record {
  job_id job;
  std::uint64_t run_id = 0;
  instant scheduled_for{};
  instant started_at{};
  // The epoch while the run is in flight.
  instant finished_at{};
  std::string trigger;
  // running, succeeded, failed, abandoned.
  std::string outcome = "running";
  std::string error;
  duration took{};
  std::string output_tail;
};

} // namespace almanac
