// Every message type and atom the actors exchange, in one place, and the one call that makes
// them known to an actor system. Admin messages (include/almanac/admin.hpp) cross nodes and are
// serializable; the internal messages below stay in-process (they hold store and executor types)
// and are declared local-only on purpose.
#pragma once

#include "actors/executor.hpp"
#include "actors/job_summary.hpp"
#include "events/command.hpp"
#include "store/status.hpp"

#include <almanac/actor_system.hpp>
#include <almanac/job_state.hpp>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace almanac {

// A command for one job actor; replies with the job's state once its events are durable.
struct job_command {
  command cmd;
};

// The store's group-commit writer acknowledged (or refused) a job actor's append.
struct append_done {
  std::uint64_t token = 0;
  store::status st;
  std::uint64_t first_position = 0;
};

// The executor finished a run.
struct run_done {
  run_key key;
  run_outcome outcome;
  duration took{};
};

// A job actor's summary after every change (job_summary.hpp) travels to the supervisor as is.

// A history query the log reader answers (see log_reader.hpp): the audit trail of one job or of
// all (`job` nullopt), at most `limit` entries, newest first, before position `before` (0: the
// newest).
struct audit_query {
  std::optional<job_id> job;
  std::uint32_t limit = 0;
  std::uint64_t before = 0;
};

// A page of the job list for the log reader to gather, one job at a time in id order (only one
// job's state in flight per page, and the page ends at max_page_bytes, however large the jobs
// are): `actors[i]` is the live actor of `ids[i]` (asked for its state), or invalid for a
// passivated job (read from the log). `more`: more jobs matched than `ids` holds.
struct job_walk_query {
  std::vector<job_id> ids;
  std::vector<caf::actor> actors;
  bool more = false;
};

// The runs of `job`, at most `limit`, newest first, before run id `before` (0: the latest).
struct runs_query {
  job_id job;
  std::uint32_t limit = 0;
  std::uint64_t before = 0;
};

// The supervisor's single wake-up; `epoch` tells a stale one (delayed sends cannot be
// cancelled) from the current one. Epoch 0: look now.
struct tick {
  std::uint64_t epoch = 0;
};

using get_atom = caf::atom_constant<caf::atom("get")>;
using advance_atom = caf::atom_constant<caf::atom("advance")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

} // namespace almanac

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::job_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::append_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::run_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::job_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::audit_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::runs_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::job_walk_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::tick)
