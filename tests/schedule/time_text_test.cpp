// Instants and durations as text: the CLI and JSON edge.
#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using almanac::duration;
using almanac::errc;
using almanac::format_duration;
using almanac::format_instant;
using almanac::from_unix_us;
using almanac::parse_duration;
using almanac::parse_instant;

TEST_CASE("instants format as ISO-8601 UTC with a fraction only when needed", "[schedule]") {
  CHECK(format_instant(from_unix_us(0)) == "1970-01-01T00:00:00Z");
  CHECK(format_instant(from_unix_us(1772955000000000)) == "2026-03-08T07:30:00Z");
  CHECK(format_instant(from_unix_us(1772955000250000)) == "2026-03-08T07:30:00.250Z");
  CHECK(format_instant(from_unix_us(1772955000000250)) == "2026-03-08T07:30:00.000250Z");
  CHECK(format_instant(from_unix_us(-1)) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("instants parse from ISO-8601 with fractions and offsets", "[schedule]") {
  auto t = parse_instant("2026-03-08T07:30:00Z");
  REQUIRE(t.ok());
  CHECK(almanac::to_unix_us(*t) == 1772955000000000);
  CHECK(*parse_instant("2026-03-08T07:30:00.25Z") == *t + 250ms);
  CHECK(*parse_instant("2026-03-08T07:30:00.000250Z") == *t + 250us);
  CHECK(*parse_instant("2026-03-08T02:30:00-05:00") == *t);
  CHECK(*parse_instant("2026-03-08T13:15:00+05:45") == *t);
  CHECK(*parse_instant("2026-03-08T07:30:00+00:00") == *t);
}

TEST_CASE("formatting then parsing an instant gives it back", "[schedule]") {
  for (std::int64_t us : {0LL, 1LL, 999999LL, 1772955000250000LL, -86400000001LL}) {
    auto t = from_unix_us(us);
    CHECK(*parse_instant(format_instant(t)) == t);
  }
}

TEST_CASE("malformed instants are rejected naming the text", "[schedule]") {
  auto text = GENERATE(as<std::string>{}, "", "2026-03-08", "2026-03-08T07:30:00",
                       "2026-03-08 07:30:00Z", "2026-3-8T07:30:00Z", "2026-02-30T00:00:00Z",
                       "2026-13-01T00:00:00Z", "2026-03-08T24:00:00Z", "2026-03-08T07:60:00Z",
                       "2026-03-08T07:30:60Z", "2026-03-08T07:30:00.Z",
                       "2026-03-08T07:30:00.1234567Z", "2026-03-08T07:30:00+5:00",
                       "2026-03-08T07:30:00Zjunk", "tomorrow", "2026-03-08T07:30:00+01:00x");
  INFO("text: " << text);
  auto t = parse_instant(text);
  REQUIRE_FALSE(t.ok());
  CHECK(t.code() == errc::invalid_input);
  CHECK_THAT(t.err().message, Catch::Contains("'" + text + "'"));
}

TEST_CASE("durations parse from unit-suffixed parts that add up", "[schedule]") {
  CHECK(*parse_duration("90s") == 90s);
  CHECK(*parse_duration("250ms") == 250ms);
  CHECK(*parse_duration("7us") == 7us);
  CHECK(*parse_duration("5m") == 5min);
  CHECK(*parse_duration("1h30m") == 90min);
  CHECK(*parse_duration("2d") == 48h);
  CHECK(*parse_duration("1m1s1ms") == 61001ms);
  CHECK(*parse_duration("0s") == 0s);
}

TEST_CASE("malformed durations are rejected naming the text", "[schedule]") {
  auto text = GENERATE(as<std::string>{}, "", "90", "5x", "-5s", "1.5h", "h", "s5",
                       "99999999999999999999s", "9999999999999d", "1h 30m", "5sec");
  INFO("text: " << text);
  auto d = parse_duration(text);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::invalid_input);
  CHECK_THAT(d.err().message, Catch::Contains("'" + text + "'"));
}

TEST_CASE("durations format exactly with the largest units first", "[schedule]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(250us) == "250us");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(49h) == "2d1h");
  CHECK(format_duration(-90s) == "-1m30s");
  for (auto d : {duration{1}, duration{86400000001}, duration{3723004005}})
    CHECK(*parse_duration(format_duration(d)) == d);
}
