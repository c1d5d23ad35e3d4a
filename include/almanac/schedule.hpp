// A job's schedule: one instant (`at`), a fixed real-time interval (`every`), or a cron
// expression read on the wall clock of an IANA zone (`cron`). `next_after` is the one question
// the rest of Almanac asks of a schedule. docs/SCHEDULE_RULES.md is the contract.
#pragma once

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace almanac {

struct cron_expr; // compiled form, schedule/cron.hpp

// Fires once at `at`.
struct at_schedule {
  instant at;
  friend bool operator==(const at_schedule&, const at_schedule&) = default;
};

// How an `every` schedule places its runs.
enum class every_anchor : std::uint8_t {
  // Runs keep the grid anchor + k*interval, k >= 1: no drift (the default).
  grid = 0,
  // Each run is due `interval` after the previous run ended (the replaced scheduler's behaviour).
  after_run_end = 1,
};

// Fires every `interval` of elapsed time, unaffected by zones and DST.
struct every_schedule {
  duration interval{};
  // The grid origin; by default the job's creation instant, so the first run is anchor + interval.
  instant anchor{};
  every_anchor mode = every_anchor::grid;
  friend bool operator==(const every_schedule&, const every_schedule&) = default;
};

// Fires when the local wall clock of `zone` matches `expr` (docs/SCHEDULE_RULES.md for gaps and repeats).
struct cron_schedule {
  std::string expr;
  std::string zone = "UTC";
  // Compiled from expr and zone by make_cron; shared between jobs with the same expression and
  // zone, so a million cron jobs cost one compiled form per distinct expression.
  std::shared_ptr<const cron_expr> compiled;
  friend bool operator==(const cron_schedule& a, const cron_schedule& b) {
    return a.expr == b.expr && a.zone == b.zone;
  }
};

using schedule = std::variant<at_schedule, every_schedule, cron_schedule>;

// Longest accepted `every` interval: 366 days. Anything longer is almost surely a unit mistake.
inline constexpr duration max_interval = std::chrono::hours{24 * 366};

// Parses and compiles a cron expression in an IANA zone. Errors: invalid_schedule (message names
// the field and the reason: "cron day-of-week: 8 is outside 0-7"; or "cron '0 0 30 2 *' UTC never
// fires"), unknown_zone ("unknown time zone 'Mars/Base'"). Compiled forms are interned by
// (expr, zone): equal inputs share one. Thread-safe.
result<cron_schedule> make_cron(std::string_view expr, std::string_view zone = "UTC");

// An `every` schedule. Errors: invalid_schedule when interval <= 0 or > max_interval.
result<every_schedule> make_every(duration interval, instant anchor,
                                  every_anchor mode = every_anchor::grid);

// The first fire strictly after `after`, or nullopt when the schedule never fires again
// (an `at` whose instant is not after `after`). For after_run_end, `after` is the run's end.
// A cron without `compiled` is compiled on the fly (slower; call compile() once instead), and
// one that does not compile never fires. Thread-safe; about a microsecond for a cron.
std::optional<instant> next_after(const schedule& s, instant after);

// Checks a schedule for a job created at `now`: an `at` not after now, an interval out of range,
// a cron that never fires. Errors: invalid_schedule with the reason.
result<void> validate_new(const schedule& s, instant now);

// Re-creates `compiled` for a cron schedule read back from the log (expr and zone only).
// Errors as make_cron.
result<void> compile(schedule& s);

// A short human description: "at 2026-03-08T07:30:00Z", "every 1m30s", "cron '30 2 * * *' America/New_York".
std::string describe(const schedule& s);

} // namespace almanac
