// Parsing cron expressions: the accepted syntax of docs/SCHEDULE_RULES.md, and an error for each way to get it
// wrong, naming the field.
#include "schedule/cron.hpp"

#include <almanac/schedule.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <string>

using almanac::cron_expr;
using almanac::errc;
using almanac::parse_cron;

namespace {

cron_expr parsed(std::string_view text) {
  auto c = parse_cron(text);
  INFO(text << ": " << (c.ok() ? std::string{} : c.err().message));
  REQUIRE(c.ok());
  return *c;
}

template <class Bits>
Bits bits(std::initializer_list<int> values) {
  Bits out = 0;
  for (int v : values)
    out |= static_cast<Bits>(Bits{1} << v);
  return out;
}

} // namespace

TEST_CASE("five fields read minute hour day-of-month month day-of-week", "[schedule]") {
  auto c = parsed("30 2 15 6 3");
  CHECK(c.seconds == 1);
  CHECK(c.minutes == bits<std::uint64_t>({30}));
  CHECK(c.hours == bits<std::uint32_t>({2}));
  CHECK(c.days == bits<std::uint32_t>({15}));
  CHECK(c.months == bits<std::uint16_t>({6}));
  CHECK(c.weekdays == bits<std::uint8_t>({3}));
  CHECK(c.days_restricted);
  CHECK(c.weekdays_restricted);
  CHECK_FALSE(c.every_hour);
}

TEST_CASE("six fields add a leading second", "[schedule]") {
  auto c = parsed("5,10 30 2 * * *");
  CHECK(c.seconds == bits<std::uint64_t>({5, 10}));
  CHECK(c.minutes == bits<std::uint64_t>({30}));
  CHECK_FALSE(c.days_restricted);
  CHECK_FALSE(c.weekdays_restricted);
}

TEST_CASE("ranges steps and lists expand to their values", "[schedule]") {
  CHECK(parsed("*/15 * * * *").minutes == bits<std::uint64_t>({0, 15, 30, 45}));
  CHECK(parsed("10-20/5 * * * *").minutes == bits<std::uint64_t>({10, 15, 20}));
  CHECK(parsed("50/4 * * * *").minutes == bits<std::uint64_t>({50, 54, 58}));
  CHECK(parsed("1,2,40-42 * * * *").minutes == bits<std::uint64_t>({1, 2, 40, 41, 42}));
  CHECK(parsed("0 */6 * * *").hours == bits<std::uint32_t>({0, 6, 12, 18}));
  CHECK(std::popcount(parsed("* * * * *").minutes) == 60);
}

TEST_CASE("names are case-insensitive and Sunday is 0 or 7", "[schedule]") {
  CHECK(parsed("0 0 * jan-Mar *").months == bits<std::uint16_t>({1, 2, 3}));
  CHECK(parsed("0 0 * DEC *").months == bits<std::uint16_t>({12}));
  CHECK(parsed("0 0 * * mon-FRI").weekdays == bits<std::uint8_t>({1, 2, 3, 4, 5}));
  CHECK(parsed("0 0 * * 7").weekdays == bits<std::uint8_t>({0}));
  CHECK(parsed("0 0 * * 5-7").weekdays == bits<std::uint8_t>({0, 5, 6}));
  CHECK(parsed("0 0 * * SUN").weekdays == bits<std::uint8_t>({0}));
}

TEST_CASE("question mark means any in the day fields", "[schedule]") {
  auto c = parsed("0 0 ? * MON");
  CHECK_FALSE(c.days_restricted);
  CHECK(c.weekdays_restricted);
  CHECK_FALSE(parsed("0 0 1 * ?").weekdays_restricted);
}

TEST_CASE("L nL and n hash k set the day rules", "[schedule]") {
  CHECK(parsed("0 0 L * *").last_day);
  CHECK(parsed("0 0 * * 5L").last_weekdays == bits<std::uint8_t>({5}));
  CHECK(parsed("0 0 * * FRIL").last_weekdays == bits<std::uint8_t>({5}));
  CHECK(parsed("0 0 * * 7L").last_weekdays == bits<std::uint8_t>({0}));
  auto c = parsed("0 0 * * 1#2,FRI#5");
  CHECK(c.nth_weekdays[1] == 0b10);
  CHECK(c.nth_weekdays[5] == 0b10000);
  CHECK(c.weekdays == 0);
  CHECK(c.weekdays_restricted);
}

