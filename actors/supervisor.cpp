#include "actors/supervisor.hpp"

#include "actors/health.hpp"
#include "actors/job_actor.hpp"
#include "actors/log_reader.hpp"
#include "actors/pages.hpp"
#include "actors/registry.hpp"
#include "actors/run_gate.hpp"
#include "actors/timer_queue.hpp"
#include "events/decide.hpp"

#include <almanac/caf_error.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <unordered_map>
#include <utility>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace almanac {

namespace {

using job_promise = caf::typed_response_promise<job_state>;

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

// The plain parts (registry, run gate, health, timers) and the handles of the live job actors.
struct supervisor_state {
  static inline const char* name = "almanac.supervisor";

  std::shared_ptr<const runtime_context> ctx;
  caf::actor projector;
  log_reader_actor reader;
  std::shared_ptr<job_listener> listener;
  registry reg;
  run_gate gate;
  almanac::health fleet;
  std::unordered_map<job_id, job_actor> actors;
  std::unordered_map<caf::actor_addr, job_id> by_addr;
  timer_queue timers;
  timer_queue deadlines;
  // Run-now requests waiting in the gate, by ticket.
  std::unordered_map<std::uint64_t, job_promise> replies;
  std::uint64_t tickets = 0;
  std::uint64_t epoch = 0;
  std::optional<instant> armed_for;
  instant started_at{};
  std::mt19937_64 ids{std::random_device{}()};
  // actors_passivated at the last malloc_trim.
  std::uint64_t trimmed_at = 0;
};

using pointer = supervisor_actor::stateful_pointer<supervisor_state>;

instant now_of(pointer self) { return self->state.ctx->clk->now(); }

duration sweep_interval(const runtime_settings& settings) {
  return std::max<duration>(settings.passivate_after / 2, std::chrono::milliseconds{100});
}

caf::error deleted(job_id id) {
  return to_caf_error(errc::not_found, "job " + to_string(id) + " was deleted");
}

template <class T>
void answer(job_promise& rp, T&& value) {
  if (rp.pending())
    rp.deliver(std::forward<T>(value));
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

using job_reply = std::function<void(result<job_state>)>;

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
void ask_job(pointer self, job_id id, Msg msg, job_reply done, bool retried = false) {
  auto a = actor_of(self, id);
  if (!a)
    return done(std::move(a).err());
  auto actor = *a;
  self->request(actor, caf::infinite, msg)
    .then([=](job_state& s) { done(std::move(s)); },
          [=](caf::error& err) {
            if (!retried && err == caf::make_error(caf::sec::request_receiver_down)) {
              forget_actor(self, id, actor);
              ask_job(self, id, msg, done, true);
              return;
            }
            done(from_caf_error(err));
          });
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

// The actor of a create: an empty state under a fresh id. An id ever used (even of a deleted,
// purged job) has a stream, so the create's append expecting seq 0 is refused with conflict and
// the create goes again under another id: ids are never reused.
void start_create(pointer self, create_request req, job_promise rp, int attempt) {
  auto& st = self->state;
  job_id id;
  do
    id = job_id{st.ids()};
  while (id.value == 0 || st.reg.contains(id) || st.actors.count(id));
  job_state empty;
  empty.id = id;
  auto actor = spawn_job_actor(self, id, std::move(empty), st.listener, st.ctx);
  st.by_addr[actor.address()] = id;
  auto cmd = job_command{command{
    create_job{id, req.spec.name, req.spec.sched, req.spec.what, req.spec.policies}, req.actor,
    req.note}};
  self->request(actor, caf::infinite, std::move(cmd))
    .then(
      [=](job_state& s) mutable {
        self->state.reg.end_create(req.spec.name);
        add_job(self, summarize(s), actor);
        notify_projector(self);
        rearm(self);
        rp.deliver(std::move(s));
      },
      [=](caf::error& err) mutable {
        self->state.by_addr.erase(actor.address());
        self->send_exit(actor, caf::exit_reason::user_shutdown);
        if (from_caf_error(err).code == errc::conflict && attempt < 3)
          return start_create(self, std::move(req), std::move(rp), attempt + 1);
        self->state.reg.end_create(req.spec.name);
        rp.deliver(std::move(err));
      });
}

caf::result<job_state> on_create(pointer self, create_request& req) {
  if (auto r = self->state.reg.begin_create(req.spec.name); !r)
    return to_caf_error(r.err());
  auto rp = self->make_response_promise<job_state>();
  start_create(self, std::move(req), rp, 0);
  return rp;
}

caf::result<job_state> forward(pointer self, const std::string& job, command cmd) {
  auto id = self->state.reg.resolve(job);
  if (!id)
    return to_caf_error(id.err());
  notify_projector(self);
  auto rp = self->make_response_promise<job_state>();
  ask_job(self, *id, job_command{std::move(cmd)}, deliver_to(rp));
  return rp;
}

caf::result<job_state> on_update(pointer self, update_request& req) {
  if (!req.changes.name)
    return forward(self, req.job, command{std::move(req.changes), req.actor, req.note});
  auto& st = self->state;
  auto id = st.reg.resolve(req.job);
  if (!id)
    return to_caf_error(id.err());
  // The new name is reserved like a create's until the rename is durable (the registry then
  // moves it) or refused: checking the held names alone let concurrent renames, or a rename and
  // a create, all take one name. Its own name too, so a change of case cannot race a rename
  // away from it.
  auto name = *req.changes.name;
  if (auto r = st.reg.begin_rename(*id, name); !r)
    return to_caf_error(r.err());
  notify_projector(self);
  auto rp = self->make_response_promise<job_state>();
  auto reply = deliver_to(rp);
  ask_job(self, *id, job_command{command{std::move(req.changes), req.actor, req.note}},
          [=](result<job_state> r) {
            self->state.reg.end_rename(name);
            reply(std::move(r));
          });
  return rp;
}

caf::result<job_state> on_run_now(pointer self, run_now_request& req) {
  auto& st = self->state;
  auto id = st.reg.resolve(req.job);
  if (!id)
    return to_caf_error(id.err());
  if (st.gate.stopping())
    return to_caf_error(errc::unavailable, "the scheduler is stopping");
  auto rp = self->make_response_promise<job_state>();
  auto ticket = ++st.tickets;
  st.replies.emplace(ticket, rp);
  want_run(self, wanted_run{*id, true, {}, req.actor, req.note, ticket});
  notify_projector(self);
  return rp;
}

// A passivated job is read from the log by the reader, without waking it.
caf::result<job_state> on_get(pointer self, get_request& req) {
  auto& st = self->state;
  auto id = st.reg.resolve(req.job);
  if (!id)
    return to_caf_error(id.err());
  auto rp = self->make_response_promise<job_state>();
  if (st.actors.count(*id))
    ask_job(self, *id, get_atom::value, deliver_to(rp));
  else
    rp.delegate(st.reader, load_atom::value, *id);
  return rp;
}

caf::result<job_list> on_list(pointer self, list_request& req) {
  auto& st = self->state;
  auto limit = page_size(req.limit);
  if (!limit)
    return to_caf_error(limit.err());
  auto after = parse_cursor('j', req.cursor, "jobs");
  if (!after)
    return to_caf_error(after.err());
  std::optional<job_status> status;
  if (!req.status.empty()) {
    auto s = parse_job_status(req.status);
    if (!s)
      return to_caf_error(s.err());
    status = *s;
  }
  auto page = select_jobs(st.reg, *after, status, req.name, *limit);
  job_walk_query q{std::move(page.ids), {}, page.more};
  for (auto id : q.ids) {
    auto a = st.actors.find(id);
    q.actors.push_back(a == st.actors.end() ? caf::actor{} : caf::actor_cast<caf::actor>(a->second));
  }
  auto rp = self->make_response_promise<job_list>();
  rp.delegate(st.reader, std::move(q));
  return rp;
}

// Answers a history query from the stored projections once the projector has caught up with
// everything appended before the query, so a caller reads its own writes.
template <class Page, class Query>
caf::result<Page> read_history(pointer self, Query q) {
  auto& st = self->state;
  auto rp = self->make_response_promise<Page>();
  if (!st.projector) {
    rp.delegate(st.reader, std::move(q));
    return rp;
  }
  self->request(st.projector, caf::infinite, sync_atom::value)
    .then([=](std::uint64_t) mutable { rp.delegate(self->state.reader, q); },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<audit_page> on_audit(pointer self, audit_request& req) {
  auto limit = page_size(req.limit);
  if (!limit)
    return to_caf_error(limit.err());
  auto after = parse_cursor('a', req.cursor, "audit");
  if (!after)
    return to_caf_error(after.err());
  std::optional<job_id> job;
  if (!req.job.empty()) {
    auto id = self->state.reg.resolve_history(req.job);
    if (!id)
      return to_caf_error(id.err());
    job = *id;
  }
  return read_history<audit_page>(self, audit_query{job, *limit, *after ? **after : req.before});
}

caf::result<run_page> on_runs(pointer self, runs_request& req) {
  auto limit = page_size(req.limit);
  if (!limit)
    return to_caf_error(limit.err());
  auto after = parse_cursor('r', req.cursor, "runs");
  if (!after)
    return to_caf_error(after.err());
  auto job = self->state.reg.resolve_history(req.job);
  if (!job)
    return to_caf_error(job.err());
  return read_history<run_page>(self, runs_query{*job, *limit, after->value_or(0)});
}

caf::result<preview_result> on_preview(preview_request& req) {
  if (req.count > 1000)
    return to_caf_error(errc::invalid_input, "preview count " + std::to_string(req.count) +
                                               " is over the limit of 1000");
  auto sched = req.sched;
  if (auto c = compile(sched); !c)
    return to_caf_error(c.err());
  preview_result out;
  auto t = req.from;
  for (std::uint32_t i = 0; i < req.count; ++i) {
    auto n = next_after(sched, t);
    if (!n)
      break;
    out.fires.push_back(*n);
    t = *n;
  }
  return out;
}

std::uint64_t on_stop(pointer self) {
  auto& st = self->state;
  for (auto& w : st.gate.stop()) {
    auto rp = take_reply(st, w.ticket);
    answer(rp, to_caf_error(errc::unavailable, "the scheduler is stopping"));
  }
  std::uint64_t running = 0;
  for (const auto& [id, e] : st.reg.entries())
    running += e.job.runs.size();
  return running;
}

health_report on_health(pointer self) {
  auto& st = self->state;
  return st.fleet.report(st.reg, st.started_at, now_of(self));
}

// Only jobs with something to do soon get an actor now; the others when first needed. Overdue
// jobs are spread out so a thousand of them do not all fire in the same millisecond; each then
// follows its misfire policy when its due arrives late.
void recover(pointer self, recovered_jobs& recovered) {
  auto& st = self->state;
  auto now = st.started_at;
  auto overdue = static_cast<std::size_t>(
    std::count_if(recovered.jobs.begin(), recovered.jobs.end(), [&](const job_state& s) {
      auto w = wake_at(s);
      return w && *w < now;
    }));
  auto spacing = overdue == 0 ? duration::zero()
                              : std::min<duration>(std::chrono::milliseconds{1},
                                                   st.ctx->settings.recovery_stagger
                                                     / static_cast<duration::rep>(overdue));
  std::size_t nth = 0;
  auto idle_for = st.ctx->settings.passivate_after;
  for (auto& s : recovered.jobs) {
    auto j = summarize(s);
    bool needed = idle_for <= duration::zero() || !s.in_flight.empty()
                  || (j.wake && *j.wake <= now + idle_for);
    job_actor actor;
    if (needed)
      actor = spawn_job_actor(self, s.id, s, st.listener, st.ctx);
    add_job(self, j, actor);
    if (j.wake && *j.wake < now)
      st.timers.set(s.id, now + spacing * static_cast<duration::rep>(nth++));
    if (!s.in_flight.empty())
      caf::anon_send(actor, job_command{command{abandon_in_flight{"scheduler restarted"}, "system",
                                                {}}});
  }
  st.ctx->say(log_level::info, "recovered " + std::to_string(recovered.jobs.size()) + " jobs (" +
                                 std::to_string(overdue) + " overdue) in " +
                                 format_duration(recovered.took));
}

// A job actor died (a bug, or killed on purpose): its state is in the log, so a new actor takes
// over from there (it loads the log itself). One that stopped normally (passivated, or a job the
// log could not load) is forgotten.
void on_down(pointer self, caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.by_addr.find(dm.source);
  if (i == st.by_addr.end())
    return;
  auto id = i->second;
  st.by_addr.erase(i);
  auto a = st.actors.find(id);
  if (a != st.actors.end() && a->second.address() == dm.source)
    st.actors.erase(a);
  auto* e = st.reg.find(id);
  if (!e || dm.reason == caf::exit_reason::normal)
    return;
  st.ctx->say(log_level::warning, "job '" + e->job.name + "' (" + to_string(id) +
                                    ") actor died (" + caf::to_string(dm.reason) +
                                    "); respawned from the log");
  auto actor = spawn_for(self, id, std::nullopt);
  if (!e->job.runs.empty())
    caf::anon_send(actor, job_command{command{abandon_in_flight{"job actor restarted"}, "system",
                                              {}}});
  rearm(self);
}

// A shutdown ends the job actors and the reader with the supervisor, so none outlives it (and
// the log). A reader that dies alone is replaced.
void on_exit(pointer self, caf::exit_msg& em) {
  auto& st = self->state;
  if (em.source == st.reader.address()) {
    st.ctx->say(log_level::error, "the log reader died (" + caf::to_string(em.reason) +
                                    "); started another");
    st.reader = spawn_log_reader(self, st.ctx);
    return;
  }
  for (auto& [id, a] : st.actors)
    self->send_exit(a, em.reason);
  self->send_exit(st.reader, em.reason);
  self->quit(em.reason);
}

supervisor_actor::behavior_type supervisor(pointer self, std::shared_ptr<const runtime_context> ctx,
                                           caf::actor projector, recovered_jobs recovered) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.projector = std::move(projector);
  st.listener = std::make_shared<tell_supervisor>(self->ctrl());
  st.reader = spawn_log_reader(self, st.ctx);
  const auto& settings = st.ctx->settings;
  st.reg = registry{settings.max_jobs};
  st.gate = run_gate{settings.max_concurrent_runs};
  st.fleet = almanac::health{settings.fleet_alert_failures, settings.fleet_alert_window};
  st.fleet.set_quarantined(std::move(recovered.quarantined));
  st.fleet.set_log_salvages(std::move(recovered.log_salvages));
  st.started_at = now_of(self);
  recover(self, recovered);
  rearm(self);
  if (settings.passivate_after > duration::zero())
    self->delayed_send(self, sweep_interval(settings), sweep_atom::value);
  self->set_exit_handler([=](caf::exit_msg& em) { on_exit(self, em); });
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  return {
    [=](create_request& req) { return on_create(self, req); },
    [=](update_request& req) { return on_update(self, req); },
    [=](pause_request& req) {
      return forward(self, req.job, command{pause_job{}, req.actor, req.note});
    },
    [=](resume_request& req) {
      return forward(self, req.job, command{resume_job{req.force}, req.actor, req.note});
    },
    [=](delete_request& req) {
      return forward(self, req.job, command{delete_job{}, req.actor, req.note});
    },
    [=](run_now_request& req) { return on_run_now(self, req); },
    [=](get_request& req) { return on_get(self, req); },
    [=](list_request& req) { return on_list(self, req); },
    [=](audit_request& req) { return on_audit(self, req); },
    [=](runs_request& req) { return on_runs(self, req); },
    [=](preview_request& req) { return on_preview(req); },
    [=](health_request&) { return on_health(self); },
    [=](job_summary& j) {
      track(self, j);
      notify_projector(self);
    },
    [=](tick& t) { on_tick(self, t); },
    [=](get_atom, job_id id) -> caf::actor {
      auto a = actor_of(self, id);
      return a ? caf::actor_cast<caf::actor>(*a) : caf::actor{};
    },
    [=](sweep_atom) { on_sweep(self); },
    [=](stop_atom) { return on_stop(self); },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<const runtime_context> ctx,
                                  caf::actor projector, recovered_jobs recovered) {
  return sys.spawn(supervisor, std::move(ctx), std::move(projector), std::move(recovered));
}

} // namespace almanac
