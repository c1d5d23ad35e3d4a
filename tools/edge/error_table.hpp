// The one table that turns an almanac::errc into what the outside world sees: an HTTP status for
// the JSON API and an exit code for the CLI tools, and the refusals only the HTTP door makes. Every door answers the same situation the same
// way, so the table lives here and nowhere else.
#pragma once

#include <almanac/errc.hpp>

#include <string_view>

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

// The refusals only the HTTP door makes, before a request becomes a command and so before any
// errc: each with its status and the "error" name of the JSON answer. Where a name is also an
// errc's (unauthorized, not_found), the status is that errc's, so both doors agree.
struct http_refusal {
  int status;
  std::string_view code;
};

namespace http_refusals {
// A malformed request line, target, Host or body.
inline constexpr http_refusal bad_request{400, "bad_request"};
// The request line and headers are over the server's header_bytes.
inline constexpr http_refusal header_too_large{400, "header_too_large"};
// No valid bearer token.
inline constexpr http_refusal unauthorized{401, "unauthorized"};
// An Origin that is not the server's own (a cross-site request from a browser page).
inline constexpr http_refusal forbidden_origin{403, "forbidden_origin"};
// No route has this path.
inline constexpr http_refusal no_route{404, "not_found"};
// The route exists, not with this method (the answer lists the allowed ones).
inline constexpr http_refusal method_not_allowed{405, "method_not_allowed"};
// The body is over the server's body_bytes.
inline constexpr http_refusal payload_too_large{413, "payload_too_large"};
// A body that is not application/json.
inline constexpr http_refusal unsupported_media_type{415, "unsupported_media_type"};
// A Host that is not the server's (DNS rebinding).
inline constexpr http_refusal misdirected_request{421, "misdirected_request"};
// More header fields than the server's header_fields.
inline constexpr http_refusal too_many_headers{431, "too_many_headers"};

// Every refusal above, for the tests that check the table.
inline constexpr http_refusal all[] = {bad_request,      header_too_large,   unauthorized,
                                       forbidden_origin, no_route,           method_not_allowed,
                                       payload_too_large, unsupported_media_type,
                                       misdirected_request, too_many_headers};
} // namespace http_refusals

} // namespace almanac::tools
