// Helpers shared by the schedule tests: instants from ISO text, and the next n fires of a cron
// as ISO strings, so expectations read like the tables of docs/SCHEDULE_RULES.md.
#pragma once

#include <almanac/schedule.hpp>

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace almanac::test {

inline instant iso(std::string_view text) {
  auto t = parse_instant(text);
  REQUIRE(t.ok());
  return *t;
}

// The next `count` fires of `s` strictly after `from`, formatted.
inline std::vector<std::string> fires(const schedule& s, instant from, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    auto next = next_after(s, from);
    if (!next)
      break;
    out.push_back(format_instant(*next));
    from = *next;
  }
  return out;
}

inline std::vector<std::string> cron_fires(std::string_view expr, std::string_view zone,
                                           std::string_view from, int count) {
  auto c = make_cron(expr, zone);
  INFO(expr << " in " << zone);
  REQUIRE(c.ok());
  return fires(schedule{*c}, iso(from), count);
}

} // namespace almanac::test
