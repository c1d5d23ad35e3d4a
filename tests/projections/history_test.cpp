// The history projections as pure folds: the audit actions and run records that events give.
#include "events/decide.hpp"
#include "events/evolve.hpp"
#include "projections/history.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace almanac;
using namespace std::chrono_literals;

TEST_CASE("the audit fold names operator and automatic actions with status changes", "[projections]") {
  job_state s;
  auto now = *parse_instant("2026-01-01T00:00:00Z");
  history_projector fold;
  std::vector<audit_entry> trail;
  std::vector<run_record> runs;
  std::uint64_t position = 0;
  job_policies p;
  p.max_consecutive_errors = 2;
  auto send = [&](command_body body, std::string actor = "user:carol") {
    auto r = decide(s, command{std::move(body), std::move(actor), "n"}, now);
    REQUIRE(r.ok());
    for (const auto& e : *r) {
      s = evolve(std::move(s), e);
      auto c = fold.apply(++position, e);
      if (c.audit)
        trail.push_back(*c.audit);
      if (c.run)
        runs.push_back(*c.run);
    }
  };
  send(create_job{job_id{9}, "nightly", every_schedule{1min, {}, {}}, handler_target{"h", ""}, p});
  for (int i = 0; i < 2; ++i) {
    now = *s.next_run_at;
    send(due{*s.next_run_at}, "timer");
    send(run_finished{s.runs_started, false, "exit 1", 1s, {}}, "system");
  }
  send(resume_job{true});
  std::vector<std::string> actions;
  for (const auto& a : trail)
    actions.push_back(a.action);
  CHECK(actions == std::vector<std::string>{"create", "backoff", "failed", "resume:force"});
  CHECK(trail.back().from_status == "failed");
  CHECK(trail.back().to_status == "active");
  CHECK(trail.back().job_name == "nightly");
  CHECK_THAT(trail.back().detail, Catch::Contains("cleared 2"));
  REQUIRE(runs.size() == 4); // two opened, two finished
  CHECK(runs.back().outcome == "failed");
  CHECK(runs.back().error == "exit 1");
}

TEST_CASE("audit entries and run records survive their JSON form", "[projections]") {
  audit_entry a{7, *parse_instant("2026-01-01T00:00:00Z"), job_id{5}, "n", "pause", "active",
                "paused", "user:x", "note", "detail"};
  auto back = nlohmann::json(a).get<audit_entry>();
  CHECK(back.position == 7);
  CHECK(back.job == job_id{5});
  CHECK(back.action == "pause");
  CHECK(back.at == a.at);
  run_record r;
  r.job = job_id{5};
  r.run_id = 3;
  r.outcome = "succeeded";
  r.took = 1500ms;
  auto rb = nlohmann::json(r).get<run_record>();
  CHECK(rb.run_id == 3);
  CHECK(rb.took == 1500ms);
  CHECK(rb.finished_at == instant{});
}
