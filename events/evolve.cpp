#include "events/evolve.hpp"

#include <algorithm>

namespace almanac {

namespace {

// Removes the run from the in-flight list and returns it (a default run when it is unknown: evolve
// does not validate, decide and the store's verify do).
in_flight_run take_run(job_state& s, std::uint64_t run_id) {
  auto i = std::find_if(s.in_flight.begin(), s.in_flight.end(),
                        [&](const in_flight_run& r) { return r.run_id == run_id; });
  if (i == s.in_flight.end())
    return in_flight_run{run_id, {}, {}, run_trigger::timer};
  auto run = *i;
  s.in_flight.erase(i);
  return run;
}

void finish_run(job_state& s, const in_flight_run& run, bool ok, std::string error, instant at) {
  s.last_run = last_run_info{run.run_id, ok, std::move(error), run.started_at, at};
  if (run.trigger != run_trigger::manual)
    ++s.scheduled_runs_finished;
}

struct apply {
  job_state& s;
  const event_envelope& env;

  void operator()(const job_created& e) {
    s.id = env.job;
    s.name = e.name;
    s.sched = e.sched;
    s.what = e.what;
    s.policies = e.policies;
    s.created_by = e.created_by;
    s.created_at = env.recorded_at;
    s.status = job_status::active;
    s.next_run_at = e.next_run_at;
  }
  void operator()(const job_updated& e) {
    if (e.name)
      s.name = *e.name;
    if (e.sched)
      s.sched = *e.sched;
    if (e.what)
      s.what = *e.what;
    if (e.policies)
      s.policies = *e.policies;
    if (e.next_run_at)
      s.next_run_at = e.next_run_at;
  }
  void operator()(const job_paused&) {
    s.status = job_status::paused;
    s.next_run_at.reset();
    s.queued_fire.reset();
  }
  void operator()(const job_resumed& e) {
    s.status = job_status::active;
    s.consecutive_errors = 0;
    s.catch_up_streak = 0;
    s.next_run_at = e.next_run_at;
  }
  void operator()(const job_revived& e) {
    s.status = job_status::active;
    s.consecutive_errors = 0;
    s.catch_up_streak = 0;
    s.last_error.clear();
    s.next_run_at = e.next_run_at;
  }
  void operator()(const run_started& e) {
    s.runs_started = std::max(s.runs_started, e.run_id);
    s.in_flight.push_back(in_flight_run{e.run_id, e.scheduled_for, env.recorded_at, e.trigger});
    if (e.trigger == run_trigger::catch_up)
      ++s.catch_up_streak;
    else if (e.trigger != run_trigger::manual)
      s.catch_up_streak = 0;
    if (s.queued_fire == e.scheduled_for && e.trigger != run_trigger::manual)
      s.queued_fire.reset();
    s.next_run_at = e.next_run_at;
  }
  void operator()(const run_succeeded& e) {
    finish_run(s, take_run(s, e.run_id), true, {}, env.recorded_at);
    // A failed job stays failed with its count until it is revived by force, even when a run
    // that was still in flight succeeds.
    if (s.status != job_status::failed)
      s.consecutive_errors = 0;
    s.consecutive_infra_failures = 0;
    s.next_run_at = e.next_run_at;
  }
  void operator()(const run_failed& e) {
    finish_run(s, take_run(s, e.run_id), false, e.error, env.recorded_at);
    s.consecutive_errors = e.consecutive_errors;
    s.consecutive_infra_failures = 0;
    s.last_error = e.error;
    s.next_run_at = e.next_run_at;
  }
  void operator()(const run_skipped& e) { s.next_run_at = e.next_run_at; }
  void operator()(const run_queued& e) {
    s.queued_fire = e.scheduled_for;
    s.next_run_at = e.next_run_at;
  }
  void operator()(const run_abandoned& e) {
    take_run(s, e.run_id);
    s.consecutive_infra_failures = e.infra_failures;
    s.next_run_at = e.next_run_at;
  }
  void operator()(const job_failed& e) {
    s.status = job_status::failed;
    s.consecutive_errors = e.consecutive_errors;
    s.last_error = e.last_error;
    s.next_run_at.reset();
    s.queued_fire.reset();
  }
  void operator()(const job_completed&) {
    s.status = job_status::completed;
    s.next_run_at.reset();
    s.queued_fire.reset();
  }
  void operator()(const job_deleted&) {
    s.deleted = true;
    s.next_run_at.reset();
    s.queued_fire.reset();
  }
  void operator()(const log_salvaged&) {
    // nop: the log's own stream holds no job
  }
};

} // namespace

job_state evolve(job_state state, const event& e) {
  std::visit(apply{state, e.env}, e.body);
  state.seq = e.env.seq;
  state.updated_at = e.env.recorded_at;
  return state;
}

job_state replay(job_state from, const std::vector<event>& events) {
  for (const auto& e : events)
    from = evolve(std::move(from), e);
  return from;
}

} // namespace almanac
