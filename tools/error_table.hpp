// The one table that turns an almanac::errc into what the outside world sees: an HTTP status for
// the JSON API and an exit code for the CLI tools. Every door answers the same situation the same
// way, so the table lives here and nowhere else.
#pragma once

#include <almanac/errc.hpp>

namespace almanac::tools {

// CLI exit codes shared by `almanac`, `almanac-replay` and `almanac next`.
inline constexpr int exit_ok = 0;
// The daemon (or the tool) refused: not found, bad state, a --batch line failed, verify found
// problems. The message is on stderr.
inline constexpr int exit_refused = 1;
// Bad usage: unknown option, malformed value, invalid schedule.
inline constexpr int exit_usage = 2;
// The daemon could not be reached (connection refused, timeout, shutting down).
inline constexpr int exit_unreachable = 3;

// The HTTP status of a refusal: 400 bad input, 401 missing credentials, 404 unknown job, 409 state or name conflicts,
// 503 storage or shutdown, 507 a size limit reached (limit_exceeded: the job cap), 500 for what
// only a broken log causes (unknown_event, corrupt_event, newer_format). errc::none maps to 200.
int http_status(errc code) noexcept;

// The CLI exit code of a refusal: exit_usage for input errors (invalid_schedule, unknown_zone,
// invalid_input) and a missing or wrong admin secret (unauthorized), exit_unreachable for unavailable, exit_refused for everything else, exit_ok
// for errc::none.
int exit_code(errc code) noexcept;

} // namespace almanac::tools