TEST_CASE("nicknames expand to their five fields", "[schedule]") {
  auto same = [](std::string_view nick, std::string_view fields) {
    auto a = parsed(nick);
    auto b = parsed(fields);
    CHECK(a.seconds == b.seconds);
    CHECK(a.minutes == b.minutes);
    CHECK(a.hours == b.hours);
    CHECK(a.days == b.days);
    CHECK(a.months == b.months);
    CHECK(a.weekdays == b.weekdays);
    CHECK(a.days_restricted == b.days_restricted);
    CHECK(a.weekdays_restricted == b.weekdays_restricted);
  };
  same("@yearly", "0 0 1 1 *");
  same("@annually", "0 0 1 1 *");
  same("@monthly", "0 0 1 * *");
  same("@weekly", "0 0 * * 0");
  same("@daily", "0 0 * * *");
  same("@midnight", "0 0 * * *");
  same("@hourly", "0 * * * *");
}

TEST_CASE("the hour field covering 0-23 marks the job as every hour", "[schedule]") {
  CHECK(parsed("30 * * * *").every_hour);
  CHECK(parsed("30 */1 * * *").every_hour);
  CHECK(parsed("30 0-23 * * *").every_hour);
  CHECK(parsed("30 0-11,12-23 * * *").every_hour);
  CHECK_FALSE(parsed("30 */2 * * *").every_hour);
  CHECK_FALSE(parsed("30 1-23 * * *").every_hour);
}

TEST_CASE("matches reads every field", "[schedule]") {
  auto c = parsed("30 2 * * MON");
  CHECK(c.matches(cctz::civil_second(2026, 3, 9, 2, 30, 0)));
  CHECK_FALSE(c.matches(cctz::civil_second(2026, 3, 10, 2, 30, 0)));
  CHECK_FALSE(c.matches(cctz::civil_second(2026, 3, 9, 2, 30, 1)));
}

TEST_CASE("next_match jumps to the next matching wall-clock time", "[schedule]") {
  auto c = parsed("15 10 * * *");
  CHECK(almanac::next_match(c, cctz::civil_second(2026, 12, 31, 10, 15, 1))
        == cctz::civil_second(2027, 1, 1, 10, 15, 0));
  CHECK(almanac::next_match(c, cctz::civil_second(2026, 12, 31, 10, 15, 0))
        == cctz::civil_second(2026, 12, 31, 10, 15, 0));
}

TEST_CASE("expressions that can never fire are rejected by make_cron", "[schedule]") {
  for (auto expr : {"0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *", "0 0 ? 2 1#6"}) {
    auto c = almanac::make_cron(expr);
    INFO(expr);
    REQUIRE_FALSE(c.ok());
    CHECK(c.code() == errc::invalid_schedule);
  }
  auto never = almanac::make_cron("0 0 30 2 *");
  REQUIRE_FALSE(never.ok());
  CHECK_THAT(never.err().message, Catch::Contains("never fires"));
  CHECK(almanac::make_cron("0 0 29 2 *").ok());
  CHECK(almanac::make_cron("0 0 ? 2 1#5").ok());
}

namespace {

struct bad_cron {
  const char* expr;
  const char* field; // text the message must contain
};

} // namespace

