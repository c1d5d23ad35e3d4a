// A job's state as of a point of the log: the fold the job actors keep live, for readers that do
// not run the scheduler (the replay tool's time travel, stats and verify). No CAF here.
#pragma once

#include "events/event.hpp"

#include <almanac/job_state.hpp>

namespace almanac {

// The state of the job after `e`, the next event of its stream after those folded into `s`. An
// empty state (seq 0) takes the event's job id. Does not validate: check_invariants does.
job_state fold(job_state s, const event& e);

} // namespace almanac
