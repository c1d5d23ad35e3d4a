#include "actors/job_actor.hpp"

#include "events/decide.hpp"
#include "events/evolve.hpp"

#include <almanac/admin.hpp>
#include <almanac/caf_error.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>

#include <vector>

namespace almanac {

namespace {

struct pending_command {
  command cmd;
  caf::typed_response_promise<job_state> promise;
};

struct job_actor_state {
  static inline const char* name = "almanac.job";

  job_state job;
  std::shared_ptr<const runtime_context> ctx;
  std::shared_ptr<job_listener> listener;
  // Why the log could not load the job (an actor woken for a passivated job): every request gets
  // this error and the actor stops, so the next request tries a fresh load.
  std::optional<error> broken;
  // Commands waiting for the append in progress; a short vector, not a deque, because a million
  // idle job actors each pay for what an empty container allocates (and it is released once
  // empty: one pending_command is ~570 bytes). The command being appended is on the heap for
  // the same reason: inline, every idle actor would carry its size.
  std::vector<pending_command> queue;
  std::unique_ptr<pending_command> current;
  std::vector<event> appending;
  std::uint64_t token = 0;
  std::uint64_t snapshot_seq = 0;
  std::chrono::steady_clock::time_point append_started;
  // A failed append of an unanswered command waits for retry_delay before the queue moves on.
  bool retrying = false;
  // The last append failed in a way that may have left the log ahead of `job`: a PostgreSQL
  // connection lost during COMMIT (the events may have committed) or a conflict. The next
  // command is decided only after the state is read back from the log.
  bool resync = false;
  // A caller's command whose append had an unknown outcome: answered once the log is read back,
  // with the job as recorded if the events are there, else with unavailable.
  std::unique_ptr<pending_command> unresolved;
};

constexpr auto retry_delay = std::chrono::seconds{1};

using pointer = job_actor::stateful_pointer<job_actor_state>;

// Commands the actor sends itself (run outcomes) have nobody to answer.
template <class T>
void answer(caf::typed_response_promise<job_state>& rp, T&& value) {
  if (rp.pending())
    rp.deliver(std::forward<T>(value));
}

store::status snapshot_if_due(job_actor_state& st) {
  if (st.job.seq - st.snapshot_seq < st.ctx->settings.snapshot_every)
    return {};
  auto s = st.ctx->jobs->save_snapshot(st.job.id, st.job);
  if (s.ok())
    st.snapshot_seq = st.job.seq;
  return s;
}

void start_runs(pointer self, const std::vector<event>& events) {
  auto& st = self->state;
  for (const auto& e : events) {
    auto* started = std::get_if<run_started>(&e.body);
    if (!started)
      continue;
    auto handle = caf::actor_cast<job_actor>(self);
    st.ctx->exec->submit(run_key{st.job.id, started->scheduled_for, started->run_id}, st.job.what,
                         [handle](run_key key, run_outcome outcome, duration took) {
                           caf::anon_send(handle, run_done{key, std::move(outcome), took});
                         });
  }
}

// A run closed without its outcome (its job deleted, or abandoned after the actor that
// submitted it died) is asked to stop: nothing will take its outcome (the run is no longer in
// flight), and an exec target left running would hold a worker of the executor for good.
void cancel_abandoned(pointer self, const std::vector<event>& events) {
  auto& st = self->state;
  for (const auto& e : events)
    if (auto* a = std::get_if<run_abandoned>(&e.body))
      st.ctx->exec->cancel(st.job.id, a->run_id);
}

void record_effects(const job_state& after, const std::vector<event>& events,
                    const runtime_context& ctx) {
  auto label = "job '" + after.name + "' (" + to_string(after.id) + ")";
  auto& m = *ctx.metrics;
  for (const auto& e : events) {
    if (auto* s = std::get_if<run_started>(&e.body); s && s->trigger != run_trigger::manual)
      m.run_lateness.observe(std::max(duration::zero(), e.env.recorded_at - s->scheduled_for));
    else if (auto* ok = std::get_if<run_succeeded>(&e.body)) {
      ++m.runs_succeeded;
      m.run_duration.observe(ok->took);
    } else if (auto* bad = std::get_if<run_failed>(&e.body)) {
      ++m.runs_failed;
      m.run_duration.observe(bad->took);
    } else if (auto* gone = std::get_if<run_abandoned>(&e.body)) {
      ++m.runs_abandoned;
      if (gone->infra_failures > 0)
        ++m.runs_infra_failed;
    } else if (std::holds_alternative<run_skipped>(e.body))
      ++m.runs_skipped;
    // run_started leaves the streak as it was: a positive one after it means a retry.
    if (auto* s = std::get_if<run_started>(&e.body);
        s && s->trigger != run_trigger::manual && after.consecutive_infra_failures > 0)
      ++m.infra_retries;
    if (auto* gone = std::get_if<run_abandoned>(&e.body); gone && gone->infra_failures > 0)
      ctx.say(log_level::warning,
              label + ": run " + std::to_string(gone->run_id) + " not carried out: " +
                gone->reason + " (" + std::to_string(gone->infra_failures) +
                " in a row; not counted as the job's failure" +
                (gone->next_run_at ? "; retry at " + format_instant(*gone->next_run_at) : "") +
                ")");
    else if (auto* f = std::get_if<run_failed>(&e.body))
      ctx.say(log_level::warning, label + ": run " + std::to_string(f->run_id) + " failed: " +
                                    f->error + " (consecutive errors " +
                                    std::to_string(f->consecutive_errors) + ")");
    else if (auto* jf = std::get_if<job_failed>(&e.body))
      ctx.say(log_level::error, label + ": job failed after " +
                                  std::to_string(jf->consecutive_errors) +
                                  " consecutive errors; resume with force to revive it");
    else if (auto* r = std::get_if<job_revived>(&e.body))
      ctx.say(log_level::info, label + ": revived by " + e.env.actor + ", cleared " +
                                 std::to_string(r->cleared_errors) + " errors");
  }
}

void process(pointer self);

// The executor's outcome becomes the job's next command.
void on_run_done(pointer self, run_done& done) {
  auto& o = done.outcome;
  self->state.queue.push_back(pending_command{
    command{run_finished{done.key.run_id, o.ok, std::move(o.error), done.took,
                         std::move(o.output_tail), o.infra},
            "system", {}},
    self->make_response_promise<job_state>()});
  process(self);
}

void finish_append(pointer self, const append_done& done) {
  auto& st = self->state;
  if (!st.current || done.token != st.token)
    return;
  auto p = std::move(*st.current);
  st.current.reset();
  auto events = std::move(st.appending);
  st.appending.clear();
  auto& m = *st.ctx->metrics;
  m.append_latency.observe(std::chrono::duration_cast<duration>(
    std::chrono::steady_clock::now() - st.append_started));
  if (!done.st.ok()) {
    ++m.log_append_errors;
    // Nothing was applied: the state is exactly as before the command, and the caller learns why.
    auto err = store::to_error(done.st);
    st.ctx->say(log_level::error, "job " + to_string(st.job.id) + ": append failed: " +
                                    err.message);
    // Unavailable is a PostgreSQL server gone or restarting; conflict means another writer (or
    // our own append whose COMMIT was cut off) moved the stream on. Either way the log may hold
    // more than `job`, so the state is read back before anything else is decided.
    if (done.st.is_conflict() || err.code == errc::unavailable)
      st.resync = true;
    if (done.st.is_outcome_unknown() && p.promise.pending()) {
      // Telling the caller "failed" could be false (a create that did commit would come back
      // after a restart, a pause would be retried twice): the answer waits for the log.
      st.unresolved = std::make_unique<pending_command>(std::move(p));
      st.retrying = true;
      self->delayed_send(self, retry_delay, advance_atom::value);
      return;
    }
    if (!p.promise.pending()
        && (err.code == errc::storage_error || err.code == errc::unavailable)) {
      // Nobody waits for this command (a run's outcome, a recovery step): dropping it would
      // leave the run in flight for good, so it waits at the head of the queue and is tried
      // again once the disk may have room or the server is back. Re-decided against the state
      // read back from the log, a command that did commit is refused as a duplicate instead of
      // being written twice.
      st.queue.insert(st.queue.begin(), std::move(p));
      st.retrying = true;
      self->delayed_send(self, retry_delay, advance_atom::value);
      return;
    }
    answer(p.promise, to_caf_error(err));
    process(self);
    return;
  }
  ++m.log_appends;
  m.log_events += events.size();
  for (const auto& e : events)
    st.job = evolve(std::move(st.job), e);
  record_effects(st.job, events, *st.ctx);
  if (auto s = snapshot_if_due(st); !s.ok())
    st.ctx->say(log_level::warning, "job " + to_string(st.job.id) +
                                      ": snapshot not saved: " + s.message());
  st.listener->on_changed(summarize(st.job));
  cancel_abandoned(self, events);
  start_runs(self, events);
  answer(p.promise, st.job);
  // A deleted job's actor stays until the supervisor, having dropped it from the registry, ends
  // it: commands already on their way get not_found from decide, not a vanished actor.
  process(self);
}

// Reads the job back from the log after an append whose outcome is unknown. False when the log
// cannot be read yet: the queue waits and tries again after retry_delay. Blocks on the job
// actor's own thread, on this failure path only.
bool resync_from_log(pointer self) {
  auto& st = self->state;
  job_state fresh;
  auto s = st.ctx->jobs->load(st.job.id, fresh);
  if (!s.ok()) {
    st.ctx->say(log_level::warning, "job " + to_string(st.job.id)
                                      + ": cannot read the log back yet: " + s.message());
    // Callers hear so now, as they would from a failed append, instead of waiting for the
    // server; what nobody waits for stays queued for the retry.
    auto err = store::to_error(s);
    std::vector<pending_command> kept;
    for (auto& q : st.queue) {
      if (q.promise.pending())
        answer(q.promise, to_caf_error(err));
      else
        kept.push_back(std::move(q));
    }
    st.queue = std::move(kept);
    st.retrying = true;
    self->delayed_send(self, retry_delay, advance_atom::value);
    return false;
  }
  st.resync = false;
  bool recorded = fresh.seq != st.job.seq;
  if (recorded) {
    st.ctx->say(log_level::warning, "job " + to_string(st.job.id) + ": the log is at seq "
                                      + std::to_string(fresh.seq) + ", not "
                                      + std::to_string(st.job.seq)
                                      + " as this actor thought; continuing from the log");
    fresh.id = st.job.id;
    // A RunStarted that committed unseen started no run here: nothing executes it, so it is
    // abandoned and follows the at-least-once rule, as after a restart. (With runs of our own in
    // flight too, which abandon_in_flight would also close, it is left to the run timeout.)
    bool unseen_runs = st.job.in_flight.empty() && !fresh.in_flight.empty();
    st.job = std::move(fresh);
    if (unseen_runs)
      st.queue.insert(st.queue.begin(),
                      pending_command{command{abandon_in_flight{"append outcome was unknown"},
                                              "system", {}},
                                      {}});
    st.snapshot_seq = st.job.seq;
    st.listener->on_changed(summarize(st.job));
  }
  if (auto p = std::move(st.unresolved)) {
    if (recorded)
      answer(p->promise, st.job);
    else
      answer(p->promise,
             to_caf_error(errc::unavailable, "not recorded: the connection to the log's server "
                                             "was lost before the change was committed; retry"));
  }
  return true;
}

void process(pointer self) {
  auto& st = self->state;
  if (st.resync && !st.current && !st.retrying && (!st.queue.empty() || st.unresolved)
      && !resync_from_log(self))
    return;
  while (!st.current && !st.retrying && !st.queue.empty()) {
    auto p = std::move(st.queue.front());
    st.queue.erase(st.queue.begin());
    auto decided = decide(st.job, p.cmd, st.ctx->clk->now());
    if (!decided) {
      answer(p.promise, to_caf_error(decided.err()));
      continue;
    }
    st.current = std::make_unique<pending_command>(std::move(p));
    st.appending = std::move(*decided);
    auto token = ++st.token;
    st.append_started = std::chrono::steady_clock::now();
    auto handle = caf::actor_cast<job_actor>(self);
    st.ctx->jobs->append(st.job.id, st.job.seq, st.appending,
                         [handle, token](store::status s, std::uint64_t first) {
                           caf::anon_send(handle, append_done{token, std::move(s), first});
                         });
  }
  if (st.queue.empty() && st.queue.capacity() > 0)
    st.queue = {};
}

// The state of a woken job, read from the log on the job actor's own thread.
void load_state(pointer self, job_id id) {
  auto& st = self->state;
  job_state loaded;
  auto s = st.ctx->jobs->load(id, loaded);
  if (!s.ok()) {
    st.broken = store::to_error(s);
    st.ctx->say(log_level::error, "job " + to_string(id) + " cannot be loaded: " + s.message());
  }
  loaded.id = id;
  st.job = std::move(loaded);
}

// Answers a request of a job the log could not load, and stops.
caf::error refuse_broken(pointer self) {
  self->quit(caf::exit_reason::normal);
  return to_caf_error(*self->state.broken);
}

job_actor::behavior_type job_behavior(pointer self, job_id id, std::optional<job_state> initial,
                                      std::shared_ptr<job_listener> listener,
                                      std::shared_ptr<const runtime_context> ctx) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.listener = std::move(listener);
  if (initial)
    st.job = std::move(*initial);
  else
    load_state(self, id);
  st.snapshot_seq = st.job.seq;
  return {
    [=](job_command& c) -> caf::result<job_state> {
      if (self->state.broken)
        return refuse_broken(self);
      auto rp = self->make_response_promise<job_state>();
      self->state.queue.push_back(pending_command{std::move(c.cmd), rp});
      process(self);
      return rp;
    },
    [=](get_atom) -> caf::result<job_state> {
      if (self->state.broken)
        return refuse_broken(self);
      return self->state.job;
    },
    [=](passivate_atom) -> bool {
      // Only an actor with nothing to do may go: its state is all in the log. A request that
      // reaches the mailbox after this answer is bounced to its sender, who spawns a new actor.
      auto& st = self->state;
      if (st.current || st.retrying || st.resync || st.unresolved || !st.queue.empty()
          || !st.job.in_flight.empty())
        return false;
      self->quit(caf::exit_reason::normal);
      return true;
    },
    [=](append_done& done) { finish_append(self, done); },
    [=](advance_atom) {
      self->state.retrying = false;
      process(self);
    },
    [=](run_done& done) { on_run_done(self, done); },
  };
}

} // namespace

job_actor spawn_job_actor(caf::local_actor* parent, job_id id, std::optional<job_state> initial,
                          std::shared_ptr<job_listener> listener,
                          std::shared_ptr<const runtime_context> ctx) {
  // Monitored, so the supervisor respawns one that dies on its own. Not linked: a job actor
  // killed with exit_reason::kill would take a linked supervisor with it (kill cannot be
  // trapped); the supervisor ends its job actors itself when it stops. Lazy: an idle job actor is
  // not scheduled at all until its first message, which keeps start-up of many jobs cheap (and
  // a woken one reads the log on its first message, on its own thread).
  return parent->spawn<caf::monitored + caf::lazy_init>(job_behavior, id, std::move(initial),
                                                       std::move(listener), std::move(ctx));
}

} // namespace almanac
