#include "actors/detail/supervisor_state.hpp"

#include "events/decide.hpp"

#include <almanac/caf_error.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <utility>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace almanac::detail {

namespace {

// The job actors report here through a weak handle: the listener they share must not keep the
// supervisor alive.
class tell_supervisor final : public job_listener {
public:
  explicit tell_supervisor(caf::weak_actor_ptr sup) : sup_(std::move(sup)) {}
  void on_changed(const job_summary& job) override {
    if (auto strong = sup_.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), job);
  }

private:
  caf::weak_actor_ptr sup_;
};

} // namespace

std::shared_ptr<job_listener> make_listener(caf::weak_actor_ptr supervisor) {
  return std::make_shared<tell_supervisor>(std::move(supervisor));
}

instant now_of(pointer self) { return self->state.ctx->clk->now(); }

duration sweep_interval(const runtime_settings& settings) {
  return std::max<duration>(settings.passivate_after / 2, std::chrono::milliseconds{100});
}

caf::error deleted(job_id id) {
  return to_caf_error(errc::not_found, "job " + to_string(id) + " was deleted");
}

// The promise waiting for run-now `ticket`, if any (timer dues have nobody to answer).
job_promise take_reply(supervisor_state& st, std::uint64_t ticket) {
  auto i = st.replies.find(ticket);
  if (i == st.replies.end())
    return {};
  auto rp = std::move(i->second);
  st.replies.erase(i);
  return rp;
}

job_actor spawn_for(pointer self, job_id id, std::optional<job_state> initial) {
  auto& st = self->state;
  auto a = spawn_job_actor(self, id, std::move(initial), st.listener, st.ctx);
  st.actors[id] = a;
  st.by_addr[a.address()] = id;
  return a;
}

// The job's actor; one spawned for a passivated job loads its state from the log itself.
result<job_actor> actor_of(pointer self, job_id id) {
  auto& st = self->state;
  if (!st.reg.contains(id))
    return fail(errc::not_found, "job " + to_string(id) + " was deleted");
  st.reg.touch(id, now_of(self));
  if (auto i = st.actors.find(id); i != st.actors.end())
    return i->second;
  return spawn_for(self, id, std::nullopt);
}

// Forgets an actor that is gone (passivated, stopped, or bounced a request while stopping).
void forget_actor(pointer self, job_id id, const job_actor& actor) {
  auto& st = self->state;
  auto i = st.actors.find(id);
  if (i == st.actors.end() || i->second != actor)
    return;
  st.by_addr.erase(actor.address());
  st.actors.erase(i);
}

job_reply deliver_to(job_promise rp) {
  return [rp](result<job_state> r) mutable {
    if (r)
      rp.deliver(std::move(*r));
    else
      rp.deliver(to_caf_error(r.err()));
  };
}

// Sends `msg` to the job's actor and hands the answer to `done`. A request bounced because the
// actor stopped meanwhile (passivation raced it: the request never ran) goes once more, to an
// actor spawned afresh from the log.
template <class Msg>
void ask(pointer self, job_id id, Msg msg, job_reply done, bool retried = false) {
  auto a = actor_of(self, id);
  if (!a)
    return done(std::move(a).err());
  auto actor = *a;
  self->request(actor, caf::infinite, msg)
    .then([=](job_state& s) { done(std::move(s)); },
          [=](caf::error& err) {
            if (!retried && err == caf::make_error(caf::sec::request_receiver_down)) {
              forget_actor(self, id, actor);
              ask(self, id, msg, done, true);
              return;
            }
            done(from_caf_error(err));
          });
}

void ask_job(pointer self, job_id id, job_command cmd, job_reply done) {
  ask(self, id, std::move(cmd), std::move(done));
}

void ask_state(pointer self, job_id id, job_reply done) {
  ask(self, id, get_atom::value, std::move(done));
}

void rearm(pointer self) {
  auto& st = self->state;
  auto next = st.timers.earliest();
  if (auto d = st.deadlines.earliest(); d && (!next || *d < *next))
    next = d;
  if (!next || (st.armed_for && *st.armed_for <= *next))
    return;
  st.armed_for = next;
  auto delay = std::max(duration::zero(), *next - now_of(self));
  self->delayed_send(self, delay, tick{++st.epoch});
}

void dispatch(pointer self, wanted_run w);

// Starts what the gate lets through and answers the waiting runs of deleted jobs.
void drain(pointer self) {
  auto d = self->state.gate.drain();
  for (auto& w : d.gone) {
    auto rp = take_reply(self->state, w.ticket);
    answer(rp, deleted(w.job));
  }
  for (auto& w : d.start)
    dispatch(self, std::move(w));
}

void on_dispatched(pointer self, job_id id, job_promise rp, result<job_state> r) {
  auto& st = self->state;
  st.gate.release(id);
  drain(self);
  if (r)
    return answer(rp, std::move(*r));
  // A due lost to a storage failure is tried again: the job's state did not change, so no
  // summary will re-arm its timer.
  auto code = r.err().code;
  auto* e = st.reg.find(id);
  if (!rp.pending() && e && e->job.next_run_at
      && (code == errc::storage_error || code == errc::unavailable) && !st.timers.armed(id)) {
    st.timers.set(id, now_of(self) + std::chrono::seconds{1});
    rearm(self);
  }
  answer(rp, to_caf_error(r.err()));
}

