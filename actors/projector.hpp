// The projector actor keeps the history projections (projections/history.hpp) up to date: told that the log
// advanced, it folds what was appended since its checkpoint, in bounded chunks so it never holds
// its thread for long, and writes entries and checkpoint atomically. Asked to sync, it answers
// once it has caught up with everything appended before the question.
#pragma once

#include "actors/runtime_context.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace almanac {

// advance_atom: catch up soon (debounced). sync_atom -> std::uint64_t: the checkpoint, once it
// covers the highest position at the time of asking.
caf::actor spawn_projector(caf::actor_system& sys, std::shared_ptr<const runtime_context> ctx);

// Folds the log from the projections' checkpoint to its end and writes the projections; the
// projector does this in chunks. `rebuild` drops the projections first and starts at position 1.
store::status project_history(store::journal& log, bool rebuild = false);

} // namespace almanac
