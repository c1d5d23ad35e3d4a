// Time as types. An `instant` is a point on the UTC time line at microsecond precision; a
// `duration` is an elapsed span at the same precision. Civil (wall-clock) times and zones are
// cctz's own types and appear only in schedule/. No signature in Almanac takes raw milliseconds.
// Both as text, for the CLI, JSON and logs: ISO-8601 UTC instants ("2026-03-08T07:30:00Z") and
// short durations ("250ms", "90s", "5m", "1h", "1h30m"), as Abseil keeps FormatDuration and
// ParseDuration beside its Duration.
#pragma once

#include <almanac/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace almanac {

// A span of elapsed time, microsecond precision.
using duration = std::chrono::microseconds;

// A UTC instant, microsecond precision (docs/SCHEDULE_RULES.md: "microseconds inside").
using instant = std::chrono::time_point<std::chrono::system_clock, duration>;

// Microseconds since the Unix epoch: only for the codec and the JSON/CLI edge.
constexpr std::int64_t to_unix_us(instant t) noexcept { return t.time_since_epoch().count(); }
constexpr instant from_unix_us(std::int64_t us) noexcept { return instant{duration{us}}; }

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
