#include "tools/edge/json_reader.hpp"
#include "tools/edge/json_writer.hpp"

// The projections' own reader of audit entries and runs: the writer's JSON must stay readable by
// it.
#include "projections/history.hpp"

// What the JSON leaves to the decider, judged by it.
#include "events/decide.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using namespace almanac;
using namespace almanac::tools;

namespace {

instant at(const char* text) { return *parse_instant(text); }

json full_body() {
  return json::parse(R"({
    "name": "nightly-report",
    "schedule": {"kind": "cron", "cron": "30 2 * * *", "tz": "Europe/Berlin"},
    "target": {"kind": "exec", "argv": ["/usr/bin/report", "--all"], "env": {"A": "1"}, "cwd": "/tmp"},
    "policies": {"max_consecutive_errors": 3, "backoff": ["10s", "1m"], "timeout": "90s",
                 "misfire": "catch_up:4", "overlap": "buffer_one", "group": "reports",
                 "jitter": "5s", "delete_after_run": false}
  })");
}

// A POST body as the daemon judges it: the reader checks its shape, then decide what it means
// for a new job (the name's length, the target's secret names, the policies' ranges).
result<job_spec> judged(const json& body) {
  auto spec = parse_job_spec(body);
  if (!spec)
    return spec;
  auto now = at("2026-01-01T00:00:00Z");
  auto decided = decide(job_state{},
                        command{create_job{job_id{1}, spec->name, spec->sched, spec->what,
                                           spec->policies},
                                "user:test", ""},
                        now);
  if (!decided)
    return std::move(decided).err();
  return spec;
}

} // namespace

TEST_CASE("a POST body parses into a job spec with every field", "[tools]") {
  auto spec = parse_job_spec(full_body());
  REQUIRE(spec.ok());
  CHECK(spec->name == "nightly-report");
  auto* c = std::get_if<cron_schedule>(&spec->sched);
  REQUIRE(c);
  CHECK(c->expr == "30 2 * * *");
  CHECK(c->zone == "Europe/Berlin");
  auto* e = std::get_if<exec_target>(&spec->what);
  REQUIRE(e);
  CHECK(e->argv == std::vector<std::string>{"/usr/bin/report", "--all"});
  CHECK(e->env.at("A") == "1");
  CHECK(e->cwd == "/tmp");
  CHECK(spec->policies.max_consecutive_errors == 3u);
  CHECK(spec->policies.backoff == std::vector<duration>{std::chrono::seconds{10}, std::chrono::minutes{1}});
  CHECK(spec->policies.timeout == std::chrono::seconds{90});
  CHECK(spec->policies.misfire == misfire_policy::catch_up);
  CHECK(spec->policies.catch_up_limit == 4u);
  CHECK(spec->policies.overlap == overlap_policy::buffer_one);
  CHECK(spec->policies.group == "reports");
  CHECK(spec->policies.jitter == std::chrono::seconds{5});
}

TEST_CASE("schedules and targets round-trip through JSON", "[tools]") {
  auto s = GENERATE(schedule{at_schedule{at("2030-01-02T03:04:05Z")}},
                    schedule{every_schedule{std::chrono::seconds{90}, at("2030-01-01T00:00:00Z"),
                                            every_anchor::after_run_end}},
                    schedule{*make_cron("*/5 * * * *", "America/New_York")});
  auto back = parse_schedule(schedule_to_json(s));
  REQUIRE(back.ok());
  CHECK(*back == s);
  auto t = GENERATE(target{exec_target{{"a", "b c"}, {{"K", "V"}}, "/"}},
                    target{http_target{"PUT", "https://example.com/x", {{"H", "v"}}, "body"}},
                    target{handler_target{"h", "p"}});
  auto tb = parse_target(target_to_json(t));
  REQUIRE(tb.ok());
  CHECK(*tb == t);
}

TEST_CASE("secret references round-trip through JSON as references", "[tools]") {
  auto t = parse_target(json::parse(R"({"kind": "exec", "argv": ["x"], "env": {
    "PLAIN": "1", "DB": {"from_file": "db"}, "KEY": {"from_env": "BILLING_KEY"}}})"));
  REQUIRE(t.ok());
  auto& e = std::get<exec_target>(*t);
  CHECK(e.env == std::map<std::string, std::string>{{"PLAIN", "1"}});
  CHECK(e.secret_env.at("DB") == secret_ref{secret_source::file, "db"});
  CHECK(e.secret_env.at("KEY") == secret_ref{secret_source::env, "BILLING_KEY"});
  auto j = target_to_json(*t);
  CHECK(j["env"] == json::parse(R"({"PLAIN": "1", "DB": {"from_file": "db"},
                                    "KEY": {"from_env": "BILLING_KEY"}})"));
  auto back = parse_target(j);
  REQUIRE(back.ok());
  CHECK(*back == *t);
  http_target h{"POST", "https://example.com/x", {{"X-Plain", "v"}}, "",
                {{"Authorization", {secret_source::env, "HOOK_AUTH"}}}};
  auto hj = target_to_json(h);
  CHECK(hj["headers"]["Authorization"] == json{{"from_env", "HOOK_AUTH"}});
  auto hb = parse_target(hj);
  REQUIRE(hb.ok());
  CHECK(*hb == target{h});
}

