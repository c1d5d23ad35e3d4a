// One actor per live job (an idle one is stopped after a while and spawned again from the log
// when needed: passivation, see supervisor.hpp). It holds the job's state and handles one
// command at a time: decide, append the events durably (job_log.hpp), and only then evolve,
// reply and tell its listener (job_listener.hpp). Commands that arrive meanwhile wait their turn,
// so no update is lost and a pause that arrives during a run is kept. Runs start on the executor
// only once their RunStarted is durable (at-least-once).
#pragma once

#include "actors/job_listener.hpp"
#include "actors/runtime_context.hpp"
#include "actors/type_ids.hpp"

#include <caf/fwd.hpp>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>

namespace almanac {

using job_actor = caf::typed_actor<caf::replies_to<job_command>::with<job_state>,
                                   caf::replies_to<get_atom>::with<job_state>,
                                   caf::replies_to<passivate_atom>::with<bool>,
                                   caf::reacts_to<append_done>, caf::reacts_to<run_done>,
                                   caf::reacts_to<advance_atom>>;

// Spawns a job actor, monitored by `parent` (which ends it on shutdown). `initial`: the job's
// state, or nullopt for a job to load from the log on its first message (a passivated job woken
// up; the load runs on the job actor's thread, never the parent's). A job the log cannot load
// answers every request with the error and stops. `listener` hears of every change.
job_actor spawn_job_actor(caf::local_actor* parent, job_id id, std::optional<job_state> initial,
                          std::shared_ptr<job_listener> listener,
                          std::shared_ptr<const runtime_context> ctx);

} // namespace almanac
