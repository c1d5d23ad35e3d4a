#include "actors/supervisor.hpp"

#include "actors/detail/supervisor_state.hpp"
#include "events/decide.hpp"

#include <almanac/caf_error.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>

#include <algorithm>

namespace almanac {

namespace {

using namespace detail;

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
  st.listener = make_listener(self->ctrl());
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
