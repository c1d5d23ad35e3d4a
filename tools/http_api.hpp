// almanacd's HTTP JSON API: the routes of issue 5 on a cpp-httplib server, each a thin
// translation between JSON (job_json.hpp) and one admin-actor request. Statuses come from the
// one errc table (error_table.hpp); wrong methods get 405, bodies over 64 KiB 413, and when a
// bearer token is configured every route needs it (401 otherwise, constant-time compare).
//
//   GET    /api/jobs[?status=&name=&limit=]    {"jobs": [job...]}
//   POST   /api/jobs                            201 job
//   GET    /api/jobs/:id                        job
//   PATCH  /api/jobs/:id                        job
//   DELETE /api/jobs/:id                        job (status "deleted")
//   POST   /api/jobs/:id/pause                  job; optional body {"note"}
//   POST   /api/jobs/:id/resume                 job; optional body {"force": bool, "note"}
//   POST   /api/jobs/:id/run                    job; optional body {"note"}
//   GET    /api/jobs/:id/audit[?limit=]         {"entries": [audit...]}
//   GET    /api/jobs/:id/runs[?limit=]          {"runs": [run...]}
//   POST   /api/preview                         {"fires": [ISO...]}; body {"schedule", "from"?, "count"?}
//   GET    /api/health                          health report
//   GET    /metrics                             Prometheus text
// Errors answer {"error": errc name, "message": text}. An `X-Almanac-Actor` header names who
// acts (recorded as "http:NAME"; default "http").
#pragma once

#include <almanac/time.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <string>

namespace httplib {
class Server;
}

namespace almanac {
struct runtime_metrics;
namespace store {
class event_log;
}
}

namespace almanac::tools {

// Largest request body accepted (413 above).
inline constexpr std::size_t max_http_body = 64 * 1024;

struct http_api_options {
  // When non-empty, every request needs `Authorization: Bearer <token>`.
  std::string token;
  // How long a handler waits for the admin actor. Default: 30 s.
  duration request_timeout = std::chrono::seconds{30};
};

// Installs the routes on `server`. `admin` is the admin actor (an almanac::admin_actor handle);
// `metrics` and `log` (for the writer's fsync figures) must outlive the server. Handlers run on httplib's threads; each makes its request
// through its own scoped_actor.
void install_http_api(httplib::Server& server, caf::actor_system& sys, const caf::actor& admin,
                      const runtime_metrics& metrics, const store::event_log& log,
                      http_api_options opts);

} // namespace almanac::tools
