// What an actor system needs before Almanac can live in it or talk to it.
#pragma once

#include <caf/fwd.hpp>

namespace almanac {

// Registers every Almanac message type and the "almanac" error category. Call on the config
// before the actor system is created, on every node that talks to Almanac.
void add_message_types(caf::actor_system_config& cfg);

// Switches the actor system to CAF's work-sharing scheduler: idle workers sleep on a condition
// variable. The default work-stealing workers poll and yield for a while before they sleep, and
// on a host with few cores that spinning takes the CPU the log's writer thread and the run
// executor need (at 100k due jobs on 2 cores, 44 % of all samples were in the workers' polling;
// lateness p99 fell from 1.95 s to 0.77 s with this: docs/BENCHMARKS.md). almanacd uses it; an
// embedding application decides for its own actor system.
void use_work_sharing(caf::actor_system_config& cfg);

} // namespace almanac
