// Zones: loading by IANA name, and the three outcomes of a wall-clock time.
#include "schedule/zone.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using almanac::errc;
using almanac::load_zone;
using almanac::parse_instant;
using almanac::resolve;
using almanac::wall_kind;

TEST_CASE("known zones load and unknown zones are errors", "[schedule]") {
  CHECK(load_zone("UTC").ok());
  CHECK(load_zone("America/New_York").ok());
  CHECK(load_zone("Australia/Lord_Howe").ok());
  auto mars = load_zone("Mars/Base");
  REQUIRE_FALSE(mars.ok());
  CHECK(mars.code() == errc::unknown_zone);
  CHECK(mars.err().message == "unknown time zone 'Mars/Base'");
}

TEST_CASE("a loaded zone is the same zone on every call", "[schedule]") {
  CHECK(*load_zone("Europe/Berlin") == *load_zone("Europe/Berlin"));
}

TEST_CASE("resolve tells unique skipped and repeated wall-clock times apart", "[schedule]") {
  auto ny = *load_zone("America/New_York");
  SECTION("a unique time") {
    auto w = resolve(ny, cctz::civil_second(2026, 1, 15, 12, 0, 0));
    CHECK(w.kind == wall_kind::unique);
    CHECK(w.first == *parse_instant("2026-01-15T17:00:00Z"));
    CHECK(w.second == w.first);
  }
  SECTION("a time in the spring gap") {
    auto w = resolve(ny, cctz::civil_second(2026, 3, 8, 2, 30, 0));
    CHECK(w.kind == wall_kind::skipped);
    CHECK(w.first == *parse_instant("2026-03-08T07:30:00Z"));
    CHECK(w.second == *parse_instant("2026-03-08T06:30:00Z"));
    CHECK(w.transition == *parse_instant("2026-03-08T07:00:00Z"));
  }
  SECTION("a time in the fall repeat") {
    auto w = resolve(ny, cctz::civil_second(2026, 11, 1, 1, 30, 0));
    CHECK(w.kind == wall_kind::repeated);
    CHECK(w.first == *parse_instant("2026-11-01T05:30:00Z"));
    CHECK(w.second == *parse_instant("2026-11-01T06:30:00Z"));
    CHECK(w.transition == *parse_instant("2026-11-01T06:00:00Z"));
  }
}
