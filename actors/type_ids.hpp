// Every message type and atom the actors exchange, in one place, and the one call that makes
// them known to an actor system. Admin messages (include/almanac/admin.hpp) cross nodes and are
// serializable; the internal messages below stay in-process (they hold store and executor types)
// and are declared local-only on purpose.
#pragma once

#include "actors/executor.hpp"
#include "events/command.hpp"
#include "store/status.hpp"

#include <almanac/actor_system.hpp>
#include <almanac/job_state.hpp>

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

// A run as the supervisor tracks it, for timeouts and health.
struct run_view {
  std::uint64_t run_id = 0;
  instant started_at{};
};

// A job actor tells the supervisor what it needs to know after every change.
struct job_changed {
  job_id id;
  std::string name;
  job_status status = job_status::active;
  bool deleted = false;
  std::optional<instant> next_run_at;
  // next_run_at plus the job's jitter: when the timer should fire.
  std::optional<instant> wake;
  std::string group;
  std::uint32_t consecutive_errors = 0;
  duration timeout{};
  std::vector<run_view> runs;
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
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

} // namespace almanac

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::job_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::append_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::run_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::job_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(almanac::tick)
