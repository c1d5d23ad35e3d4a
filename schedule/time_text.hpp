// Instants and durations as text, for the CLI, JSON and logs: ISO-8601 UTC instants
// ("2026-03-08T07:30:00Z") and short durations ("250ms", "90s", "5m", "1h", "1h30m").
#pragma once

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <string>
#include <string_view>

namespace almanac {

// "2026-03-08T07:30:00Z"; a sub-second part is printed (".250Z", ".000250Z") only when non-zero.
std::string format_instant(instant t);

// Accepts "2026-03-08T07:30:00Z", an optional fraction, and "+hh:mm"/"-hh:mm" offsets.
// Errors: invalid_input naming the text.
result<instant> parse_instant(std::string_view text);

// "90s", "250ms", "1h30m", "2d" (units: us, ms, s, m, h, d; parts add up).
// Errors: invalid_input naming the text (empty, unknown unit, overflow, negative).
result<duration> parse_duration(std::string_view text);

// The exact text for d, largest units first: 90 s -> "1m30s", 250 ms -> "250ms", 0 -> "0s".
std::string format_duration(duration d);

} // namespace almanac
