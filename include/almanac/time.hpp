// Time as types. An `instant` is a point on the UTC time line at microsecond precision; a
// `duration` is an elapsed span at the same precision. Civil (wall-clock) times and zones are
// cctz's own types and appear only in schedule/. No signature in Almanac takes raw milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace almanac {

// A span of elapsed time, microsecond precision.
using duration = std::chrono::microseconds;

// A UTC instant, microsecond precision (docs/SCHEDULE_RULES.md: "microseconds inside").
using instant = std::chrono::time_point<std::chrono::system_clock, duration>;

// Microseconds since the Unix epoch: only for the codec and the JSON/CLI edge.
constexpr std::int64_t to_unix_us(instant t) noexcept { return t.time_since_epoch().count(); }
constexpr instant from_unix_us(std::int64_t us) noexcept { return instant{duration{us}}; }

} // namespace almanac
