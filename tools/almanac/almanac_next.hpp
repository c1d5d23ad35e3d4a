// `almanac next`: the next fire times of a schedule, computed offline from the schedule module
// alone (no daemon, no store). It answers "when would this cron fire in that zone?" and, with
// --batch, checks many expressions at once (the cron vectors run through it in CTest).
#pragma once

#include "tools/edge/error_table.hpp"

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <optional>
#include <string>

namespace almanac::tools {

// What `almanac next` was asked. Exactly one of cron / every / at, unless batch.
struct next_options {
  std::optional<std::string> cron;
  // Zone of the cron's wall clock. Default: UTC.
  std::string tz = "UTC";
  // A duration ("90s", "1h30m"): a grid anchored at `from`.
  std::optional<std::string> every;
  // An ISO-8601 instant.
  std::optional<std::string> at;
  // ISO-8601; fires are strictly after it. Default: now (the system clock).
  std::optional<std::string> from;
  // How many fires to print. Default: 5; at most max_count.
  int count = 5;
  // Read `expr<TAB>tz<TAB>from<TAB>count` lines from the input instead.
  bool batch = false;
};

inline constexpr int max_count = 10000;

// Exit codes of `almanac next` (from the one table, error_table.hpp): 0 done, 1 some --batch
// lines failed, 2 bad input.
inline constexpr int exit_line_failed = exit_refused;
inline constexpr int exit_bad_input = exit_usage;

// Runs `almanac next`: prints one UTC instant per line to `out`, or in batch mode one line per
// input line (comma-separated instants, or `error: <reason>`; empty lines and lines starting
// with `#` are skipped). Errors go to `err`. Returns the exit code. Reads the system clock only
// when `from` is absent.
int run_next(const next_options& opts, std::istream& in, std::ostream& out, std::ostream& err);

// Adds the `next` subcommand to `app`. Its callback runs run_next on stdin/stdout/stderr and
// throws CLI::RuntimeError(code) when the exit code is not 0, so main's `app.exit(e)` returns it
// without printing anything more.
void add_next_command(CLI::App& app);

} // namespace almanac::tools
