#include "actors/detail/supervisor_state.hpp"

#include "actors/pages.hpp"

#include <almanac/caf_error.hpp>

#include <caf/all.hpp>

#include <utility>

namespace almanac::detail {

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
    ask_state(self, *id, deliver_to(rp));
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
  auto h = st.fleet.report(st.reg, st.started_at, now_of(self));
  if (st.ctx->log) {
    auto s = st.ctx->log->health();
    h.store = store_health{std::move(s.backend), st.ctx->store_location, s.connected,
                           s.connection_losses, s.reconnects, std::move(s.last_error)};
  }
  return h;
}

} // namespace almanac::detail
