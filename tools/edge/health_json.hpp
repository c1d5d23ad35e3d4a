// The health report in JSON, as GET /api/health answers and `almanac health --json` prints it.
// Apart from json_writer.hpp because health_report comes with the admin messages
// (<almanac/admin.hpp>), which need CAF's headers; the daemon and the CLI both have them.
#pragma once

#include <almanac/admin.hpp>

#include <nlohmann/json.hpp>

namespace almanac::tools {

// The health report: jobs by status, erroring, runs in flight, fleet alert, quarantined jobs,
// log salvages, started_at and now.
nlohmann::json health_to_json(const health_report& h);

} // namespace almanac::tools
