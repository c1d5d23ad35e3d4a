// What every actor of one scheduler shares: the log, the executor, the clock and the settings.
// One instance per scheduler, held by shared pointer, so a job actor costs a pointer, not a copy.
#pragma once

#include "actors/executor.hpp"
#include "actors/job_log.hpp"
#include "store/journal.hpp"

#include <almanac/clock.hpp>
#include <almanac/metrics.hpp>
#include <almanac/options.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace almanac {

struct runtime_context {
  // Jobs' streams: what job actors and the supervisor read and write (the one storage seam).
  job_log* jobs = nullptr;
  // The whole log: recovery, the projector and history queries.
  store::journal* log = nullptr;
  // Where the log is, as health shows it (store::describe_location: never a password).
  std::string store_location;
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