// Sends a due (or run-now) to the job; the gate holds its slot until the job answers.
void dispatch(pointer self, wanted_run w) {
  auto rp = take_reply(self->state, w.ticket);
  command cmd = w.manual ? command{run_now{}, w.actor, w.note}
                         : command{due{w.scheduled_for}, "timer", {}};
  auto id = w.job;
  ask_job(self, id, job_command{std::move(cmd)}, [=](result<job_state> r) {
    on_dispatched(self, id, rp, std::move(r));
  });
}

void want_run(pointer self, wanted_run w) {
  if (auto now = self->state.gate.want(std::move(w)))
    dispatch(self, std::move(*now));
}

void fire_timers(pointer self, instant now) {
  auto& st = self->state;
  for (auto [id, at] : st.timers.pop_due(now)) {
    auto* e = st.reg.find(id);
    if (e && e->job.next_run_at)
      want_run(self, wanted_run{id, false, *e->job.next_run_at, {}, {}, 0});
  }
}

// The job records each overdue run failed (decide: time_out_run); the executor is asked to stop
// it, and its late outcome is refused (the run is no longer in flight). Should the run's own
// outcome reach the job first, it carries the same reason.
void fire_deadlines(pointer self, instant now) {
  auto& st = self->state;
  for (auto [id, at] : st.deadlines.pop_due(now)) {
    auto* e = st.reg.find(id);
    auto a = st.actors.find(id);
    if (!e || a == st.actors.end())
      continue;
    for (const auto& r : e->job.runs) {
      if (!e->job.timed_out(r, now))
        continue;
      st.ctx->exec->cancel(id, r.run_id, timeout_reason(e->job.timeout));
      caf::anon_send(a->second, job_command{command{time_out_run{r.run_id, now}, "system", {}}});
    }
  }
}

void on_tick(pointer self, const tick& t) {
  auto& st = self->state;
  if (t.epoch != 0 && t.epoch != st.epoch)
    return;
  // A wake-up that is due by the clock no longer guards anything, even when its delayed message
  // has not arrived yet (an explicit check, or a clock that moved on its own): forget it so the
  // next earliest deadline gets a wake-up of its own.
  auto now = now_of(self);
  if (t.epoch != 0 || (st.armed_for && *st.armed_for <= now))
    st.armed_for.reset();
  fire_timers(self, now);
  fire_deadlines(self, now);
  rearm(self);
}

void notify_projector(pointer self) {
  auto& st = self->state;
  if (st.projector && !st.ctx->projector_poked.exchange(true))
    caf::anon_send(st.projector, advance_atom::value);
}

// `actor` may be invalid: the job is registered passive and spawned when needed.
void add_job(pointer self, const job_summary& j, const job_actor& actor) {
  auto& st = self->state;
  if (actor) {
    st.actors[j.id] = actor;
    st.by_addr[actor.address()] = j.id;
  }
  if (auto warning = st.reg.add(j, now_of(self)))
    st.ctx->say(log_level::warning, *warning);
  st.gate.set_load(j.id, j.group, static_cast<std::uint32_t>(j.runs.size()));
  st.timers.set(j.id, j.wake);
}

void drop_job(pointer self, job_id id) {
  auto& st = self->state;
  st.gate.forget(id);
  if (auto a = st.actors.find(id); a != st.actors.end()) {
    st.by_addr.erase(a->second.address());
    self->send_exit(a->second, caf::exit_reason::user_shutdown);
    st.actors.erase(a);
  }
  st.timers.set(id, std::nullopt);
  st.deadlines.set(id, std::nullopt);
  drain(self);
}

// A job actor's summary after a change.
void track(pointer self, const job_summary& j) {
  auto& st = self->state;
  if (!st.reg.contains(j.id))
    return;
  auto now = now_of(self);
  st.fleet.note(st.reg, j, now);
  for (const auto& line : st.reg.update(j, now))
    st.ctx->say(log_level::info, line);
  if (j.deleted)
    return drop_job(self, j.id);
  st.gate.set_load(j.id, j.group, static_cast<std::uint32_t>(j.runs.size()));
  st.timers.set(j.id, j.wake);
  st.deadlines.set(j.id, j.deadline());
  drain(self);
  rearm(self);
}
// Asks idle job actors to stop (see supervisor.hpp); each that does leaves only its entry.
void sweep(pointer self) {
  auto& st = self->state;
  auto idle_for = st.ctx->settings.passivate_after;
  auto now = now_of(self);
  for (auto& [id, actor] : st.actors) {
    auto* e = st.reg.find(id);
    if (!e || st.gate.load(id) > 0 || now - e->active < idle_for)
      continue;
    if (auto wake = st.timers.armed(id); wake && *wake <= now + idle_for)
      continue;
    auto a = actor;
    auto job = id;
    self->request(a, caf::infinite, passivate_atom::value)
      .then(
        [=](bool gone) {
          if (gone) {
            forget_actor(self, job, a);
            ++self->state.ctx->metrics->actors_passivated;
          }
        },
        [](caf::error&) {});
  }
}

void on_sweep(pointer self) {
  auto& st = self->state;
  if (st.gate.stopping())
    return;
  // Actors stopped since the last sweep left freed memory spread over the heap; glibc keeps it
  // unless asked (a burst of creates gone idle otherwise keeps its peak RSS for good).
  auto passivated = st.ctx->metrics->actors_passivated.load();
  if (passivated - st.trimmed_at >= 1024) {
    st.trimmed_at = passivated;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }
  sweep(self);
  self->delayed_send(self, sweep_interval(st.ctx->settings), sweep_atom::value);
}

} // namespace almanac::detail
