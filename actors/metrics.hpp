// The Prometheus text of the runtime's metrics (the daemon's GET /metrics).
#pragma once

#include "store/event_log.hpp"

#include <almanac/metrics.hpp>

#include <cstdint>
#include <string>

namespace almanac {

// Renders `m`, the job counts and the log writer's figures in the Prometheus text exposition
// format.
std::string render_prometheus(const runtime_metrics& m, std::uint64_t active, std::uint64_t paused,
                              std::uint64_t failed, std::uint64_t completed,
                              const store::event_log::write_stats& log);

} // namespace almanac