TEST_CASE("policies round-trip through JSON", "[tools]") {
  job_policies p;
  p.max_consecutive_errors = 4;
  p.backoff = {std::chrono::milliseconds{250}, std::chrono::hours{1}};
  p.timeout = std::chrono::minutes{5};
  p.misfire = misfire_policy::skip;
  p.overlap = overlap_policy::allow;
  p.group = "g";
  p.jitter = std::chrono::seconds{3};
  p.end_at = at("2031-01-01T00:00:00Z");
  p.max_runs = 12;
  p.delete_after_run = true;
  auto back = parse_policies(policies_to_json(p));
  REQUIRE(back.ok());
  CHECK(*back == p);
}

TEST_CASE("bad POST bodies are refused naming the field", "[tools]") {
  struct row {
    const char* edit;
    const char* field;
    errc code;
  };
  auto r = GENERATE(row{R"({"extra": 1})", "extra: unknown field", errc::invalid_input},
                    row{R"({"name": 5})", "name: must be a string", errc::invalid_input},
                    row{R"({"name": ""})", "name:", errc::invalid_input},
                    row{R"({"schedule": {"kind": "every", "every": "9x"}})", "schedule.every:",
                        errc::invalid_input},
                    row{R"({"schedule": {"kind": "every", "every": 90}})",
                        "schedule.every: must be a string", errc::invalid_input},
                    row{R"({"schedule": {"kind": "every", "every": "0s"}})", "schedule.every:",
                        errc::invalid_schedule},
                    row{R"({"schedule": {"kind": "cron", "cron": "61 * * * *"}})",
                        "schedule.cron:", errc::invalid_schedule},
                    row{R"({"schedule": {"kind": "cron", "cron": "* * * * *", "tz": "Mars/Base"}})",
                        "schedule.cron:", errc::unknown_zone},
                    row{R"({"schedule": {"kind": "weekly"}})", "schedule.kind:", errc::invalid_input},
                    row{R"({"schedule": {"kind": "at", "at": "yesterday"}})", "schedule.at:",
                        errc::invalid_input},
                    row{R"({"schedule": {"kind": "at", "at": "2030-01-01T00:00:00Z", "tz": "UTC"}})",
                        "schedule.tz: does not apply", errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": []}})", "target.argv:",
                        errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x", 1]}})", "target.argv[1]:",
                        errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "url": "u"}})",
                        "target.url: does not apply", errc::invalid_input},
                    row{R"({"target": {"kind": "http", "url": "http://x", "method": "BREW"}})",
                        "target.method:", errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": 1}}})",
                        "target.env.K: must be a string", errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_vault": "v"}}}})",
                        "target.env.K.from_vault: unknown field", errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_env": "A", "from_file": "b"}}}})",
                        "target.env.K: must be a string", errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_env": 5}}}})",
                        "target.env.K.from_env: must be a string", errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_env": "ALMANAC_TOKEN"}}}})",
                        "target: exec target: env K: from_env 'ALMANAC_TOKEN': ALMANAC_ variables",
                        errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_env": "A-B"}}}})",
                        "target: exec target: env K: from_env 'A-B' is not a variable name",
                        errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_file": "../etc/shadow"}}}})",
                        "target: exec target: env K: from_file '../etc/shadow' must be a plain file name",
                        errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_file": ".."}}}})",
                        "target: exec target: env K: from_file '..' must be", errc::invalid_input},
                    row{R"({"target": {"kind": "exec", "argv": ["x"], "env": {"K": {"from_file": ""}}}})",
                        "target: exec target: env K: the reference's name must be 1 to 255",
                        errc::invalid_input},
                    row{R"({"target": {"kind": "http", "url": "http://x", "headers": {"A": "1", "a": {"from_env": "V"}}}})",
                        "target: http target: header a is given both", errc::invalid_input},
                    row{R"({"policies": {"timeout": "forever"}})", "policies.timeout:",
                        errc::invalid_input},
                    row{R"({"policies": {"max_consecutive_errors": -1}})",
                        "policies.max_consecutive_errors:", errc::invalid_input},
                    row{R"({"policies": {"max_consecutive_errors": 0}})", "policies:",
                        errc::invalid_input},
                    row{R"({"policies": {"misfire": "sometimes"}})", "policies.misfire:",
                        errc::invalid_input},
                    row{R"({"policies": {"delete_after_run": "yes"}})",
                        "policies.delete_after_run: must be true or false", errc::invalid_input},
                    row{R"({"policies": {"colour": "red"}})", "policies.colour: unknown field",
                        errc::invalid_input});
  auto body = full_body();
  body.merge_patch(json::parse(r.edit));
  // merge_patch merges nested objects: the tests mean to replace them.
  auto edit = json::parse(r.edit);
  for (auto& [k, v] : edit.items())
    body[k] = v;
  auto spec = judged(body);
  CAPTURE(r.edit);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.err().code == r.code);
  CHECK_THAT(spec.err().message, Catch::StartsWith(r.field));
}

