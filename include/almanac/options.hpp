// The settings of a scheduler's parts, each with its default. scheduler_options (almanac.hpp)
// gathers them; the daemon fills them from its flags and config file.
#pragma once

#include <almanac/run.hpp>
#include <almanac/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace almanac {

// What "acknowledged" means for an append.
enum class durability : std::uint8_t {
  // The group's WriteBatch is fsync'd before any caller in it is acknowledged (default).
  sync = 0,
  // Written to the WAL without fsync: survives a killed process, not a power loss. For tests and
  // benchmarks only.
  none = 1,
};

struct executor_options {
  // Worker threads: the most runs that execute at once. Default: 8.
  std::size_t workers = 8;
  // Runners of exec and http targets (the daemon's), in place before the first run: a job
  // overdue at start-up is dispatched at once. Empty: such runs fail naming what is missing.
  runner exec_runner;
  runner http_runner;
};

struct runtime_settings {
  // A job actor saves a snapshot after this many events since its last one. Default: 64.
  std::uint32_t snapshot_every = 64;
  // The most runs in flight at once, all jobs together. Default: 256.
  std::uint32_t max_concurrent_runs = 256;
  // Overdue fire_once jobs found at start-up are spread over up to this window, at most one per
  // millisecond per overdue job. Default: 10 s.
  duration recovery_stagger = std::chrono::seconds{10};
  // The fleet alert: this many jobs failing within the window. Defaults: 10 within 5 min.
  std::uint32_t fleet_alert_failures = 10;
  duration fleet_alert_window = std::chrono::minutes{5};
  // Start even when some jobs' logs cannot be decoded (unknown event type, newer format): those
  // jobs are quarantined (not scheduled) and reported by health. Default: refuse to start.
  bool quarantine_undecodable = false;
  // A job actor idle this long (nothing queued, no run in flight, no wake-up due within this
  // window either) is stopped; its state stays in the log and a new actor is spawned from there
  // when the job is next needed. An idle job then costs the supervisor's registry entry instead
  // of an actor and its state (~2 KB). Zero: never. Default: 10 s.
  duration passivate_after = std::chrono::seconds{10};
  // The most live jobs at once; deleting a job frees its place. A create at the cap is refused
  // with limit_exceeded and changes nothing. Recovery never refuses: a log that holds more jobs
  // (written under a higher cap) starts with all of them, and creates are refused until deletes
  // bring the count under the cap. A passivated job still costs its registry entry (a few
  // hundred bytes) and its log. At least 1 (scheduler::start refuses 0: a scheduler without a
  // cap is exactly what a flood of creates exhausts). Default: 1,000,000.
  std::uint64_t max_jobs = 1'000'000;
};

// Log lines that matter to an operator (start, recovery summary, run failed, job failed,
// revived). The daemon routes them to its logger; embedders may ignore them.
enum class log_level : std::uint8_t { debug, info, warning, error };
using log_sink = std::function<void(log_level, const std::string&)>;

} // namespace almanac
