// One actor per live job (an idle one is stopped after a while and spawned again from the log
// when needed: passivation, see supervisor.hpp). It holds the job's state and handles one command at a time: decide,
// append the events durably, and only then evolve, reply and tell the supervisor. Commands that
// arrive meanwhile wait their turn, so no update is lost and a pause that arrives during a run is
// kept. Runs start on the executor only once their RunStarted is durable (at-least-once).
#pragma once

#include "actors/runtime_context.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>

namespace almanac {

using job_actor = caf::typed_actor<caf::replies_to<job_command>::with<job_state>,
                                   caf::replies_to<get_atom>::with<job_state>,
                                   caf::replies_to<passivate_atom>::with<bool>,
                                   caf::reacts_to<append_done>, caf::reacts_to<run_done>,
                                   caf::reacts_to<advance_atom>>;

// The job's state when spawned: an empty one (seq 0) for a job about to be created, or one
// recovered from the log.
job_actor spawn_job_actor(supervisor_actor::pointer parent, job_state initial,
                          std::shared_ptr<const runtime_context> ctx);

// What the supervisor is told after each change.
job_changed describe_change(const job_state& s);

} // namespace almanac