TEST_CASE("a POST body without a required field is refused", "[tools]") {
  auto key = GENERATE("name", "schedule", "target");
  auto body = full_body();
  body.erase(key);
  auto spec = parse_job_spec(body);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.err().message == std::string{key} + ": is required");
  CHECK_FALSE(parse_job_spec(json::array()).ok());
}

TEST_CASE("a PATCH body changes only what it names", "[tools]") {
  job_policies current;
  current.max_consecutive_errors = 7;
  current.group = "keep";
  current.max_runs = 3;
  auto u = parse_update(
    json::parse(R"({"policies": {"timeout": "1m", "max_runs": null}, "name": "renamed"})"));
  REQUIRE(u.ok());
  CHECK(u->name == "renamed");
  CHECK_FALSE(u->sched);
  CHECK_FALSE(u->what);
  // The policies travel as a patch of the two fields named, merged when the update is decided.
  CHECK_FALSE(u->policies);
  CHECK(u->policy_changes.timeout == std::chrono::minutes{1});
  REQUIRE(u->policy_changes.max_runs);
  CHECK_FALSE(*u->policy_changes.max_runs);
  CHECK_FALSE(u->policy_changes.group);
  CHECK_FALSE(u->policy_changes.max_consecutive_errors);
  auto merged = merge(current, u->policy_changes);
  CHECK(merged.timeout == std::chrono::minutes{1});
  CHECK(merged.max_consecutive_errors == 7u);
  CHECK(merged.group == "keep");
  CHECK_FALSE(merged.max_runs);
  CHECK_FALSE(parse_update(json::object()).ok());
  CHECK_FALSE(parse_update(json::parse(R"({"status": "paused"})")).ok());
}

TEST_CASE("the job object has the fields scripts rely on", "[tools]") {
  job_state s;
  s.id = job_id{0x2a1};
  s.seq = 5;
  s.name = "j";
  s.sched = every_schedule{std::chrono::seconds{1}, at("2030-01-01T00:00:00Z")};
  s.what = exec_target{{"false"}, {}, {}};
  s.status = job_status::failed;
  s.consecutive_errors = 3;
  s.last_error = "exit status 1";
  s.last_run = last_run_info{3, false, "exit status 1", at("2030-01-01T00:00:03Z"),
                             at("2030-01-01T00:00:03.5Z")};
  auto j = job_to_json(s);
  CHECK(j["id"] == "00000000000002a1");
  CHECK(j["status"] == "failed");
  CHECK(j["next_run_at"].is_null());
  CHECK(j["consecutive_errors"] == 3);
  CHECK(j["schedule"]["kind"] == "every");
  CHECK(j["schedule"]["every"] == "1s");
  CHECK(j["last_run"]["outcome"] == "failed");
  CHECK(j["last_run"]["error"] == "exit status 1");
  CHECK(j["last_run"]["started_at"] == "2030-01-01T00:00:03Z");
  CHECK(j["last_run"]["finished_at"] == "2030-01-01T00:00:03.500Z");
  s.next_run_at = at("2030-01-01T00:01:00Z");
  s.last_run.reset();
  auto k = job_to_json(s);
  CHECK(k["next_run_at"] == "2030-01-01T00:01:00Z");
  CHECK(k["last_run"].is_null());
}

TEST_CASE("audit entries and run records in JSON round-trip", "[tools]") {
  audit_entry a{12, at("2030-01-01T00:00:00Z"), job_id{5}, "j", "resume:force", "failed",
                "active", "user:ops", "n", "cleared 3 errors"};
  auto j = audit_to_json(a);
  CHECK(j["action"] == "resume:force");
  CHECK(j["from_status"] == "failed");
  CHECK(j["to_status"] == "active");
  CHECK(j["job_id"] == "0000000000000005");
  CHECK(j["job_name"] == "j");
  auto back = j.get<audit_entry>();
  CHECK(back.action == a.action);
  CHECK(back.at == a.at);
  run_record r;
  r.job = job_id{5};
  r.run_id = 2;
  r.outcome = "failed";
  r.error = "exit status 1";
  auto rj = run_to_json(r);
  CHECK(rj["outcome"] == "failed");
  CHECK(rj["finished_at"].is_null());
}
