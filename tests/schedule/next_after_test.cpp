// The worked DST cases D1-D13 of docs/SCHEDULE_RULES.md, one test each, plus edge cases of next_after.
#include "schedule_fixture.hpp"

#include "schedule/cron.hpp"
#include "schedule/zone.hpp"

using almanac::test::cron_fires;
using almanac::test::iso;
using strings = std::vector<std::string>;

TEST_CASE("D1 a daily 0230 job fires at 0330 EDT on the New York gap day", "[schedule]") {
  CHECK(cron_fires("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3)
        == strings{"2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"});
}

TEST_CASE("D2 a daily 0130 job fires once at the first pass of the New York repeat",
          "[schedule]") {
  CHECK(cron_fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3)
        == strings{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"});
}

TEST_CASE("D3 a daily 0230 job is untouched by the New York repeat", "[schedule]") {
  CHECK(cron_fires("30 2 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3)
        == strings{"2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z", "2026-11-03T07:30:00Z"});
}

TEST_CASE("D4 a daily 0230 job fires at 0330 CEST on the Berlin gap day", "[schedule]") {
  CHECK(cron_fires("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 3)
        == strings{"2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"});
}

TEST_CASE("D5 a daily 0230 job fires once at the first pass of the Berlin repeat",
          "[schedule]") {
  CHECK(cron_fires("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 3)
        == strings{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"});
}

TEST_CASE("D6 an hourly job fires at both passes of the New York repeat", "[schedule]") {
  CHECK(cron_fires("30 * * * *", "America/New_York", "2026-11-01T04:00:00Z", 4)
        == strings{"2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z",
                   "2026-11-01T07:30:00Z"});
}

TEST_CASE("D7 an hourly job fires once for the skipped hour of the New York gap",
          "[schedule]") {
  CHECK(cron_fires("30 * * * *", "America/New_York", "2026-03-08T06:00:00Z", 3)
        == strings{"2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"});
}

TEST_CASE("D8 a list of hours keeps its order across the New York gap", "[schedule]") {
  CHECK(cron_fires("30 2,14 * * *", "America/New_York", "2026-03-07T20:00:00Z", 3)
        == strings{"2026-03-08T07:30:00Z", "2026-03-08T18:30:00Z", "2026-03-09T06:30:00Z"});
}

TEST_CASE("D9 a fixed-hour job fires only in the first pass of the Berlin repeat",
          "[schedule]") {
  CHECK(cron_fires("*/15 2 * * *", "Europe/Berlin", "2026-10-24T23:50:00Z", 9)
        == strings{"2026-10-25T00:00:00Z", "2026-10-25T00:15:00Z", "2026-10-25T00:30:00Z",
                   "2026-10-25T00:45:00Z", "2026-10-26T01:00:00Z", "2026-10-26T01:15:00Z",
                   "2026-10-26T01:30:00Z", "2026-10-26T01:45:00Z", "2026-10-27T01:00:00Z"});
}

TEST_CASE("D10 from inside the repeat a fixed-hour job skips the second pass", "[schedule]") {
  CHECK(cron_fires("30 1 * * *", "America/New_York", "2026-11-01T05:45:00Z", 2)
        == strings{"2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"});
}

TEST_CASE("D11 the 30-minute Lord Howe gap fires at the pre-gap offset", "[schedule]") {
  CHECK(cron_fires("0 13 2 * * *", "Australia/Lord_Howe", "2026-10-02T09:01:00Z", 5)
        == strings{"2026-10-02T15:43:00Z", "2026-10-03T15:43:00Z", "2026-10-04T15:13:00Z",
                   "2026-10-05T15:13:00Z", "2026-10-06T15:13:00Z"});
}

TEST_CASE("D12 the Chatham gap at 0245 fires at the pre-gap offset", "[schedule]") {
  CHECK(cron_fires("0 54 2 * * *", "Pacific/Chatham", "2025-09-26T10:38:00Z", 5)
        == strings{"2025-09-26T14:09:00Z", "2025-09-27T14:09:00Z", "2025-09-28T13:09:00Z",
                   "2025-09-29T13:09:00Z", "2025-09-30T13:09:00Z"});
}

TEST_CASE("D13 the Santiago midnight gap fires every skipped quarter hour", "[schedule]") {
  CHECK(cron_fires("*/15 0 * * *", "America/Santiago", "2027-09-04T15:23:00Z", 5)
        == strings{"2027-09-05T04:00:00Z", "2027-09-05T04:15:00Z", "2027-09-05T04:30:00Z",
                   "2027-09-05T04:45:00Z", "2027-09-06T03:00:00Z"});
}

TEST_CASE("a skipped time that coincides with another fire fires once", "[schedule]") {
  // 02:30 EST is 03:30 EDT: both name 07:30Z.
  CHECK(cron_fires("30 2,3 * * *", "America/New_York", "2026-03-08T00:00:00Z", 3)
        == strings{"2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-09T07:30:00Z"});
}

TEST_CASE("a minutely job keeps firing every minute through both passes of a repeat",
          "[schedule]") {
  auto got = cron_fires("* * * * *", "America/New_York", "2026-11-01T05:58:30Z", 4);
  CHECK(got == strings{"2026-11-01T05:59:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:01:00Z",
                       "2026-11-01T06:02:00Z"});
}

TEST_CASE("a job with every hour fires the second pass from inside the first", "[schedule]") {
  // 05:45Z is 01:45 EDT: 01:50 EDT is next, then 01:00, 01:10, ... EST.
  CHECK(cron_fires("*/10 * * * *", "America/New_York", "2026-11-01T05:45:00Z", 3)
        == strings{"2026-11-01T05:50:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:10:00Z"});
}

TEST_CASE("next fire is strictly after a sub-second instant", "[schedule]") {
  auto c = almanac::make_cron("30 2 * * *", "UTC");
  REQUIRE(c.ok());
  almanac::schedule s{*c};
  auto fire = iso("2026-03-08T02:30:00Z");
  CHECK(almanac::next_after(s, fire - std::chrono::microseconds{1}) == fire);
  CHECK(almanac::next_after(s, fire) == iso("2026-03-09T02:30:00Z"));
  CHECK(almanac::next_after(s, fire + std::chrono::microseconds{1})
        == iso("2026-03-09T02:30:00Z"));
}

TEST_CASE("a February 29 job waits for the next leap year", "[schedule]") {
  CHECK(cron_fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3)
        == strings{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"});
  // 2100 is not a leap year.
  CHECK(cron_fires("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1)
        == strings{"2104-02-29T00:00:00Z"});
}

TEST_CASE("a fifth Monday of February fires only when February has one", "[schedule]") {
  // 2044-02-01 is a Monday in a leap year: the 29th is the fifth Monday.
  CHECK(cron_fires("0 0 ? 2 1#5", "UTC", "2026-01-01T00:00:00Z", 1)
        == strings{"2044-02-29T00:00:00Z"});
}

TEST_CASE("day-of-month and day-of-week both restricted match either", "[schedule]") {
  // 2026-03-01 is a Sunday: the 13th, or any Friday.
  CHECK(cron_fires("0 0 13 * 5", "UTC", "2026-03-01T00:00:00Z", 3)
        == strings{"2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z"});
}

TEST_CASE("a step written with a star restricts its day field unlike Debian cron", "[schedule]") {
  // docs/SCHEDULE_RULES.md's worked case: odd days, or any Monday (Vixie cron would AND them).
  CHECK(cron_fires("0 0 */2 * 1", "UTC", "2026-06-01T00:00:00Z", 5)
        == strings{"2026-06-03T00:00:00Z", "2026-06-05T00:00:00Z", "2026-06-07T00:00:00Z",
                   "2026-06-08T00:00:00Z", "2026-06-09T00:00:00Z"});
}

TEST_CASE("last day and last weekday of month", "[schedule]") {
  CHECK(cron_fires("0 12 L * *", "UTC", "2026-01-31T12:00:00Z", 3)
        == strings{"2026-02-28T12:00:00Z", "2026-03-31T12:00:00Z", "2026-04-30T12:00:00Z"});
  CHECK(cron_fires("0 12 * * 5L", "UTC", "2026-01-01T00:00:00Z", 3)
        == strings{"2026-01-30T12:00:00Z", "2026-02-27T12:00:00Z", "2026-03-27T12:00:00Z"});
  CHECK(cron_fires("0 12 ? * MON#2", "UTC", "2026-01-01T00:00:00Z", 3)
        == strings{"2026-01-12T12:00:00Z", "2026-02-09T12:00:00Z", "2026-03-09T12:00:00Z"});
}

TEST_CASE("a cron without a compiled form still answers next_after", "[schedule]") {
  almanac::cron_schedule c;
  c.expr = "30 2 * * *";
  c.zone = "America/New_York";
  CHECK(almanac::next_after(almanac::schedule{c}, iso("2026-03-07T12:00:00Z"))
        == iso("2026-03-08T07:30:00Z"));
  c.zone = "Mars/Base";
  CHECK_FALSE(almanac::next_after(almanac::schedule{c}, iso("2026-03-07T12:00:00Z")));
}

namespace {

// The fire set by definition (docs/SCHEDULE_RULES.md), by scanning every minute of a civil window: each
// matching wall-clock time fires at its pre-transition reading, and also at its second
// occurrence when repeated and the hour field covers every hour.
std::optional<almanac::instant> brute_next(const almanac::cron_expr& c, almanac::instant after) {
  auto secs = std::chrono::floor<cctz::seconds>(after);
  auto local = cctz::convert(secs, c.zone);
  std::optional<cctz::time_point<cctz::seconds>> best;
  auto take = [&](cctz::time_point<cctz::seconds> t) {
    if (almanac::instant{std::chrono::duration_cast<almanac::duration>(t.time_since_epoch())}
          > after
        && (!best || t < *best))
      best = t;
  };
  auto first = cctz::civil_minute(local) - 24 * 60;
  for (auto m = first; m < first + 4 * 24 * 60; ++m) {
    cctz::civil_second cs(m);
    if (!c.matches(cs))
      continue;
    auto cl = c.zone.lookup(cs);
    take(cl.pre);
    if (cl.kind == cctz::time_zone::civil_lookup::REPEATED && c.every_hour)
      take(cl.post);
  }
  if (!best)
    return std::nullopt;
  return almanac::instant{std::chrono::duration_cast<almanac::duration>(best->time_since_epoch())};
}

} // namespace

TEST_CASE("next_after agrees with a brute-force scan around DST transitions", "[schedule]") {
  const char* zones[] = {"America/New_York", "Europe/Berlin",    "Australia/Lord_Howe",
                         "Pacific/Chatham",  "America/Santiago", "America/St_Johns",
                         "Europe/Dublin",    "Australia/Sydney", "America/Sao_Paulo",
                         "Asia/Tehran"};
  const char* minute_fields[] = {"0", "30", "*/15", "*/7", "0,45", "5-10", "59", "*"};
  const char* hour_fields[] = {"*", "0", "1", "2", "3", "*/2", "1-3", "0,2,23", "*/1", "22-23"};
  std::uint64_t seed = 42;
  auto rnd = [&](std::uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  int checked = 0;
  for (const char* zone_name : zones) {
    auto zone = *almanac::load_zone(zone_name);
    auto t = cctz::convert(cctz::civil_second(2019, 1, 1, 0, 0, 0), zone);
    cctz::time_zone::civil_transition tr;
    for (int k = 0; k < 12 && zone.next_transition(t, &tr); ++k) {
      auto trans = zone.lookup(tr.to).pre;
      t = trans;
      for (int sample = 0; sample < 6; ++sample) {
        std::string expr = std::string{minute_fields[rnd(std::size(minute_fields))]} + " "
                           + hour_fields[rnd(std::size(hour_fields))] + " * * *";
        auto c = almanac::make_cron(expr, zone_name);
        REQUIRE(c.ok());
        auto after = almanac::instant{std::chrono::duration_cast<almanac::duration>(
                       trans.time_since_epoch())}
                     + std::chrono::seconds{static_cast<long>(rnd(6 * 3600)) - 3 * 3600}
                     + std::chrono::microseconds{rnd(2) * rnd(1000000)};
        auto want = brute_next(*c->compiled, after);
        auto got = almanac::next_after(almanac::schedule{*c}, after);
        INFO(expr << " in " << zone_name << " after " << almanac::format_instant(after));
        REQUIRE(want.has_value());
        REQUIRE(got.has_value());
        CHECK(almanac::format_instant(*got) == almanac::format_instant(*want));
        ++checked;
      }
    }
  }
  CHECK(checked > 500);
}
