#include "actors/job_summary.hpp"

#include "events/decide.hpp"

namespace almanac {

std::optional<instant> job_summary::deadline() const {
  std::optional<instant> earliest;
  if (timeout <= duration::zero())
    return earliest;
  for (const auto& r : runs)
    if (!earliest || r.started_at + timeout < *earliest)
      earliest = r.started_at + timeout;
  return earliest;
}

bool job_summary::timed_out(const run_view& r, instant now) const {
  return timeout > duration::zero() && r.started_at + timeout <= now;
}

job_summary summarize(const job_state& s) {
  job_summary j;
  j.id = s.id;
  j.name = s.name;
  j.status = s.status;
  j.deleted = s.deleted;
  j.created_at = s.created_at;
  j.next_run_at = s.next_run_at;
  j.wake = wake_at(s);
  j.group = s.policies.group;
  j.consecutive_errors = s.consecutive_errors;
  j.timeout = s.policies.timeout;
  for (const auto& r : s.in_flight)
    j.runs.push_back(run_view{r.run_id, r.started_at});
  return j;
}

} // namespace almanac
