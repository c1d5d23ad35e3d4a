// A cron expression, compiled. Parsing turns the text into bit sets (one per field) plus the
// day rules that bit sets cannot say (`L`, `5L`, `1#2`), so matching a wall-clock time is a few
// bit tests and finding the next match is a handful of "next set bit" jumps. `next_fire` then
// reads that wall clock in the job's zone and applies the DST rules of
// docs/SCHEDULE_RULES.md: a skipped time fires at the pre-gap offset, a repeated time fires at
// its first occurrence only, or at both when the hour field covers every hour.
#pragma once

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace almanac {

// The compiled form of a cron expression in one zone. Immutable once built, so one instance is
// shared by every job with the same expression and zone (make_cron interns them).
struct cron_expr {
  // Bit i set: value i matches. seconds/minutes 0-59, hours 0-23, days 1-31, months 1-12,
  // weekdays 0-6 (Sunday 0; a `7` in the text is folded onto 0).
  std::uint64_t seconds = 0;
  std::uint64_t minutes = 0;
  std::uint32_t hours = 0;
  std::uint32_t days = 0;
  std::uint16_t months = 0;
  std::uint8_t weekdays = 0;
  // `L` in day-of-month: the month's last day matches.
  bool last_day = false;
  // `nL` in day-of-week: bit n set means the month's last weekday n matches.
  std::uint8_t last_weekdays = 0;
  // `n#k` in day-of-week: bit (k-1) of nth_weekdays[n] set means the k-th weekday n matches.
  std::array<std::uint8_t, 7> nth_weekdays{};
  // False when the field is `*` or `?` (docs/SCHEDULE_RULES.md: when both are restricted, either may match).
  bool days_restricted = false;
  bool weekdays_restricted = false;
  // The hour field covers 0-23: repeated wall-clock times then fire at both occurrences.
  bool every_hour = false;
  // The zone whose wall clock is matched. parse_cron leaves UTC; make_cron sets the job's zone.
  cctz::time_zone zone = cctz::utc_time_zone();

  // True when the wall-clock time `t` matches every field.
  bool matches(const cctz::civil_second& t) const;
};

// Parses 5 fields (`minute hour day-of-month month day-of-week`), 6 (a leading `second`), or a
// nickname (`@daily`). Errors: invalid_schedule, the message naming the field and the reason
// ("cron day-of-week: 8 is outside 0-7"). Does not check that the expression ever fires: see
// ever_fires.
result<cron_expr> parse_cron(std::string_view text);

// The first wall-clock time >= `from` that matches, or nullopt when none does within 400 years
// (the Gregorian calendar repeats after 400 years, so then none ever will).
std::optional<cctz::civil_second> next_match(const cron_expr& cron, cctz::civil_second from);

// False for an expression no calendar date satisfies (`0 0 30 2 *`).
bool ever_fires(const cron_expr& cron);

// The first fire strictly after `after` on the wall clock of cron.zone, with the DST rules of
// docs/SCHEDULE_RULES.md; nullopt only for an expression that never fires. Thread-safe (reads only).
// Costs a few cctz lookups: a few microseconds.
std::optional<instant> next_fire(const cron_expr& cron, instant after);

} // namespace almanac
