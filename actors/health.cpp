#include "actors/health.hpp"

#include <almanac/admin.hpp>

namespace almanac {

void health::note(const registry& reg, const job_summary& job, instant now) {
  auto* e = reg.find(job.id);
  if (e && job.status == job_status::failed && e->job.status != job_status::failed)
    recent_failures_.push_back(now);
}

health_report health::report(const registry& reg, instant started_at, instant now) {
  health_report h;
  h.started_at = started_at;
  h.now = now;
  for (const auto& [id, e] : reg.entries()) {
    const auto& j = e.job;
    switch (j.status) {
      case job_status::active: ++h.active; break;
      case job_status::paused: ++h.paused; break;
      case job_status::failed: ++h.failed; break;
      case job_status::completed: ++h.completed; break;
    }
    if (j.status == job_status::active && j.consecutive_errors > 0)
      ++h.erroring;
    for (const auto& r : j.runs)
      h.runs_in_flight.push_back(stuck_run{id, j.name, r.run_id, r.started_at, now - r.started_at,
                                           j.timeout > duration::zero()
                                             && now - r.started_at > j.timeout});
  }
  while (!recent_failures_.empty() && now - recent_failures_.front() > window_)
    recent_failures_.pop_front();
  h.recently_failed = recent_failures_.size();
  h.fleet_alert = h.recently_failed >= alert_failures_;
  h.quarantined = quarantined_;
  h.log_salvages = salvages_;
  return h;
}

} // namespace almanac
