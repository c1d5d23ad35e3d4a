// What every actor of one scheduler shares: the log, the executor, the clock and the settings.
// One instance per scheduler, held by shared pointer, so a job actor costs a pointer, not a copy.
#pragma once

#include "actors/executor.hpp"
#include "actors/metrics.hpp"
#include "store/event_log.hpp"

#include <almanac/clock.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace almanac {

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

struct runtime_context {
  store::event_log* log = nullptr;
  executor* exec = nullptr;
  const clock* clk = nullptr;
  runtime_settings settings;
  log_sink logger;
  // Shared with whoever renders them (the daemon's /metrics); mutable through a const context.
  std::shared_ptr<runtime_metrics> metrics = std::make_shared<runtime_metrics>();
  // Set when the projector has been told the log moved on and has not started catching up yet:
  // one wake-up covers any number of appends, so a burst of creates does not fill its mailbox
  // with one message per event (~190 bytes each, 2 per job while it lags).
  mutable std::atomic<bool> projector_poked{false};

  void say(log_level level, const std::string& line) const {
    if (logger)
      logger(level, line);
  }
};

} // namespace almanac
