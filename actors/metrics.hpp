// The Prometheus text of the runtime's metrics (the daemon's GET /metrics).
#pragma once

#include "store/journal.hpp"

#include <almanac/metrics.hpp>

#include <cstdint>
#include <string>

namespace almanac {

// Renders `m`, the job counts and the log's storage state (backend, connection, the writer's
// figures) in the Prometheus text exposition format.
std::string render_prometheus(const runtime_metrics& m, std::uint64_t active, std::uint64_t paused,
                              std::uint64_t failed, std::uint64_t completed,
                              const store::journal_health& log);

} // namespace almanac
