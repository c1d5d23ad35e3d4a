#include "actors/health.hpp"

#include <almanac/admin.hpp>
#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using namespace almanac;
using namespace std::chrono_literals;

namespace {

const instant t0 = *parse_instant("2026-01-01T00:00:00Z");

job_summary job(std::uint64_t id, job_status status, std::uint32_t errors = 0) {
  job_summary j;
  j.id = job_id{id};
  j.name = "job-" + std::to_string(id);
  j.status = status;
  j.consecutive_errors = errors;
  return j;
}

} // namespace

TEST_CASE("health counts jobs by status and active jobs with errors", "[actors]") {
  registry reg{100};
  reg.add(job(1, job_status::active), t0);
  reg.add(job(2, job_status::active, 2), t0);
  reg.add(job(3, job_status::paused, 1), t0);
  reg.add(job(4, job_status::failed, 3), t0);
  reg.add(job(5, job_status::completed), t0);
  reg.add(job(6, job_status::completed), t0);
  health h{10, 5min};
  auto r = h.report(reg, t0 - 1h, t0);
  CHECK(r.active == 2);
  CHECK(r.paused == 1);
  CHECK(r.failed == 1);
  CHECK(r.completed == 2);
  CHECK(r.erroring == 1);
  CHECK(r.started_at == t0 - 1h);
  CHECK(r.now == t0);
}

TEST_CASE("health lists runs in flight and those past their timeout", "[actors]") {
  registry reg{100};
  auto a = job(1, job_status::active);
  a.timeout = 30s;
  a.runs = {run_view{4, t0 - 31s}, run_view{5, t0 - 30s}};
  auto b = job(2, job_status::active);
  b.runs = {run_view{1, t0 - 1h}};
  reg.add(a, t0);
  reg.add(b, t0);
  health h{10, 5min};
  auto r = h.report(reg, t0, t0);
  REQUIRE(r.runs_in_flight.size() == 3);
  for (const auto& s : r.runs_in_flight) {
    INFO(s.job_name << " run " << s.run_id);
    CHECK(s.age == t0 - s.started_at);
    // Past the timeout only when strictly older than it; no timeout: never.
    CHECK(s.stuck == (s.job == job_id{1} && s.run_id == 4));
  }
}

TEST_CASE("the fleet alert counts jobs turned failed within its window", "[actors]") {
  registry reg{100};
  health h{3, 5min};
  for (std::uint64_t id = 1; id <= 4; ++id)
    reg.add(job(id, job_status::active), t0);
  auto fail_at = [&](std::uint64_t id, instant at) {
    auto j = job(id, job_status::failed, 3);
    h.note(reg, j, at);
    reg.update(j, at);
  };
  fail_at(1, t0);
  fail_at(2, t0 + 1min);
  // A job already failed does not count again.
  fail_at(2, t0 + 2min);
  auto r = h.report(reg, t0, t0 + 2min);
  CHECK(r.recently_failed == 2);
  CHECK_FALSE(r.fleet_alert);
  fail_at(3, t0 + 3min);
  r = h.report(reg, t0, t0 + 3min);
  CHECK(r.recently_failed == 3);
  CHECK(r.fleet_alert);
  // The first failure leaves the window.
  r = h.report(reg, t0, t0 + 5min + 1s);
  CHECK(r.recently_failed == 2);
  CHECK_FALSE(r.fleet_alert);
  // An unknown job is not counted.
  h.note(reg, job(9, job_status::failed, 1), t0 + 5min + 1s);
  CHECK(h.report(reg, t0, t0 + 5min + 1s).recently_failed == 2);
}

TEST_CASE("health reports quarantined jobs and log salvages", "[actors]") {
  registry reg{100};
  health h{10, 5min};
  h.set_quarantined({"job 00000000000000aa: unknown event type 99"});
  h.set_log_salvages({"salvage at 12"});
  auto r = h.report(reg, t0, t0);
  CHECK(r.quarantined == std::vector<std::string>{"job 00000000000000aa: unknown event type 99"});
  CHECK(r.log_salvages == std::vector<std::string>{"salvage at 12"});
  CHECK(r.active == 0);
  CHECK(r.runs_in_flight.empty());
}
