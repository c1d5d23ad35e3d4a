// The supervisor: spawns and watches the job actors (a job actor that dies is respawned from the
// log), owns the one timer structure with a single pending wake-up, recovers every job at
// start-up, and answers the admin interface. It is wiring over plain parts with their own tests:
// the registry (registry.hpp: entries, names unique case-insensitively, the job cap), the run
// gate (run_gate.hpp: the global concurrency limit, concurrency groups, the waiting queue) and
// health (health.hpp). It never blocks on the log: a woken job's actor loads its own state, and
// the log reader (log_reader.hpp) answers gets of passivated jobs, job lists and history.
//
// Passivation: a job's actor exists while the job has something to do. One idle for
// settings.passivate_after on the scheduler's clock (nothing queued, no run in flight, no
// wake-up due within that window) is asked to stop; its registry entry stays (its job_summary),
// so timers, health and routing need no actor. The next command for the job spawns an actor that
// loads the job from the log (snapshot + tail). Start-up spawns actors only for jobs due soon or
// with runs to abandon.
#pragma once

#include "actors/recovery.hpp"
#include "actors/runtime_context.hpp"
#include "actors/type_ids.hpp"

#include <almanac/admin_actor.hpp>

#include <caf/fwd.hpp>

#include <memory>

namespace almanac {

using supervisor_actor =
  admin_actor::extend<caf::reacts_to<job_summary>, caf::reacts_to<tick>, caf::reacts_to<sweep_atom>,
                      caf::replies_to<stop_atom>::with<std::uint64_t>,
                      caf::replies_to<get_atom, job_id>::with<caf::actor>>;

// Spawns the supervisor with the jobs recover_jobs() rebuilt: it spawns the actors of those due
// soon (the others on demand), records
// runs cut off by the last stop as RunAbandoned, and arms every timer (overdue jobs spread over
// settings.recovery_stagger, each then following its misfire policy). `projector` is told after
// appends and asked to catch up before audit and runs queries (invalid: read projections as they
// are). stop_atom: stop starting runs; replies with the number of runs still in flight.
// (get_atom, job_id): the job's actor (invalid when there is none), for diagnostics and tests.
supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<const runtime_context> ctx,
                                  caf::actor projector, recovered_jobs recovered);

} // namespace almanac
