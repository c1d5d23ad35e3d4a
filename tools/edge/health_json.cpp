#include "tools/edge/health_json.hpp"

#include <almanac/time.hpp>

namespace almanac::tools {

using nlohmann::json;

json health_to_json(const health_report& h) {
  json runs = json::array();
  for (const auto& r : h.runs_in_flight)
    runs.push_back({{"job_id", to_string(r.job)},
                    {"job_name", r.job_name},
                    {"run_id", r.run_id},
                    {"started_at", format_instant(r.started_at)},
                    {"age", format_duration(r.age)},
                    {"stuck", r.stuck}});
  return {{"jobs",
           {{"active", h.active},
            {"paused", h.paused},
            {"failed", h.failed},
            {"completed", h.completed}}},
          {"erroring", h.erroring},
          {"runs_in_flight", runs},
          {"recently_failed", h.recently_failed},
          {"fleet_alert", h.fleet_alert},
          {"quarantined", h.quarantined},
          {"log_salvages", h.log_salvages},
          {"store",
           {{"backend", h.store.backend},
            {"location", h.store.location},
            {"connected", h.store.connected},
            {"connection_losses", h.store.connection_losses},
            {"reconnects", h.store.reconnects},
            {"last_error", h.store.last_error}}},
          {"started_at", format_instant(h.started_at)},
          {"now", format_instant(h.now)}};
}

} // namespace almanac::tools
