// The log reader: the one actor that may block on the log, on a thread of its own, so the
// supervisor only routes. It loads the state of a passivated job (get, list) and answers history
// queries from the stored projections.
#pragma once

#include "actors/runtime_context.hpp"
#include "actors/type_ids.hpp"

#include <almanac/admin.hpp>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>

namespace almanac {

using log_reader_actor = caf::typed_actor<caf::replies_to<load_atom, job_id>::with<job_state>,
                                          caf::replies_to<job_walk_query>::with<job_list>,
                                          caf::replies_to<audit_query>::with<audit_page>,
                                          caf::replies_to<runs_query>::with<run_page>>;

// (load_atom, id): the job's state as its log holds it (snapshot + tail; seq 0 for a job never
// written). job_walk_query: the live jobs of the page (one deleted meanwhile is left out),
// next_cursor set when more follow. audit_query / runs_query: a page with next_cursor set when more follow. Errors: the
// store's, as errc. Spawned detached and linked to `parent`, so it ends with it.
log_reader_actor spawn_log_reader(caf::local_actor* parent,
                                  std::shared_ptr<const runtime_context> ctx);

} // namespace almanac
