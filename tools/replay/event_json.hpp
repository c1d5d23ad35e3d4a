// One event of the log in JSON, as `almanac-replay events` and `export` print it. Only the
// replay tool reads events: the daemon and the CLI speak in jobs, audit entries and runs.
#pragma once

#include "store/event_log.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace almanac::tools {

// position, seq, job_id, type (its stable name, "JobRevived"), recorded_at, actor, note, cause,
// then the event's own fields by name (cleared_errors, next_run_at, run_id, error, ...).
// Durations are strings ("1.5s" style), instants ISO or null.
nlohmann::json event_to_json(std::uint64_t position, const event& e);

} // namespace almanac::tools
