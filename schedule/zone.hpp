// IANA time zones, and what a wall-clock time means in one. Cron schedules are read on the
// wall clock of a zone; where that clock jumps (DST), a wall-clock time can be skipped or
// repeated, and `resolve` says which, so callers handle all three outcomes explicitly. An unknown
// zone is an error: Almanac never falls back to UTC silently.
#pragma once

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <cstdint>
#include <string_view>

namespace almanac {

// Loads an IANA zone ("Europe/Berlin", "UTC") from the system tzdata. Loaded zones are cached
// for the life of the process, so later calls do no I/O. Thread-safe.
// Errors: unknown_zone ("unknown time zone 'Mars/Base'") for a name tzdata does not know or that
// is not a zone name at all (a path, an empty string).
result<cctz::time_zone> load_zone(std::string_view name);

// What a wall-clock time is on the time line of a zone.
enum class wall_kind : std::uint8_t {
  // It happens once.
  unique,
  // It falls in a gap (spring forward) and never appears on the clock.
  skipped,
  // It falls in a repeat (fall back) and appears twice.
  repeated,
};

// A wall-clock time resolved in a zone. For `unique`, all three instants are equal.
struct wall_time {
  wall_kind kind = wall_kind::unique;
  // unique: the instant. skipped: the time read with the offset before the gap (docs/SCHEDULE_RULES.md rule 1:
  // where a skipped job fires). repeated: the first occurrence.
  instant first;
  // skipped: the time read with the offset after the gap. repeated: the second occurrence.
  instant second;
  // skipped or repeated: the instant the offset changes.
  instant transition;
};

// Resolves a wall-clock time in `zone`. Second precision. Thread-safe.
wall_time resolve(const cctz::time_zone& zone, const cctz::civil_second& local);

} // namespace almanac
