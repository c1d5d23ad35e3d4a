// Start-up: every live job rebuilt from the log (latest snapshot plus the events after it), before
// any actor runs. A job whose log cannot be decoded stops the start-up with its id, sequence and
// the reason, unless quarantine is asked for; then it is left out and reported by health.
#pragma once

#include "actors/runtime_context.hpp"

#include <almanac/job_state.hpp>
#include <almanac/result.hpp>

#include <string>
#include <vector>

namespace almanac {

struct recovered_jobs {
  std::vector<job_state> jobs;
  // "job 00000000000000a1: seq 7: unknown event type tag 99" per quarantined job.
  std::vector<std::string> quarantined;
  // Every salvage of a damaged write-ahead log recorded in the log (log_salvaged), oldest first:
  // "2026-12-01T10:00:00Z: the write-ahead log ... is damaged (...): ... lost".
  std::vector<std::string> log_salvages;
  // The sum of the recovered streams' lengths (events covered by snapshots included).
  std::uint64_t events_total = 0;
  std::uint64_t snapshot_warnings = 0;
  duration took{};
};

// Errors: unknown_event / newer_format / corrupt_event naming job and sequence (unless
// settings.quarantine_undecodable), storage_error when the log cannot be read.
result<recovered_jobs> recover_jobs(const runtime_context& ctx);

} // namespace almanac
