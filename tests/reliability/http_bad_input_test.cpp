// Bad input through the HTTP door: the daemon's routes (tools/http_api.cpp) on a real socket in
// front of the scheduler of bad_input_setup.hpp. Each row is one request a careless or hostile
// client sends: bodies that are not JSON or not objects, wrong JSON types, unknown fields, force
// as a string, malformed schedules, oversized payloads and bodies, huge headers, unknown ids and
// routes, commands the job's status refuses. Each must get its HTTP status, the error code in
// the JSON body and a message naming what to fix, and none may leave a trace in the log.
#include "bad_input_setup.hpp"

#include "tools/http_api.hpp"
#include "tools/job_json.hpp"

#include <httplib.h>

#include <thread>

namespace almanac::reliability {
namespace {

using tools::json;

// The scheduler with the HTTP API on a free loopback port.
struct http_setup {
  table_setup t;
  std::unique_ptr<tools::http_server> server;
  int port = 0;

  http_setup() {
    tools::http_server_options o;
    auto started = tools::http_server::start(
      o, tools::make_http_api(t.f.sys, *t.f.sched, {}));
    REQUIRE(started.ok());
    server = std::move(*started);
    port = server->port();
    REQUIRE(port > 0);
  }

  ~http_setup() { server->stop(); }
};

struct http_row {
  std::string method;
  std::string path;
  std::string body;
  int status;
  std::string code;     // the "error" field of the JSON answer
  std::string key_word; // in the "message" field
  httplib::Headers headers = {};
};

std::string create_body(const json& schedule, const json& target = {{"kind", "handler"},
                                                                     {"name", "record"}},
                        const json& extra = json::object()) {
  json j{{"name", "fresh"}, {"schedule", schedule}, {"target", target}};
  for (auto& [k, v] : extra.items())
    j[k] = v;
  return j.dump();
}

std::string cron(const std::string& expr, const std::string& tz = "UTC") {
  return create_body({{"kind", "cron"}, {"cron", expr}, {"tz", tz}});
}

std::string every(const json& interval) {
  return create_body({{"kind", "every"}, {"every", interval}});
}

const json hourly{{"kind", "every"}, {"every", "1h"}};

std::string with_policies(const json& p) {
  return create_body(hourly, {{"kind", "handler"}, {"name", "record"}}, {{"policies", p}});
}

std::vector<http_row> table() {
  std::vector<http_row> rows;
  auto post = [&](std::string path, std::string body, int status, std::string code,
                  std::string key_word) {
    rows.push_back({"POST", std::move(path), std::move(body), status, std::move(code),
                    std::move(key_word)});
  };
  auto create = [&](std::string body, std::string key_word, std::string code = "invalid_input",
                    int status = 400) {
    post("/api/jobs", std::move(body), status, std::move(code), std::move(key_word));
  };
  // Bodies that are not a job.
  create("not json at all", "not valid JSON");
  create("{\"name\": \"x\",", "not valid JSON");
  create("", "object");
  create("[1, 2, 3]", "object");
  create("\"a string\"", "object");
  create(R"({"schedule": {"kind": "every", "every": "1h"}, "target": {"kind": "handler", "name": "record"}})",
         "name");
  create(R"({"name": "x", "target": {"kind": "handler", "name": "record"}})", "schedule");
  create(R"({"name": "x", "schedule": {"kind": "every", "every": "1h"}})", "target");
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}}, {{"color", "red"}}),
         "color: unknown field");
  // Wrong JSON types.
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}}, {{"name", 42}}), "name");
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}}, {{"name", nullptr}}),
         "name");
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}}, {{"policies", "fast"}}),
         "policies");
  create(every(3600), "schedule.every");
  create(create_body("every hour"), "schedule");
  // Names.
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}}, {{"name", ""}}), "name");
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}},
                     {{"name", std::string(300, 'n')}}),
         "name");
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}}, {{"name", "DAILY"}}),
         "already exists", "name_taken", 409);
  // Cron, every field, and zones.
  create(cron("60 * * * *"), "minute: 60 is outside 0-59", "invalid_schedule");
  create(cron("* 24 * * *"), "hour: 24 is outside 0-23", "invalid_schedule");
  create(cron("* * 32 * *"), "day-of-month: 32 is outside 1-31", "invalid_schedule");
  create(cron("* * * 13 *"), "month: 13 is outside 1-12", "invalid_schedule");
  create(cron("* * * * 8"), "day-of-week: 8 is outside 0-7", "invalid_schedule");
  create(cron("* * *"), "field", "invalid_schedule");
  create(cron("0 0 30 2 *"), "never", "invalid_schedule");
  create(cron("0 9 * * *", "Mars/Olympus_Mons"), "Mars/Olympus_Mons", "unknown_zone");
  create(cron("0 9 * * *", ""), "zone", "unknown_zone");
  // Intervals and instants.
  create(every("0s"), "every", "invalid_schedule");
  create(every("-5s"), "every");
  create(every("99999999999999999999d"), "every");
  create(every("9x"), "invalid duration '9x'");
  create(every("400d"), "every", "invalid_schedule");
  create(create_body({{"kind", "at"}, {"at", "2020-01-01T00:00:00Z"}}), "past", "invalid_schedule");
  create(create_body({{"kind", "at"}, {"at", "tomorrow"}}), "schedule.at");
  create(create_body({{"kind", "weekly"}}), "is not at, every or cron");
  // Targets.
  create(create_body(hourly, {{"kind", "exec"}, {"argv", json::array()}}), "argv");
  create(create_body(hourly, {{"kind", "exec"}, {"argv", "/bin/true"}}), "argv");
  create(create_body(hourly, {{"kind", "http"}, {"url", "ftp://example.com/x"}}), "url");
  create(create_body(hourly, {{"kind", "carrier-pigeon"}}), "kind");
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"},
                              {"payload", std::string(max_payload_bytes + 1, 'x')}}),
         "the limit is 32768 bytes (32 KiB)");
  create(create_body(hourly, {{"kind", "handler"}, {"name", "record"}, {"argv", {"x"}}}),
         "does not apply");
  // Policies.
  create(with_policies({{"max_consecutive_errors", -1}}), "max_consecutive_errors");
  create(with_policies({{"max_consecutive_errors", "ten"}}), "max_consecutive_errors");
  create(with_policies({{"overlap", "sometimes"}}), "overlap");
  create(with_policies({{"misfire", 3}}), "misfire");
  create(with_policies({{"timeout", "-1s"}}), "timeout");
  create(with_policies({{"speed", "fast"}}), "speed");
  // A body over the server's limit.
  create(std::string(tools::max_http_body + 1, ' '), "over", "payload_too_large", 413);
  // Changes to existing jobs.
  auto patch = [&](std::string path, std::string body, int status, std::string code,
                   std::string key_word) {
    rows.push_back({"PATCH", std::move(path), std::move(body), status, std::move(code),
                    std::move(key_word)});
  };
  patch("/api/jobs/daily", "{}", 400, "invalid_input", "names no field");
  patch("/api/jobs/daily", "nope", 400, "invalid_input", "not valid JSON");
  patch("/api/jobs/daily", R"({"schedule": {"kind": "every", "every": "0s"}})", 400,
        "invalid_schedule", "every");
  patch("/api/jobs/daily", R"({"name": "Paused-Job"})", 409, "name_taken", "already exists");
  patch("/api/jobs/daily", R"({"status": "paused"})", 400, "invalid_input", "status");
  patch("/api/jobs/no-such-job", R"({"name": "x"})", 404, "not_found", "no-such-job");
  // Actions: bodies, force, and what the status refuses.
  post("/api/jobs/failed-job/resume", R"({"force": "yes"})", 400, "invalid_input",
       "force: must be true or false");
  post("/api/jobs/failed-job/resume", R"({"force": 1})", 400, "invalid_input", "force");
  post("/api/jobs/failed-job/resume", R"({"forced": true})", 400, "invalid_input",
       "forced: unknown field");
  post("/api/jobs/failed-job/resume", "[true]", 400, "invalid_input", "object");
  post("/api/jobs/failed-job/resume", "", 409, "failed_needs_force", "force");
  post("/api/jobs/done-job/resume", R"({"force": true})", 409, "refused_status", "completed");
  post("/api/jobs/done-job/run", "", 409, "refused_status", "completed");
  post("/api/jobs/paused-job/run", "", 409, "refused_status", "paused");
  post("/api/jobs/failed-job/run", "", 409, "refused_status", "failed");
  post("/api/jobs/daily/pause", R"({"force": true})", 400, "invalid_input", "force");
  post("/api/jobs/daily/pause", R"({"note": 5})", 400, "invalid_input", "note: must be a string");
  post("/api/jobs/no-such-job/pause", "", 404, "not_found", "no-such-job");
  post("/api/jobs/0000000000000000/resume", "", 404, "not_found", "0000000000000000");
  post("/api/jobs/daily/explode", "", 404, "not_found", "no route");
  rows.push_back({"DELETE", "/api/jobs/no-such-job", "", 404, "not_found", "no-such-job"});
  rows.push_back({"PUT", "/api/jobs", "{}", 405, "method_not_allowed", "allowed: GET, POST"});
  rows.push_back({"GET", "/api/jobs?limit=0", "", 400, "invalid_input", "limit"});
  rows.push_back({"GET", "/api/jobs?limit=ten", "", 400, "invalid_input", "limit"});
  rows.push_back({"GET", "/api/jobs?limit=1001", "", 400, "invalid_input", "1-1000"});
  rows.push_back({"GET", "/api/jobs?cursor=nonsense", "", 400, "invalid_input", "cursor"});
  rows.push_back({"GET", "/api/jobs?cursor=a0000000000000001", "", 400, "invalid_input",
                  "not a cursor of the jobs list"});
  rows.push_back({"GET", "/api/jobs/daily/audit?cursor=j0000000000000001", "", 400,
                  "invalid_input", "cursor"});
  rows.push_back({"GET", "/api/jobs/daily/runs?limit=5000", "", 400, "invalid_input", "limit"});
  rows.push_back({"GET", "/api/jobs/no-such-job/audit", "", 404, "not_found", "no-such-job"});
  post("/api/preview", R"({"schedule": {"kind": "cron", "cron": "61 * * * *", "tz": "UTC"}})",
       400, "invalid_schedule", "minute");
  post("/api/preview", R"({"schedule": {"kind": "every", "every": "1h"}, "count": 0})", 400,
       "invalid_input", "count");
  // The actor reaches operators' terminals through the audit trail: no control characters (a
  // tab is the one HTTP lets through in a header value).
  rows.push_back({"POST", "/api/jobs/daily/pause", "", 400, "invalid_input",
                  "actor contains a control character", {{"X-Almanac-Actor", "evil\tname"}}});
  // A header far over what any client sends: refused by the server (16 KiB of request line and
  // headers) before any route, with a 400.
  rows.push_back({"POST", "/api/jobs/daily/pause", "", 400, "", "",
                  {{"X-Almanac-Actor", std::string(64 * 1024, 'a')}}});
  return rows;
}

