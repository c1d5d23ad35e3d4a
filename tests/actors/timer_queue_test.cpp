#include "actors/timer_queue.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using namespace almanac;
using namespace std::chrono_literals;

TEST_CASE("the timer queue pops due jobs earliest first and re-arms in place", "[actors]") {
  timer_queue q;
  auto t0 = *parse_instant("2026-01-01T00:00:00Z");
  q.set(job_id{1}, t0 + 3s);
  q.set(job_id{2}, t0 + 1s);
  q.set(job_id{3}, t0 + 2s);
  q.set(job_id{1}, t0 + 500ms); // re-armed earlier
  q.set(job_id{3}, std::nullopt); // disarmed
  CHECK(q.size() == 2);
  CHECK(q.earliest() == t0 + 500ms);
  auto due = q.pop_due(t0 + 1s);
  REQUIRE(due.size() == 2);
  CHECK(due[0].first == job_id{1});
  CHECK(due[1].first == job_id{2});
  CHECK(q.size() == 0);
  CHECK_FALSE(q.earliest());
}

TEST_CASE("the timer queue holds many jobs at the same instant", "[actors]") {
  timer_queue q;
  auto t0 = *parse_instant("2026-01-01T00:00:00Z");
  for (std::uint64_t i = 1; i <= 1000; ++i)
    q.set(job_id{i}, t0);
  CHECK(q.pop_due(t0 - 1us).empty());
  CHECK(q.pop_due(t0, 10).size() == 10);
  CHECK(q.pop_due(t0).size() == 990);
}
