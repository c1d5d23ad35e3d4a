// The job-state fold readers use without the scheduler: the same state the decider's own fold
// gives, the job id taken from the first event.
#include "events/decide.hpp"
#include "events/evolve.hpp"
#include "projections/job_states.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using namespace almanac;
using namespace std::chrono_literals;

TEST_CASE("folding a stream from an empty state gives the job its id and its state", "[projections]") {
  auto now = *parse_instant("2026-01-01T00:00:00Z");
  job_state live;
  std::vector<event> stream;
  auto send = [&](command_body body) {
    auto r = decide(live, command{std::move(body), "user:carol", ""}, now);
    REQUIRE(r.ok());
    for (const auto& e : *r) {
      live = evolve(std::move(live), e);
      stream.push_back(e);
    }
  };
  send(create_job{job_id{41}, "fold-me", every_schedule{1min, {}, {}}, handler_target{"h", ""}, {}});
  send(pause_job{});
  job_state folded;
  for (const auto& e : stream)
    folded = fold(std::move(folded), e);
  CHECK(folded.id == job_id{41});
  CHECK(folded.name == "fold-me");
  CHECK(folded.status == job_status::paused);
  CHECK(folded.seq == stream.size());
  CHECK(folded.next_run_at == live.next_run_at);
  CHECK(folded.updated_at == live.updated_at);
}
