// What tests and diagnostics reach inside a running scheduler: its log, what start-up
// recovered, the actor of a live job. Not installed: an embedding application talks to the
// admin actor, and the scheduler's parts stay free to change.
#pragma once

#include "actors/recovery.hpp"
#include "store/event_log.hpp"

#include <almanac/almanac.hpp>

#include <caf/actor.hpp>

namespace almanac {

class scheduler_testing {
public:
  // The log, for reads and for planting events a test needs, whichever its backend.
  static store::journal& journal(scheduler& s);
  // The same when it is RocksDB, for what only that backend has (salvage, flush, stats);
  // throws std::logic_error on another backend.
  static store::event_log& log(scheduler& s);
  static const recovered_jobs& recovery(const scheduler& s);
  // The actor of a live job (invalid when there is none, e.g. passivated).
  static caf::actor job_actor_of(scheduler& s, job_id id);
};

} // namespace almanac
