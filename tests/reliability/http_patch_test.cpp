// PATCH /api/jobs/:id with a partial "policies" object, through the daemon's routes on a real
// socket: the fields it names are merged onto the job's policies inside the update command, so
// two clients changing different fields at the same moment both keep their change (a read of
// the job followed by a whole-policies update would let the later writer undo the earlier one).
#include "reliability_fixture.hpp"

#include "tools/almanacd/http_api.hpp"
#include "tools/edge/json_writer.hpp"

#include <httplib.h>

#include <latch>
#include <thread>

namespace almanac::reliability {
namespace {

using tools::json;

struct patch_setup {
  scheduler_fixture f;
  std::unique_ptr<tools::http_server> server;
  int port = 0;

  patch_setup() {
    f.start();
    auto started = tools::http_server::start({}, tools::make_http_api(f.sys, *f.sched, {}));
    REQUIRE(started.ok());
    server = std::move(*started);
    port = server->port();
  }

  ~patch_setup() { server->stop(); }

  httplib::Result patch(const std::string& job, const json& body) const {
    httplib::Client client{"127.0.0.1", port};
    client.set_read_timeout(30, 0);
    return client.Patch("/api/jobs/" + job, body.dump(), "application/json");
  }

  json get(const std::string& job) const {
    httplib::Client client{"127.0.0.1", port};
    client.set_read_timeout(30, 0);
    auto res = client.Get("/api/jobs/" + job);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return json::parse(res->body);
  }
};

TEST_CASE("two concurrent PATCHes of different policy fields both hold", "[reliability]") {
  patch_setup s;
  job_policies p;
  p.max_consecutive_errors = 4;
  p.backoff = {std::chrono::seconds{5}};
  s.f.created("shared", every_schedule{1h, s.f.clk.now()}, p);
  // Rounds of two PATCHes released together: one sets the timeout, the other the group.
  for (int round = 1; round <= 20; ++round) {
    INFO("round " << round);
    auto timeout = std::to_string(round) + "s";
    auto group = "group-" + std::to_string(round);
    std::latch go{2};
    // The HTTP status of each PATCH, -1 when no answer came.
    int a = -1;
    int b = -1;
    auto status = [](const httplib::Result& r) { return r ? r->status : -1; };
    std::thread ta{[&] {
      go.arrive_and_wait();
      a = status(s.patch("shared", {{"policies", {{"timeout", timeout}}}}));
    }};
    std::thread tb{[&] {
      go.arrive_and_wait();
      b = status(s.patch("shared", {{"policies", {{"group", group}}}}));
    }};
    ta.join();
    tb.join();
    CHECK(a == 200);
    CHECK(b == 200);
    auto j = s.get("shared");
    CHECK(j["policies"]["timeout"] == timeout);
    CHECK(j["policies"]["group"] == group);
    CHECK(j["policies"]["max_consecutive_errors"] == 4);
    CHECK(j["policies"]["backoff"] == json::array({"5s"}));
  }
}

TEST_CASE("a PATCH of one policy field keeps the others and records them all", "[reliability]") {
  patch_setup s;
  job_policies p;
  p.group = "reports";
  p.max_runs = 9;
  s.f.created("report", every_schedule{1h, s.f.clk.now()}, p);
  auto res = s.patch("report", {{"policies", {{"max_runs", nullptr}, {"jitter", "2s"}}}});
  REQUIRE(res);
  REQUIRE(res->status == 200);
  auto j = json::parse(res->body);
  CHECK(j["policies"]["group"] == "reports");
  CHECK(j["policies"]["max_runs"].is_null());
  CHECK(j["policies"]["jitter"] == "2s");
  // The event in the log holds the whole resulting policies, not the patch.
  auto state = s.f.ask<job_state>(get_request{"report"});
  REQUIRE(state.ok());
  std::vector<event> stream;
  REQUIRE(scheduler_testing::log(*s.f.sched).read_stream(state->id, 1, stream).is_ok());
  REQUIRE_FALSE(stream.empty());
  auto* updated = std::get_if<job_updated>(&stream.back().body);
  REQUIRE(updated != nullptr);
  REQUIRE(updated->policies);
  CHECK(updated->policies->group == "reports");
  CHECK_FALSE(updated->policies->max_runs);
  CHECK(updated->policies->jitter == std::chrono::seconds{2});
  CHECK(*updated->policies == state->policies);
  // A patch whose result is not valid policies is refused and changes nothing.
  auto bad = s.patch("report", {{"policies", {{"max_consecutive_errors", 0}}}});
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK_THAT(bad->body, Catch::Contains("max_consecutive_errors"));
  CHECK(s.get("report")["policies"] == j["policies"]);
}

} // namespace
} // namespace almanac::reliability
