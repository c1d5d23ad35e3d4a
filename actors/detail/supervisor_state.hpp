// The supervisor's state and the pieces its handlers are made of, shared by its three files:
// supervisor_routing.cpp (job actors, the run gate, timers, passivation), supervisor_requests.cpp
// (the admin requests) and supervisor.cpp (start-up, failures, the behaviour). Internal.
#pragma once

#include "actors/health.hpp"
#include "actors/job_actor.hpp"
#include "actors/log_reader.hpp"
#include "actors/registry.hpp"
#include "actors/run_gate.hpp"
#include "actors/supervisor.hpp"
#include "actors/timer_queue.hpp"

#include <almanac/admin.hpp>

#include <caf/typed_response_promise.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>

namespace almanac::detail {

using job_promise = caf::typed_response_promise<job_state>;

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

// The listener the job actors share: it tells the supervisor through a weak handle, so it does
// not keep the supervisor alive.
std::shared_ptr<job_listener> make_listener(caf::weak_actor_ptr supervisor);

instant now_of(pointer self);
duration sweep_interval(const runtime_settings& settings);
// not_found: the job was deleted.
caf::error deleted(job_id id);

// Answers `rp` unless nobody waits (timer dues have nobody to answer).
template <class T>
void answer(job_promise& rp, T&& value) {
  if (rp.pending())
    rp.deliver(std::forward<T>(value));
}

// The promise waiting for run-now `ticket`, if any.
job_promise take_reply(supervisor_state& st, std::uint64_t ticket);

// -- job actors (supervisor_routing.cpp) ---------------------------------------------------------

job_actor spawn_for(pointer self, job_id id, std::optional<job_state> initial);
result<job_actor> actor_of(pointer self, job_id id);
void forget_actor(pointer self, job_id id, const job_actor& actor);

using job_reply = std::function<void(result<job_state>)>;
job_reply deliver_to(job_promise rp);

// Sends the command (or a state query) to the job's actor and hands the answer to `done`.
void ask_job(pointer self, job_id id, job_command cmd, job_reply done);
void ask_state(pointer self, job_id id, job_reply done);

void notify_projector(pointer self);
void rearm(pointer self);
void want_run(pointer self, wanted_run w);
void on_tick(pointer self, const tick& t);
void add_job(pointer self, const job_summary& j, const job_actor& actor);
void track(pointer self, const job_summary& j);
void on_sweep(pointer self);

// -- admin requests (supervisor_requests.cpp) -----------------------------------------------------

caf::result<job_state> on_create(pointer self, create_request& req);
caf::result<job_state> on_update(pointer self, update_request& req);
caf::result<job_state> forward(pointer self, const std::string& job, command cmd);
caf::result<job_state> on_run_now(pointer self, run_now_request& req);
caf::result<job_state> on_get(pointer self, get_request& req);
caf::result<job_list> on_list(pointer self, list_request& req);
caf::result<audit_page> on_audit(pointer self, audit_request& req);
caf::result<run_page> on_runs(pointer self, runs_request& req);
caf::result<preview_result> on_preview(preview_request& req);
health_report on_health(pointer self);
std::uint64_t on_stop(pointer self);

} // namespace almanac::detail
