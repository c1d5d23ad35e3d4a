#include "tools/replay/event_json.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using namespace almanac;
using namespace almanac::tools;

namespace {

instant at(const char* text) { return *parse_instant(text); }

} // namespace

TEST_CASE("an event in JSON has its envelope and its own fields by name", "[tools]") {
  event e{event_envelope{job_id{7}, 9, at("2030-01-01T00:00:00Z"), "user:ops", "fixed it",
                         "resume:force"},
          job_revived{3, at("2030-01-01T00:00:01Z")}};
  auto j = event_to_json(42, e);
  CHECK(j["position"] == 42);
  CHECK(j["seq"] == 9);
  CHECK(j["type"] == "JobRevived");
  CHECK(j["recorded_at"] == "2030-01-01T00:00:00Z");
  CHECK(j["actor"] == "user:ops");
  CHECK(j["note"] == "fixed it");
  CHECK(j["cause"] == "resume:force");
  CHECK(j["cleared_errors"] == 3);
  CHECK(j["next_run_at"] == "2030-01-01T00:00:01Z");
  event f{event_envelope{job_id{7}, 10, {}, "timer", "", "run_finished"},
          run_failed{4, "exit status 1", 2, std::nullopt, std::chrono::milliseconds{1500}, "out"}};
  auto k = event_to_json(43, f);
  CHECK(k["type"] == "RunFailed");
  CHECK(k["error"] == "exit status 1");
  CHECK(k["took"] == "1s500ms");
  CHECK(k["next_run_at"].is_null());
}
