// The fold: a job's state after one more event. Pure and total; every event type is handled
// (std::visit with no default), so a new event type does not compile until evolve knows it.
#pragma once

#include "events/event.hpp"

#include <almanac/job_state.hpp>

#include <vector>

namespace almanac {

// The state after `e`. Sets state.seq = e.env.seq. Does not validate: events come from decide or
// from the log, whose integrity the store checks.
job_state evolve(job_state state, const event& e);

// Folds a whole stream, starting from `from` (a snapshot or an empty state).
job_state replay(job_state from, const std::vector<event>& events);

} // namespace almanac
