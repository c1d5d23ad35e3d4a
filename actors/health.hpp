// Health: the report an operator reads (jobs by status, runs in flight and which are past their
// timeout, the fleet alert, quarantined jobs, log salvages), built from the registry alone, so
// it needs neither job actors nor the log. The fleet alert counts jobs that turned failed within
// a sliding window.
#pragma once

#include "actors/registry.hpp"

#include <almanac/time.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace almanac {

struct health_report;

class health {
public:
  // The alert: `alert_failures` jobs turned failed within `window`.
  explicit health(std::uint32_t alert_failures = 10, duration window = std::chrono::minutes{5})
    : alert_failures_(alert_failures), window_(window) {}

  // Notes the job's latest summary: a job that turns failed counts toward the alert at `now`.
  // Call before the registry takes the summary (it compares with the registered status).
  void note(const registry& reg, const job_summary& job, instant now);

  // Jobs the log could not load at start-up, and the salvages the log records.
  void set_quarantined(std::vector<std::string> jobs) { quarantined_ = std::move(jobs); }
  void set_log_salvages(std::vector<std::string> salvages) { salvages_ = std::move(salvages); }

  // The report at `now`. Failures older than the window are forgotten.
  health_report report(const registry& reg, instant started_at, instant now);

private:
  std::uint32_t alert_failures_;
  duration window_;
  std::deque<instant> recent_failures_;
  std::vector<std::string> quarantined_;
  std::vector<std::string> salvages_;
};

} // namespace almanac