TEST_CASE("malformed cron expressions are rejected naming the field", "[schedule]") {
  auto bad = GENERATE(values<bad_cron>({
    // out of range, one per field
    {"60 * * * * *", "cron second: 60 is outside 0-59"},
    {"60 * * * *", "cron minute: 60 is outside 0-59"},
    {"0 24 * * *", "cron hour: 24 is outside 0-23"},
    {"0 0 0 * *", "cron day-of-month: 0 is outside 1-31"},
    {"0 0 32 * *", "cron day-of-month: 32 is outside 1-31"},
    {"0 0 * 0 *", "cron month: 0 is outside 1-12"},
    {"0 0 * 13 *", "cron month: 13 is outside 1-12"},
    {"0 0 * * 8", "cron day-of-week: 8 is outside 0-7"},
    {"0 0 * * 1#6", "cron day-of-week: #6 is outside 1-5"},
    {"0 0 * * 8L", "cron day-of-week: 8 is outside 0-7"},
    {"99999999999 * * * *", "cron minute: 99999999999 is outside 0-59"},
    {"0 0 * * 1-9", "cron day-of-week: 9 is outside 0-7"},
    // reversed ranges
    {"30-10 * * * *", "cron minute: range 30-10 is reversed"},
    {"0 0 * * FRI-MON", "cron day-of-week: range FRI-MON is reversed"},
    {"0 0 * NOV-FEB *", "cron month: range NOV-FEB is reversed"},
    {"0 0 20-10 * *", "cron day-of-month: range 20-10 is reversed"},
    {"0 10-5 * * *", "cron hour: range 10-5 is reversed"},
    {"50-40 * * * * *", "cron second: range 50-40 is reversed"},
    // step 0, missing step
    {"*/0 * * * *", "cron minute: step 0"},
    {"0 1-5/0 * * *", "cron hour: step 0"},
    {"0 0 */0 * *", "cron day-of-month: step 0"},
    {"*/0 * * * * *", "cron second: step 0"},
    {"0 0 * */0 *", "cron month: step 0"},
    {"0 0 * * */0", "cron day-of-week: step 0"},
    {"*/ * * * *", "cron minute: step missing"},
    {"*/61 * * * *", "cron minute: step 61"},
    {"0 0 * * */9", "cron day-of-week: step 9"},
    // empty list items
    {"1,,2 * * * *", "cron minute: empty list item"},
    {"0 1, * * *", "cron hour: empty list item"},
    {"0 0 ,1 * *", "cron day-of-month: empty list item"},
    {"0 0 * 1,,2 *", "cron month: empty list item"},
    {"0 0 * * 1,", "cron day-of-week: empty list item"},
    {",1 * * * * *", "cron second: empty list item"},
    // wrong field count
    {"* * * *", "expected 5 fields"},
    {"* * * * * * *", "got 7"},
    {"", "got 0"},
    // unknown names
    {"0 0 * FOO *", "cron month: unknown name 'FOO'"},
    {"0 0 * * FUNDAY", "cron day-of-week: unknown name 'FUNDAY'"},
    {"0 0 * * MONDAY", "cron day-of-week: unknown name 'MONDAY'"},
    {"0 0 * JANUARY *", "cron month: unknown name 'JANUARY'"},
    {"0 0 MON * *", "cron day-of-month: unexpected 'MON'"},
    {"abc * * * *", "cron minute: unexpected 'abc'"},
    {"0 x * * *", "cron hour: unexpected 'x'"},
    // unknown nicknames
    {"@often", "unknown nickname '@often'"},
    {"@reboot", "unknown nickname '@reboot'"},
    // trailing junk
    {"5x * * * *", "cron minute: unexpected 'x' after '5'"},
    {"1-2-3 * * * *", "cron minute: unexpected '-3' after '1-2'"},
    {"*/5/2 * * * *", "cron minute: unexpected '/2' after '*/5'"},
    {"0 5L * * *", "cron hour: unexpected 'L' after '5'"},
    {"0 0 * * 5L2", "cron day-of-week: unexpected '2' after '5L'"},
    {"0 0 * * 1#2x", "cron day-of-week: unexpected 'x' after '1#2'"},
    {"0 0 LW * *", "cron day-of-month: unexpected"},
    {"0 0 * JAN5 *", "cron month: unexpected '5' after 'JAN'"},
    {"0 0 1 * * x", "cron day-of-week: unknown name 'x'"},
    // question mark outside the day fields
    {"? * * * *", "cron minute: '?' is only allowed"},
  }));
  INFO("expression: " << bad.expr);
  auto c = parse_cron(bad.expr);
  REQUIRE_FALSE(c.ok());
  CHECK(c.code() == errc::invalid_schedule);
  CHECK_THAT(c.err().message, Catch::Contains(bad.field));
  // make_cron reports the same error.
  auto made = almanac::make_cron(bad.expr, "UTC");
  REQUIRE_FALSE(made.ok());
  CHECK(made.err() == c.err());
}

TEST_CASE("an unknown zone is an error and never UTC", "[schedule]") {
  auto zone = GENERATE(as<std::string>{}, "Mars/Base", "", "/etc/localtime", "../zoneinfo/UTC",
                       "America/New York", "localtime", "Europe/Berlin/", "EST5EDT,M3.2.0");
  INFO("zone: " << zone);
  auto c = almanac::make_cron("30 2 * * *", zone);
  REQUIRE_FALSE(c.ok());
  CHECK(c.code() == errc::unknown_zone);
  CHECK(c.err().message == "unknown time zone '" + zone + "'");
}

TEST_CASE("make_cron shares one compiled form per expression and zone", "[schedule]") {
  auto a = almanac::make_cron("7 7 * * *", "Asia/Tokyo");
  auto b = almanac::make_cron("7 7 * * *", "Asia/Tokyo");
  auto c = almanac::make_cron("7 7 * * *", "Europe/Berlin");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->compiled == b->compiled);
  CHECK(a->compiled != c->compiled);
  CHECK(a->expr == "7 7 * * *");
  CHECK(a->zone == "Asia/Tokyo");
}
