#include <almanac/job_state.hpp>

#include <almanac/time.hpp>

namespace almanac {

std::string_view to_string(job_status s) {
  switch (s) {
    case job_status::active: return "active";
    case job_status::paused: return "paused";
    case job_status::failed: return "failed";
    case job_status::completed: return "completed";
  }
  return "unknown";
}

result<job_status> parse_job_status(std::string_view text) {
  for (auto s : {job_status::active, job_status::paused, job_status::failed, job_status::completed})
    if (to_string(s) == text)
      return s;
  return fail(errc::invalid_input, "unknown job status '" + std::string{text} +
                                     "' (expected active, paused, failed or completed)");
}

result<void> check_invariants(const job_state& s) {
  auto bad = [&](std::string what) {
    return fail(errc::corrupt_event, "job " + to_string(s.id) + " at seq " +
                                       std::to_string(s.seq) + ": " + what);
  };
  if (s.seq == 0)
    return {};
  if (s.name.empty())
    return bad("has no name");
  if (s.status == job_status::failed && s.next_run_at)
    return bad("is failed but has a next run at " + format_instant(*s.next_run_at));
  if (s.status == job_status::completed && s.next_run_at)
    return bad("is completed but has a next run");
  if (s.status == job_status::paused && s.next_run_at)
    return bad("is paused but has a next run");
  if (s.status == job_status::active && !s.deleted && !s.next_run_at && s.in_flight.empty()
      && !s.queued_fire)
    return bad("is active with no next run and no run in flight");
  if (s.status == job_status::failed && s.consecutive_errors == 0)
    return bad("is failed with no consecutive errors");
  if (s.in_flight.size() > 1 && s.policies.overlap != overlap_policy::allow)
    return bad("has " + std::to_string(s.in_flight.size()) +
               " runs in flight although overlap is not allowed");
  for (const auto& r : s.in_flight)
    if (r.run_id == 0 || r.run_id > s.runs_started)
      return bad("has an in-flight run with an unknown id " + std::to_string(r.run_id));
  return {};
}

} // namespace almanac
