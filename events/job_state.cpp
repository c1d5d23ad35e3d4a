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

std::uint32_t max_errors(const job_state& s) {
  if (s.policies.max_consecutive_errors)
    return *s.policies.max_consecutive_errors;
  return std::holds_alternative<at_schedule>(s.sched) ? 3 : 10;
}

namespace {

// splitmix64: a well-mixed 64-bit hash, so jitter spreads evenly even for sequential job ids.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

std::optional<instant> wake_at(const job_state& s) {
  if (!s.next_run_at)
    return std::nullopt;
  auto fire = *s.next_run_at;
  if (s.policies.jitter <= duration::zero())
    return fire;
  // Bounded by the gap to the following fire so jitter never reorders two fires of one job.
  auto bound = s.policies.jitter;
  if (auto following = next_after(s.sched, fire); following && *following - fire < bound)
    bound = *following - fire;
  if (bound <= duration::zero())
    return fire;
  auto h = mix(s.id.value ^ mix(static_cast<std::uint64_t>(to_unix_us(fire))));
  return fire + duration{static_cast<duration::rep>(h % static_cast<std::uint64_t>(bound.count()))};
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
