// The admin interface from another node: a second actor system connects through CAF's middleman
// on loopback and drives the scheduler with the same typed messages, so every request, reply and
// error crosses the wire serialized.
#include "runtime_fixture.hpp"

#include <caf/io/all.hpp>

using namespace almanac;
using namespace almanac::test;

namespace {

caf::actor_system_config& remote_config(caf::actor_system_config& cfg) {
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  return cfg;
}

struct node {
  caf::actor_system_config cfg;
  caf::actor_system sys{remote_config(cfg)};
};

template <class Reply, class Request>
result<Reply> ask(caf::actor_system& sys, const admin_actor& admin, Request req) {
  std::optional<result<Reply>> out;
  {
    caf::scoped_actor self{sys};
    self->request(admin, 10s, std::move(req))
      .receive([&](Reply& r) { out.emplace(std::move(r)); },
               [&](caf::error& e) { out.emplace(from_caf_error(e)); });
  }
  return std::move(*out);
}

} // namespace

TEST_CASE("the admin actor works the same from another node", "[actors]") {
  temp_dir dir;
  manual_clock clk{at("2026-03-02T10:00:00Z")};
  node server;
  node client;
  scheduler_options opts;
  opts.data_dir = dir.data();
  opts.durability = store::durability::none;
  opts.clk = &clk;
  auto sched = scheduler::start(server.sys, opts);
  REQUIRE(sched.ok());
  auto port = server.sys.middleman().publish((*sched)->admin(), 0, "127.0.0.1");
  REQUIRE(port);
  auto remote = client.sys.middleman().remote_actor<admin_actor>("127.0.0.1", *port);
  REQUIRE(remote);
  auto admin = *remote;

  auto cron = make_cron("0 9 * * MON-FRI", "Europe/Berlin");
  REQUIRE(cron.ok());
  job_policies p;
  p.backoff = {5s, 1min};
  p.group = "reports";
  p.max_runs = 100;
  auto created = ask<job_state>(
    client.sys, admin,
    create_request{job_spec{"weekday", *cron, exec_target{{"/bin/true"}, {{"K", "V"}}, "/tmp"}, p},
                   "node:client", "from afar"});
  REQUIRE(created.ok());
  CHECK(created->policies.group == "reports");
  CHECK(created->policies.max_runs == 100u);
  CHECK(std::get<cron_schedule>(created->sched).zone == "Europe/Berlin");
  auto id = to_string(created->id);

  CHECK(ask<job_state>(client.sys, admin, pause_request{id, "node:client", ""})->status
        == job_status::paused);
  auto refused = ask<job_state>(client.sys, admin, pause_request{id, "node:client", ""});
  CHECK(refused.code() == errc::refused_status);
  CHECK_THAT(refused.err().message, Catch::Contains("already paused"));
  CHECK(ask<job_state>(client.sys, admin, resume_request{id, true, "node:client", ""})->status
        == job_status::active);
  // The rename carries a policy patch across the nodes: only the timeout changes.
  update_job rename{std::string{"weekday-report"}, {}, {}, {}};
  rename.policy_changes.timeout = 2min;
  rename.policy_changes.max_runs = std::optional<std::uint64_t>{};
  auto renamed =
    ask<job_state>(client.sys, admin, update_request{id, rename, "node:client", ""});
  REQUIRE(renamed.ok());
  CHECK(renamed->name == "weekday-report");
  CHECK(renamed->policies.timeout == 2min);
  CHECK(renamed->policies.group == "reports");
  CHECK_FALSE(renamed->policies.max_runs);

  auto listed = ask<job_list>(client.sys, admin, list_request{"", "report", 10});
  REQUIRE(listed.ok());
  REQUIRE(listed->jobs.size() == 1);
  auto trail = ask<audit_page>(client.sys, admin, audit_request{id, 10, 0});
  REQUIRE(trail.ok());
  REQUIRE(trail->entries.size() == 4);
  CHECK(trail->entries[0].action == "update");
  CHECK(trail->entries[1].action == "resume:force");
  CHECK(trail->entries[3].actor == "node:client");
  CHECK(trail->entries[3].note == "from afar");
  auto preview =
    ask<preview_result>(client.sys, admin, preview_request{every_schedule{90s, clk.now(), {}},
                                                           clk.now(), 2});
  REQUIRE(preview.ok());
  CHECK(preview->fires == std::vector<instant>{clk.now() + 90s, clk.now() + 180s});
  auto health = ask<health_report>(client.sys, admin, health_request{});
  REQUIRE(health.ok());
  CHECK(health->active == 1);
  CHECK(ask<job_state>(client.sys, admin, get_request{"nobody"}).code() == errc::not_found);
  CHECK(ask<run_page>(client.sys, admin, runs_request{id, 5})->runs.empty());
  (*sched)->stop(0s);
  server.sys.middleman().unpublish((*sched)->admin(), *port);
}
