// Every rule of a job, one small function per command. See decide.hpp for the contract and
// docs/STATE_MACHINE.md for the table of transitions.
#include "events/decide.hpp"
#include "events/evolve.hpp"

#include <almanac/time.hpp>

#include <algorithm>
#include <limits>

namespace almanac {

const std::vector<duration>& default_backoff() {
  using namespace std::chrono;
  static const std::vector<duration> ladder{seconds{30}, seconds{60}, minutes{5}, minutes{15},
                                            minutes{60}};
  return ladder;
}

const std::vector<duration>& infra_retry_ladder() {
  using namespace std::chrono;
  static const std::vector<duration> ladder{seconds{1}, seconds{5}, seconds{30}, seconds{60}};
  return ladder;
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

std::string timeout_reason(duration limit) {
  return "timeout: still running after " + format_duration(limit);
}

namespace {

using events = std::vector<event>;
using decision = result<events>;

// Collects the events of one decision, numbering them after the state's last sequence.
struct emitter {
  job_id id;
  std::uint64_t seq;
  const command& cmd;
  instant now;
  events out;

  void operator()(event_body body) {
    out.push_back(event{event_envelope{id, ++seq, now, cmd.actor, cmd.note, command_name(cmd.body)},
                        std::move(body)});
  }
};

std::string job_label(const job_state& s) {
  return "job '" + s.name + "' (" + to_string(s.id) + ")";
}

error refused(const job_state& s, std::string what) {
  return fail(errc::refused_status,
              job_label(s) + " is " + std::string{to_string(s.status)} + ": " + std::move(what));
}

// The next fire strictly after t, honouring end_at.
std::optional<instant> next_fire(const job_state& s, instant t) {
  auto n = next_after(s.sched, t);
  if (n && s.policies.end_at && *n > *s.policies.end_at)
    return std::nullopt;
  return n;
}

bool is_at(const job_state& s) { return std::holds_alternative<at_schedule>(s.sched); }

bool is_after_run_end(const job_state& s) {
  auto* e = std::get_if<every_schedule>(&s.sched);
  return e && e->mode == every_anchor::after_run_end;
}

// When a paused or failed job becomes active again at `now`. An `at` job whose instant has
// passed fires once, now: a revived one-shot must never be left active with no next run.
std::optional<instant> next_on_resume(const job_state& s, instant now) {
  if (auto* a = std::get_if<at_schedule>(&s.sched))
    return a->at > now ? a->at : now;
  return next_fire(s, now);
}

std::uint64_t scheduled_runs_in_flight(const job_state& s) {
  return static_cast<std::uint64_t>(std::count_if(
    s.in_flight.begin(), s.in_flight.end(),
    [](const in_flight_run& r) { return r.trigger != run_trigger::manual; }));
}

// The job's next fire once a scheduled run for `scheduled_for` has started.
std::optional<instant> next_after_start(const job_state& s, instant scheduled_for,
                                        run_trigger trigger, instant now) {
  if (is_at(s) || is_after_run_end(s))
    return std::nullopt;
  if (s.policies.max_runs
      && s.scheduled_runs_finished + scheduled_runs_in_flight(s) + 1 >= *s.policies.max_runs)
    return std::nullopt;
  if (trigger == run_trigger::catch_up && s.policies.misfire == misfire_policy::catch_up) {
    // Another missed fire is due at once while the catch-up limit allows it.
    auto n = next_fire(s, scheduled_for);
    if (n && *n <= now && s.catch_up_streak + 1 < s.policies.catch_up_limit)
      return n;
  }
  return next_fire(s, std::max(scheduled_for, now));
}

// Schedules arrive from the API with an unset anchor (the epoch) and possibly uncompiled cron:
// both are settled here, so the event records exactly what the job will follow.
result<schedule> settle_schedule(schedule sched, instant now) {
  if (auto* e = std::get_if<every_schedule>(&sched); e && e->anchor == instant{})
    e->anchor = now;
  if (auto r = compile(sched); !r)
    return std::move(r).err();
  if (auto r = validate_new(sched, now); !r)
    return std::move(r).err();
  return sched;
}

decision decide_create(const job_state& s, const create_job& c, emitter& emit) {
  if (s.seq > 0)
    return fail(errc::conflict, "job id " + to_string(c.id) + " already exists");
  if (auto r = validate_name(c.name); !r)
    return std::move(r).err();
  if (auto r = validate_target(c.what); !r)
    return std::move(r).err();
  if (auto r = validate_policies(c.policies); !r)
    return std::move(r).err();
  auto sched = settle_schedule(c.sched, emit.now);
  if (!sched)
    return std::move(sched).err();
  job_state probe;
  probe.sched = *sched;
  probe.policies = c.policies;
  auto next = next_fire(probe, emit.now);
  if (!next)
    return fail(errc::invalid_schedule,
                "the schedule " + describe(*sched) + " has no fire before the job's end time");
  emit.id = c.id;
  emit(job_created{c.name, std::move(*sched), c.what, c.policies, emit.cmd.actor, next});
  return std::move(emit.out);
}

decision decide_update(const job_state& s, const update_job& u, emitter& emit) {
  if (s.status == job_status::completed)
    return refused(s, "a completed job cannot be updated; create a new one");
  bool patched = !empty(u.policy_changes);
  if (!u.name && !u.sched && !u.what && !u.policies && !patched)
    return fail(errc::invalid_input, "the update of " + job_label(s) + " changes nothing");
  job_updated e;
  job_state next = s;
  if (u.name) {
    if (auto r = validate_name(*u.name); !r)
      return std::move(r).err();
    e.name = next.name = *u.name;
  }
  if (u.what) {
    if (auto r = validate_target(*u.what); !r)
      return std::move(r).err();
    e.what = next.what = *u.what;
  }
  if (u.policies || patched) {
    // The patch lands on the policies the job has now, not on a copy a client read earlier:
    // two updates of different fields both hold. The event records the whole result.
    auto merged = merge(u.policies ? *u.policies : s.policies, u.policy_changes);
    if (auto r = validate_policies(merged); !r)
      return std::move(r).err();
    e.policies = next.policies = std::move(merged);
  }
  if (u.sched) {
    auto sched = settle_schedule(*u.sched, emit.now);
    if (!sched)
      return std::move(sched).err();
    e.sched = next.sched = *sched;
  }
  // A new schedule or end time re-plans the next fire of an active job; a paused or failed job
  // gets its next fire when it is resumed.
  if ((u.sched || e.policies) && s.status == job_status::active && s.next_run_at) {
    auto n = u.sched ? next_on_resume(next, emit.now) : next_fire(next, emit.now);
    if (!n)
      return fail(errc::invalid_input,
                  "after this update " + job_label(s) + " would never fire again");
    e.next_run_at = n;
  }
  emit(std::move(e));
  return std::move(emit.out);
}

decision decide_pause(const job_state& s, emitter& emit) {
  if (s.status == job_status::paused)
    return refused(s, "it is already paused");
  if (s.status != job_status::active)
    return refused(s, "only active jobs can be paused");
  emit(job_paused{});
  return std::move(emit.out);
}

decision decide_resume(const job_state& s, const resume_job& r, emitter& emit) {
  switch (s.status) {
    case job_status::active:
      return refused(s, "it is already active");
    case job_status::completed:
      return refused(s, "a completed job cannot be resumed, even with force");
    case job_status::paused:
      break;
    case job_status::failed:
      if (!r.force)
        return fail(errc::failed_needs_force,
                    job_label(s) + " is failed after " + std::to_string(s.consecutive_errors) +
                      " consecutive errors; plain resume only resumes paused jobs: pass force "
                      "to revive it");
      break;
  }
  auto next = next_on_resume(s, emit.now);
  if (!next)
    return refused(s, "its end time has passed, so it would never fire again");
  if (s.status == job_status::failed)
    emit(job_revived{s.consecutive_errors, next});
  else
    emit(job_resumed{next});
  return std::move(emit.out);
}

decision decide_run_now(const job_state& s, emitter& emit) {
  if (s.status != job_status::active)
    return refused(s, "run-now needs an active job");
  if (!s.in_flight.empty() && s.policies.overlap != overlap_policy::allow)
    return refused(s, "run " + std::to_string(s.in_flight.front().run_id) +
                        " is still in flight and the overlap policy does not allow another");
  emit(run_started{s.runs_started + 1, emit.now, run_trigger::manual, s.next_run_at});
  return std::move(emit.out);
}

// The reason recorded for a run that its job's deletion cut off.
constexpr std::string_view deleted_reason = "cancelled: job deleted";

// Deletes the job, closing every run still in flight first: a deleted job takes no outcome
// (decide refuses every command), so a run left open would stay running in the log for good.
// The job actor asks the executor to stop each abandoned run.
void delete_job_now(const job_state& s, emitter& emit) {
  for (const auto& r : s.in_flight)
    emit(run_abandoned{r.run_id, std::string{deleted_reason}, std::nullopt});
  emit(job_deleted{});
}

decision decide_delete(const job_state& s, emitter& emit) {
  delete_job_now(s, emit);
  return std::move(emit.out);
}

decision decide_due(const job_state& s, const due& d, emitter& emit) {
  // The supervisor's timers cannot be cancelled: a due for a fire the job no longer expects
  // (paused, rescheduled, already handled) is refused and the caller drops it.
  if (s.status != job_status::active || !s.next_run_at || *s.next_run_at != d.scheduled_for)
    return fail(errc::refused_status, "stale timer for " + job_label(s) + " at " +
                                        format_instant(d.scheduled_for));
  auto now = emit.now;
  bool late = now - d.scheduled_for > s.policies.misfire_grace;
  bool busy = !s.in_flight.empty() && s.policies.overlap != overlap_policy::allow;

  if (late && s.policies.misfire == misfire_policy::skip) {
    auto next = next_fire(s, now);
    emit(run_skipped{d.scheduled_for, skip_reason::misfire, next});
    if (!next && s.in_flight.empty())
      emit(job_completed{});
    return std::move(emit.out);
  }
  bool catch_up = late && s.policies.misfire == misfire_policy::catch_up;
  if (catch_up && s.catch_up_streak >= s.policies.catch_up_limit) {
    auto next = next_fire(s, now);
    emit(run_skipped{d.scheduled_for, skip_reason::misfire, next});
    if (!next && s.in_flight.empty())
      emit(job_completed{});
    return std::move(emit.out);
  }
  if (busy) {
    // A catch-up backlog waits behind the run in flight, one fire at a time; its timer is
    // disarmed until the queued fire starts and names the next missed one.
    // An `at` job's only fire is never lost to an overlapping manual run: it waits too.
    if (!s.queued_fire
        && (catch_up || is_at(s) || s.policies.overlap == overlap_policy::buffer_one)) {
      emit(run_queued{d.scheduled_for, catch_up ? std::nullopt : next_fire(s, now)});
      return std::move(emit.out);
    }
    emit(run_skipped{d.scheduled_for, skip_reason::overlap, next_fire(s, now)});
    return std::move(emit.out);
  }
  auto retrying = s.consecutive_errors > 0 || s.consecutive_infra_failures > 0;
  auto trigger = late ? run_trigger::catch_up : (retrying ? run_trigger::retry : run_trigger::timer);
  emit(run_started{s.runs_started + 1, d.scheduled_for, trigger,
                   next_after_start(s, d.scheduled_for, trigger, now)});
  return std::move(emit.out);
}

// The state after the events emitted so far: lets the closing rules of a decision (start a
// queued fire, complete a job with nothing left to do) look at the outcome instead of
// re-deriving it.
job_state after_emitted(const job_state& s, const emitter& emit) {
  job_state after = s;
  for (const auto& e : emit.out)
    after = evolve(std::move(after), e);
  return after;
}

// A run the daemon could not carry out: its own file descriptors, memory or processes ran short,
// not the target. Whoever exhausted them (an unauthenticated flood of connections, another
// process) must not be able to push the job to failed, so the run is recorded abandoned: neither
// a failure toward max_consecutive_errors nor a finished run toward max_runs, whatever its
// trigger. An active job tries again after a delay that grows while the shortage lasts (so an
// exhausted daemon does not spin writing events), but never later than its next regular fire;
// a paused or failed job keeps waiting for its command.
decision decide_run_infra_failed(const job_state& s, const run_finished& f, emitter& emit) {
  const auto streak = s.consecutive_infra_failures == std::numeric_limits<std::uint32_t>::max()
                        ? s.consecutive_infra_failures
                        : s.consecutive_infra_failures + 1;
  std::optional<instant> next;
  if (s.status == job_status::active) {
    const auto& ladder = infra_retry_ladder();
    next = emit.now + ladder[std::min<std::size_t>(streak - 1, ladder.size() - 1)];
    if (s.next_run_at && *s.next_run_at < *next)
      next = s.next_run_at;
  }
  emit(run_abandoned{f.run_id, "daemon resource: " + (f.error.empty() ? "unknown" : f.error),
                     next, streak});
  return std::move(emit.out);
}

decision decide_run_finished(const job_state& s, const run_finished& f, emitter& emit) {
  auto it = std::find_if(s.in_flight.begin(), s.in_flight.end(),
                         [&](const in_flight_run& r) { return r.run_id == f.run_id; });
  if (it == s.in_flight.end())
    return fail(errc::conflict, "run " + std::to_string(f.run_id) + " of " + job_label(s) +
                                  " is not in flight");
  if (f.infra)
    return decide_run_infra_failed(s, f, emit);
  const auto run = *it;
  const auto now = emit.now;
  const bool active = s.status == job_status::active;
  const bool manual = run.trigger == run_trigger::manual;
  const bool last_allowed = !manual && s.policies.max_runs
                            && s.scheduled_runs_finished + 1 >= *s.policies.max_runs;
  bool done_for_good = false; // the job has nothing left to run: complete it

  if (!f.ok) {
    auto errors = s.consecutive_errors + 1;
    if (manual || (!active && s.status != job_status::paused)) {
      // Manual runs that fail never push a job towards failed: they leave the count alone. Nor
      // does a run that ends after its job failed or completed.
      emit(run_failed{f.run_id, f.error, s.consecutive_errors, active ? s.next_run_at : std::nullopt,
                      f.took, f.output_tail});
    } else if (errors >= max_errors(s)) {
      // The threshold wins over a pause: a job paused while its failing run was in flight is
      // failed like an active one, or its errors would be hidden until someone resumed it.
      emit(run_failed{f.run_id, f.error, errors, std::nullopt, f.took, f.output_tail});
      emit(job_failed{errors, f.error});
      return std::move(emit.out);
    } else if (last_allowed) {
      emit(run_failed{f.run_id, f.error, errors, std::nullopt, f.took, f.output_tail});
      done_for_good = true;
    } else if (!active) {
      // Paused: the failure counts, and the retry waits for the resume (which plans from now).
      emit(run_failed{f.run_id, f.error, errors, std::nullopt, f.took, f.output_tail});
    } else {
      const auto& ladder = s.policies.backoff.empty() ? default_backoff() : s.policies.backoff;
      auto retry = now + ladder[std::min<std::size_t>(errors - 1, ladder.size() - 1)];
      if (!is_at(s)) {
        // A recurring job never waits longer than its next regular fire.
        auto regular = next_fire(s, now);
        if (regular && *regular < retry)
          retry = *regular;
      }
      if (s.policies.end_at && retry > *s.policies.end_at) {
        emit(run_failed{f.run_id, f.error, errors, std::nullopt, f.took, f.output_tail});
        done_for_good = true;
      } else {
        emit(run_failed{f.run_id, f.error, errors, retry, f.took, f.output_tail});
      }
    }
  } else if (is_at(s) || s.policies.delete_after_run || last_allowed) {
    // Nothing is left to run, whatever the status: a paused or failed one-shot that stayed so
    // after its successful run would run a second time when resumed.
    emit(run_succeeded{f.run_id, f.took, f.output_tail, std::nullopt});
    done_for_good = s.status != job_status::completed;
  } else if (!active) {
    emit(run_succeeded{f.run_id, f.took, f.output_tail, std::nullopt});
    return std::move(emit.out);
  } else {
    std::optional<instant> next = s.next_run_at;
    if (is_after_run_end(s) && !manual)
      next = next_fire(s, now);
    emit(run_succeeded{f.run_id, f.took, f.output_tail, next});
  }

  auto after = after_emitted(s, emit);
  if (done_for_good) {
    // The job completes at once, even with other runs of overlap=allow still in flight (their
    // outcomes are recorded against the completed job): waiting for them would let a pause, a
    // failure or a run-now in between keep alive a job that has nothing left to run.
    emit(job_completed{});
    if (s.policies.delete_after_run && f.ok)
      delete_job_now(after, emit);
    return std::move(emit.out);
  }
  if (after.status != job_status::active || !after.in_flight.empty())
    return std::move(emit.out);
  if (after.queued_fire) {
    // The fire deferred behind this run starts now.
    auto queued = *after.queued_fire;
    auto trigger = now - queued > s.policies.misfire_grace ? run_trigger::catch_up
                                                           : run_trigger::timer;
    auto following = after.next_run_at ? after.next_run_at
                                       : next_after_start(after, queued, trigger, now);
    emit(run_started{after.runs_started + 1, queued, trigger, following});
    return std::move(emit.out);
  }
  if (!after.next_run_at)
    emit(job_completed{});
  return std::move(emit.out);
}

// A timed-out run is a failed run like any other (it counts toward max_consecutive_errors and
// plans the retry), recorded by the supervisor's clock rather than by the run's own outcome,
// which may never come. The reason carries the limit so an operator can tell it from a failure
// of the target.
decision decide_time_out(const job_state& s, const time_out_run& t, emitter& emit) {
  auto it = std::find_if(s.in_flight.begin(), s.in_flight.end(),
                         [&](const in_flight_run& r) { return r.run_id == t.run_id; });
  if (it == s.in_flight.end())
    return fail(errc::conflict, "run " + std::to_string(t.run_id) + " of " + job_label(s) +
                                  " is not in flight");
  const auto limit = s.policies.timeout;
  if (limit <= duration::zero() || t.at < it->started_at + limit)
    return fail(errc::conflict, "run " + std::to_string(t.run_id) + " of " + job_label(s) +
                                  " has not reached a timeout at " + format_instant(t.at));
  return decide_run_finished(
    s, run_finished{t.run_id, false, timeout_reason(limit), t.at - it->started_at, {}}, emit);
}

decision decide_abandon(const job_state& s, const abandon_in_flight& a, emitter& emit) {
  if (s.in_flight.empty())
    return refused(s, "it has no run in flight to abandon");
  // At-least-once: a job that was only waiting for the cut-off run (a one-shot, after_run_end,
  // or its last allowed run) runs again at once; otherwise it keeps the next fire it had.
  std::optional<instant> next;
  if (s.status == job_status::active)
    next = s.next_run_at ? s.next_run_at : std::optional{emit.now};
  for (const auto& r : s.in_flight)
    emit(run_abandoned{r.run_id, a.reason, next});
  return std::move(emit.out);
}

} // namespace

result<std::vector<event>> decide(const job_state& state, const command& cmd, instant now) {
  emitter emit{state.id, state.seq, cmd, now, {}};
  if (auto r = validate_envelope(cmd); !r)
    return std::move(r).err();
  if (auto* c = std::get_if<create_job>(&cmd.body))
    return decide_create(state, *c, emit);
  if (!state.live())
    return fail(errc::not_found, "job " + to_string(state.id) + " does not exist");
  struct visitor {
    const job_state& s;
    emitter& emit;
    decision operator()(const create_job&) const { return std::vector<event>{}; } // handled above
    decision operator()(const update_job& u) const { return decide_update(s, u, emit); }
    decision operator()(const pause_job&) const { return decide_pause(s, emit); }
    decision operator()(const resume_job& r) const { return decide_resume(s, r, emit); }
    decision operator()(const run_now&) const { return decide_run_now(s, emit); }
    decision operator()(const delete_job&) const { return decide_delete(s, emit); }
    decision operator()(const due& d) const { return decide_due(s, d, emit); }
    decision operator()(const run_finished& f) const { return decide_run_finished(s, f, emit); }
    decision operator()(const time_out_run& t) const { return decide_time_out(s, t, emit); }
    decision operator()(const abandon_in_flight& a) const { return decide_abandon(s, a, emit); }
  };
  return std::visit(visitor{state, emit}, cmd.body);
}

} // namespace almanac