const std::vector<http_row>& rows() {
  static const auto r = table();
  return r;
}

TEST_CASE("the HTTP table has at least 60 bad requests", "[reliability]") {
  CHECK(rows().size() >= 60);
}

TEST_CASE("every bad HTTP request gets its status and a clear error and writes nothing",
          "[reliability]") {
  static std::unique_ptr<http_setup> setup;
  auto index = GENERATE(range(std::size_t{0}, rows().size()));
  const auto& row = rows()[index];
  INFO("row " << index << ": " << row.method << " " << row.path << " "
              << row.body.substr(0, 120));
  if (!setup)
    setup = std::make_unique<http_setup>();
  auto& s = *setup;
  httplib::Client client{"127.0.0.1", s.port};
  client.set_read_timeout(10, 0);
  auto res = client.send([&] {
    httplib::Request req;
    req.method = row.method;
    req.path = row.path;
    req.headers = row.headers;
    if (!row.body.empty() || row.method != "GET") {
      req.body = row.body;
      req.set_header("Content-Type", "application/json");
    }
    return req;
  }());
  REQUIRE(res);
  INFO("answered " << res->status << ": " << res->body.substr(0, 300));
  CHECK(res->status == row.status);
  if (!row.code.empty()) {
    auto j = json::parse(res->body, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j.value("error", "") == row.code);
    CHECK_THAT(j.value("message", ""), Catch::Contains(row.key_word));
  }
  auto now = fingerprint(scheduler_testing::log(*s.t.f.sched));
  CHECK(now == s.t.baseline);
  if (index + 1 == rows().size())
    setup.reset();
}

} // namespace
} // namespace almanac::reliability
