// almanacd's HTTP JSON API: the routes, each a thin translation between JSON (the edge's
// json_reader.hpp and json_writer.hpp) and one admin-actor request, behind the server of
// http_server.hpp (which checks Host, Origin, the bearer token, the content type and the sizes
// before a route runs). Statuses come from the one errc table (error_table.hpp); wrong methods
// get 405.
//
//   GET    /api/jobs[?status=&name=&group=&limit=&cursor=]  {"jobs": [job...], "next_cursor"?}
//   POST   /api/jobs                            201 job
//   GET    /api/jobs/:id                        job
//   PATCH  /api/jobs/:id                        job
//   DELETE /api/jobs/:id                        job (status "deleted")
//   POST   /api/jobs/:id/pause                  job; optional body {"note"}
//   POST   /api/jobs/:id/resume                 job; optional body {"force": bool, "note"}
//   POST   /api/jobs/:id/run                    job; optional body {"note"}
//   GET    /api/jobs/:id/audit[?limit=&cursor=] {"entries": [audit...], "next_cursor"?}
//   GET    /api/jobs/:id/runs[?limit=&cursor=]  {"runs": [run...], "next_cursor"?}
//   POST   /api/preview                         {"fires": [ISO...]}; body {"schedule", "from"?, "count"?}
//   GET    /api/health                          health report
//   GET    /metrics                             Prometheus text
//   GET    /ui/...                              the dashboard's files (ui_assets.hpp), no token
// Lists are pages (admin.hpp): limit 1-1000, default 100; next_cursor, absent on the last page,
// is the cursor of the next; filtered by group, a page may hold fewer than limit jobs (even none)
// with a next_cursor. Errors answer {"error": errc name, "message": text}. An
// `X-Almanac-Actor` header names who acts (recorded as "http:NAME"; default "http").
#pragma once

#include "tools/almanacd/http_server.hpp"

#include <almanac/time.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <string>

namespace almanac {
class scheduler;
}

namespace almanac::tools {

// Largest request body accepted (413 above): the server's default body limit.
inline constexpr std::size_t max_http_body = 64 * 1024;

struct http_api_options {
  // How long a handler waits for the admin actor. Default: 30 s.
  duration request_timeout = std::chrono::seconds{30};
};

// The routes as one handler for http_server, answering from `sched` (its admin actor and its
// metrics), which must outlive the server. The handler runs on the server's worker threads;
// each call makes its request through its own scoped_actor.
http_handler make_http_api(caf::actor_system& sys, const scheduler& sched, http_api_options opts);

} // namespace almanac::tools
