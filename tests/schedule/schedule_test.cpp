// at and every schedules, validate_new, compile and describe.
#include "schedule_fixture.hpp"

#include "schedule/cron.hpp"
#include "schedule/zone.hpp"

using namespace std::chrono_literals;
using almanac::at_schedule;
using almanac::errc;
using almanac::every_anchor;
using almanac::every_schedule;
using almanac::next_after;
using almanac::schedule;
using almanac::validate_new;
using almanac::test::iso;

TEST_CASE("an at schedule fires once strictly after the given instant", "[schedule]") {
  schedule s = at_schedule{iso("2026-03-08T07:30:00Z")};
  CHECK(next_after(s, iso("2026-03-08T07:29:59Z")) == iso("2026-03-08T07:30:00Z"));
  CHECK_FALSE(next_after(s, iso("2026-03-08T07:30:00Z")));
  CHECK_FALSE(next_after(s, iso("2026-03-09T00:00:00Z")));
}

TEST_CASE("an every grid schedule keeps anchor plus k intervals", "[schedule]") {
  auto anchor = iso("2026-03-08T00:00:00Z");
  auto e = almanac::make_every(90s, anchor);
  REQUIRE(e.ok());
  schedule s = *e;
  SECTION("the first run is one interval after the anchor") {
    CHECK(next_after(s, anchor) == anchor + 90s);
    CHECK(next_after(s, anchor - 1h) == anchor + 90s);
  }
  SECTION("a late caller lands on the grid, never drifting") {
    CHECK(next_after(s, anchor + 90s) == anchor + 180s);
    CHECK(next_after(s, anchor + 91s) == anchor + 180s);
    CHECK(next_after(s, anchor + 179999999us) == anchor + 180s);
    CHECK(next_after(s, anchor + 10h + 1s) == anchor + 10h + 90s);
  }
  SECTION("DST does not touch the grid") {
    auto e2 = almanac::make_every(1h, iso("2026-11-01T04:00:00Z"));
    CHECK(almanac::test::fires(*e2, iso("2026-11-01T04:00:00Z"), 4)
          == std::vector<std::string>{"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
                                      "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"});
  }
}

TEST_CASE("an every after_run_end schedule counts from the end of the run", "[schedule]") {
  auto e = almanac::make_every(5min, iso("2026-03-08T00:00:00Z"), every_anchor::after_run_end);
  REQUIRE(e.ok());
  CHECK(e->mode == every_anchor::after_run_end);
  auto end = iso("2026-03-08T00:07:13.5Z");
  CHECK(next_after(*e, end) == end + 5min);
}

TEST_CASE("make_every rejects intervals out of range", "[schedule]") {
  auto interval = GENERATE(as<almanac::duration>{}, 0s, -1s, almanac::max_interval + 1us);
  auto e = almanac::make_every(interval, iso("2026-03-08T00:00:00Z"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.code() == errc::invalid_schedule);
  CHECK_THAT(e.err().message, Catch::Contains("every: interval"));
  CHECK(almanac::make_every(almanac::max_interval, iso("2026-03-08T00:00:00Z")).ok());
}

TEST_CASE("validate_new refuses an at in the past", "[schedule]") {
  auto now = iso("2026-03-08T00:00:00Z");
  auto past = validate_new(at_schedule{iso("2026-01-01T00:00:00Z")}, now);
  REQUIRE_FALSE(past.ok());
  CHECK(past.code() == errc::invalid_schedule);
  CHECK(past.err().message == "at 2026-01-01T00:00:00Z is in the past");
  CHECK_FALSE(validate_new(at_schedule{now}, now).ok());
  CHECK(validate_new(at_schedule{now + 1us}, now).ok());
}

TEST_CASE("validate_new refuses intervals out of range", "[schedule]") {
  auto now = iso("2026-03-08T00:00:00Z");
  CHECK(validate_new(every_schedule{90s, now}, now).ok());
  auto zero = validate_new(every_schedule{0s, now}, now);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.code() == errc::invalid_schedule);
  auto huge = validate_new(every_schedule{almanac::max_interval + 1s, now}, now);
  REQUIRE_FALSE(huge.ok());
  CHECK_THAT(huge.err().message, Catch::Contains("longer than the maximum"));
}

TEST_CASE("validate_new refuses crons that never fire or do not parse", "[schedule]") {
  auto now = iso("2026-03-08T00:00:00Z");
  almanac::cron_schedule c;
  c.expr = "0 0 30 2 *";
  auto never = validate_new(c, now);
  REQUIRE_FALSE(never.ok());
  CHECK(never.code() == errc::invalid_schedule);
  CHECK_THAT(never.err().message, Catch::Contains("never fires"));
  c.expr = "0 0 * * 8";
  CHECK(validate_new(c, now).code() == errc::invalid_schedule);
  c.expr = "0 0 * * *";
  c.zone = "Mars/Base";
  CHECK(validate_new(c, now).code() == errc::unknown_zone);
  c.zone = "Asia/Kathmandu";
  CHECK(validate_new(c, now).ok());
}

TEST_CASE("compile re-creates the compiled form of a cron read from the log", "[schedule]") {
  almanac::cron_schedule read_back;
  read_back.expr = "30 2 * * *";
  read_back.zone = "America/New_York";
  schedule s = read_back;
  REQUIRE(almanac::compile(s).ok());
  auto& c = std::get<almanac::cron_schedule>(s);
  REQUIRE(c.compiled != nullptr);
  CHECK(c.compiled->zone == *almanac::load_zone("America/New_York"));
  CHECK(next_after(s, iso("2026-03-07T12:00:00Z")) == iso("2026-03-08T07:30:00Z"));
  schedule bad = almanac::cron_schedule{"0 0 * * *", "Mars/Base", nullptr};
  CHECK(almanac::compile(bad).code() == errc::unknown_zone);
  schedule at = at_schedule{iso("2026-03-07T12:00:00Z")};
  CHECK(almanac::compile(at).ok());
}

TEST_CASE("describe gives a short human text for each kind", "[schedule]") {
  CHECK(almanac::describe(at_schedule{iso("2026-03-08T07:30:00Z")})
        == "at 2026-03-08T07:30:00Z");
  CHECK(almanac::describe(every_schedule{90s, {}}) == "every 1m30s");
  CHECK(almanac::describe(every_schedule{5min, {}, every_anchor::after_run_end})
        == "every 5m after run end");
  CHECK(almanac::describe(*almanac::make_cron("30 2 * * *", "America/New_York"))
        == "cron '30 2 * * *' America/New_York");
}
