// Bad input through the admin actor's door, the one every client (CLI, HTTP, embedders, peers)
// ends at: a table of malformed schedules, unknown zones, impossible intervals, missing or
// duplicate names, oversized payloads, bad policies and commands the job's status does not
// allow. Each row must be refused with its own errc and a message naming what to fix, and none
// may leave a trace: the whole log is compared, byte for byte, with its state before the row.
//
// The rows share one scheduler (built by the first row, torn down by the last), so that the log
// checked after the last row is the log every row was sent to.
#include "bad_input_setup.hpp"

#include <limits>
#include <thread>

namespace almanac::reliability {
namespace {

// The refusal of a request, or nothing when it was (wrongly) accepted.
using outcome = std::optional<error>;

template <class Reply, class Request>
outcome refusal(table_setup& t, Request req) {
  auto r = t.f.ask<Reply>(std::move(req));
  if (r.ok())
    return std::nullopt;
  return std::move(r).err();
}

struct bad_input {
  std::string what;
  std::function<outcome(table_setup&)> send;
  errc expected;
  std::string key_word;
};

outcome create(table_setup& t, schedule s, job_policies p = {},
               target what = handler_target{"record", ""}, std::string name = "fresh") {
  return refusal<job_state>(t, create_request{job_spec{std::move(name), std::move(s),
                                                       std::move(what), std::move(p)},
                                              "user:mallory", ""});
}

outcome create_cron(table_setup& t, std::string expr, std::string zone = "UTC") {
  cron_schedule c;
  c.expr = std::move(expr);
  c.zone = std::move(zone);
  return create(t, std::move(c));
}

outcome create_every(table_setup& t, duration interval) {
  return create(t, every_schedule{interval, t.f.clk.now()});
}

outcome create_with(table_setup& t, job_policies p) {
  return create(t, every_schedule{1h, t.f.clk.now()}, std::move(p));
}

outcome create_target(table_setup& t, target what) {
  return create(t, every_schedule{1h, t.f.clk.now()}, {}, std::move(what));
}

outcome create_named(table_setup& t, std::string name) {
  return create(t, every_schedule{1h, t.f.clk.now()}, {}, handler_target{"record", ""},
                std::move(name));
}

outcome update(table_setup& t, std::string job, update_job changes) {
  return refusal<job_state>(t, update_request{std::move(job), std::move(changes), "user:mallory",
                                              ""});
}

outcome preview(table_setup& t, schedule s, std::uint32_t count) {
  return refusal<preview_result>(t, preview_request{std::move(s), t.f.clk.now(), count});
}

job_policies with(auto change) {
  job_policies p;
  change(p);
  return p;
}

const std::string over_32k(max_payload_bytes + 1, 'x');

std::vector<bad_input> table() {
  using e = errc;
  std::vector<bad_input> rows;
  auto cron_row = [&](std::string expr, std::string key_word, e code = e::invalid_schedule) {
    rows.push_back({"cron '" + expr + "'", [expr](table_setup& t) { return create_cron(t, expr); },
                    code, std::move(key_word)});
  };
  // Cron, every field.
  cron_row("60 * * * *", "minute: 60 is outside 0-59");
  cron_row("-1 * * * *", "minute");
  cron_row("99999999999999999999 * * * *", "minute");
  cron_row("* 24 * * *", "hour: 24 is outside 0-23");
  cron_row("* * 0 * *", "day-of-month: 0 is outside 1-31");
  cron_row("* * 32 * *", "day-of-month: 32 is outside 1-31");
  cron_row("* * * 13 *", "month: 13 is outside 1-12");
  cron_row("* * * 0 *", "month: 0 is outside 1-12");
  cron_row("* * * * 8", "day-of-week: 8 is outside 0-7");
  cron_row("61 * * * * *", "second: 61 is outside 0-59");
  cron_row("30-10 * * * *", "minute: range 30-10 is reversed");
  cron_row("* 5-2 * * *", "hour: range 5-2 is reversed");
  cron_row("* * * DEC-JAN *", "month: range");
  cron_row("*/0 * * * *", "minute");
  cron_row("* * */0 * *", "day-of-month");
  cron_row("1,,2 * * * *", "minute: empty list item");
  cron_row("* * * * 1,", "day-of-week: empty list item");
  cron_row("* * * *", "expected 5 fields");
  cron_row("* * * * * * *", "expected 5 fields");
  cron_row("", "expected 5 fields");
  cron_row("* * * FOO *", "month: unknown name 'FOO'");
  cron_row("* * * * FUNDAY", "day-of-week");
  cron_row("@fortnightly", "unknown nickname");
  cron_row("5x * * * *", "minute: unexpected 'x'");
  cron_row("0 0 * * * junk", "day-of-week");
  cron_row("* * * * 1#6", "day-of-week");
  cron_row("0 0 30 2 *", "never fires");
  cron_row("0 0 31 4,6,9,11 *", "never fires");
  // Zones.
  for (std::string zone : {"Mars/Base", "", "../../etc/passwd", "Europe/Berlinn", "UTC+25"})
    rows.push_back({"zone '" + zone + "'",
                    [zone](table_setup& t) { return create_cron(t, "0 9 * * *", zone); },
                    e::unknown_zone, "unknown time zone"});
  // Intervals and instants.
  rows.push_back({"every 0", [](table_setup& t) { return create_every(t, 0s); },
                  e::invalid_schedule, "interval"});
  rows.push_back({"every -1s", [](table_setup& t) { return create_every(t, -1s); },
                  e::invalid_schedule, "interval"});
  rows.push_back({"every 367 days",
                  [](table_setup& t) { return create_every(t, std::chrono::hours{24 * 367}); },
                  e::invalid_schedule, "maximum"});
  rows.push_back({"every duration max",
                  [](table_setup& t) { return create_every(t, duration::max()); },
                  e::invalid_schedule, "maximum"});
  rows.push_back({"every duration min",
                  [](table_setup& t) { return create_every(t, duration::min()); },
                  e::invalid_schedule, "interval"});
  rows.push_back({"at one second ago",
                  [](table_setup& t) { return create(t, at_schedule{t.f.clk.now() - 1s}); },
                  e::invalid_schedule, "in the past"});
  rows.push_back({"at now", [](table_setup& t) { return create(t, at_schedule{t.f.clk.now()}); },
                  e::invalid_schedule, "in the past"});
  rows.push_back({"at the epoch", [](table_setup& t) { return create(t, at_schedule{}); },
                  e::invalid_schedule, "in the past"});
  // Ids and names.
  rows.push_back({"pause of an empty id",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"", "user:mallory", ""});
                  },
                  e::invalid_input, "no job id or name"});
  rows.push_back({"pause of an unknown name",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"ghost", "user:mallory", ""});
                  },
                  e::not_found, "ghost"});
  rows.push_back({"resume of an unknown id",
                  [](table_setup& t) {
                    return refusal<job_state>(
                      t, resume_request{"00000000deadbeef", true, "user:mallory", ""});
                  },
                  e::not_found, "00000000deadbeef"});
  rows.push_back({"delete of an empty id",
                  [](table_setup& t) {
                    return refusal<job_state>(t, delete_request{"", "user:mallory", ""});
                  },
                  e::invalid_input, "no job id or name"});
  rows.push_back({"delete of an unknown name",
                  [](table_setup& t) {
                    return refusal<job_state>(t, delete_request{"ghost", "user:mallory", ""});
                  },
                  e::not_found, "ghost"});
  rows.push_back({"run now of an unknown name",
                  [](table_setup& t) {
                    return refusal<job_state>(t, run_now_request{"ghost", "user:mallory", ""});
                  },
                  e::not_found, "ghost"});
  rows.push_back({"get of an empty id",
                  [](table_setup& t) { return refusal<job_state>(t, get_request{""}); },
                  e::invalid_input, "no job id or name"});
  rows.push_back({"update of an unknown name",
                  [](table_setup& t) {
                    return update(t, "ghost", update_job{"new-name", {}, {}, {}});
                  },
                  e::not_found, "ghost"});
  rows.push_back({"create with an empty name", [](table_setup& t) { return create_named(t, ""); },
                  e::invalid_input, "name is empty"});
  rows.push_back({"create with a 201 byte name",
                  [](table_setup& t) { return create_named(t, std::string(201, 'n')); },
                  e::invalid_input, "the limit is 200"});
  rows.push_back({"create with a 100 kB name",
                  [](table_setup& t) { return create_named(t, std::string(100'000, 'n')); },
                  e::invalid_input, "the limit is 200"});
  rows.push_back({"create with a newline in the name",
                  [](table_setup& t) { return create_named(t, "two\nlines"); },
                  e::invalid_input, "control character"});
  rows.push_back({"create with a name that is not UTF-8",
                  [](table_setup& t) { return create_named(t, "bad\xff\xfename"); },
                  e::invalid_input, "not valid UTF-8"});
  // Actors and notes reach operators' terminals through the audit trail.
  rows.push_back({"pause by an actor with a terminal escape",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"daily", "user:\x1b[2J", ""});
                  },
                  e::invalid_input, "the actor contains a control character"});
  rows.push_back({"pause by a 201 byte actor",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"daily", std::string(201, 'a'), ""});
                  },
                  e::invalid_input, "the limit is 200"});
  rows.push_back({"pause with a note holding a terminal escape",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"daily", "user:mallory",
                                                               "fine\x1b]0;pwned\x07"});
                  },
                  e::invalid_input, "the note contains a control character"});
  rows.push_back({"pause with a note that is not UTF-8",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"daily", "user:mallory", "\xc3\x28"});
                  },
                  e::invalid_input, "the note is not valid UTF-8"});
  rows.push_back({"pause with a 5000 byte note",
                  [](table_setup& t) {
                    return refusal<job_state>(
                      t, pause_request{"daily", "user:mallory", std::string(5000, 'n')});
                  },
                  e::invalid_input, "the limit is 4096"});
  rows.push_back({"create with a taken name", [](table_setup& t) { return create_named(t, "daily"); },
                  e::name_taken, "already exists"});
  rows.push_back({"create with a taken name in other case",
                  [](table_setup& t) { return create_named(t, "DAILY"); }, e::name_taken,
                  "already exists"});
  rows.push_back({"rename to a taken name in other case",
                  [](table_setup& t) {
                    return update(t, "paused-job", update_job{"Daily", {}, {}, {}});
                  },
                  e::name_taken, "already exists"});
  // Targets.
  rows.push_back({"handler payload over 32 KiB",
                  [](table_setup& t) { return create_target(t, handler_target{"record", over_32k}); },
                  e::invalid_input, "32 KiB"});
  rows.push_back({"exec argv over 32 KiB",
                  [](table_setup& t) {
                    return create_target(t, exec_target{{"/bin/echo", over_32k}, {}, ""});
                  },
                  e::invalid_input, "32 KiB"});
  rows.push_back({"exec environment over 32 KiB",
                  [](table_setup& t) {
                    return create_target(t, exec_target{{"/bin/true"}, {{"BIG", over_32k}}, ""});
                  },
                  e::invalid_input, "32 KiB"});
  rows.push_back({"http body over 32 KiB",
                  [](table_setup& t) {
                    return create_target(t, http_target{"POST", "https://example.com/", {},
                                                        over_32k});
                  },
                  e::invalid_input, "32 KiB"});
  rows.push_back({"http headers over 32 KiB",
                  [](table_setup& t) {
                    return create_target(
                      t, http_target{"POST", "https://example.com/", {{"X-Big", over_32k}}, ""});
                  },
                  e::invalid_input, "32 KiB"});
  rows.push_back({"exec with empty argv",
                  [](table_setup& t) { return create_target(t, exec_target{{}, {}, ""}); },
                  e::invalid_input, "argv is empty"});
  rows.push_back({"exec with an empty program",
                  [](table_setup& t) { return create_target(t, exec_target{{""}, {}, ""}); },
                  e::invalid_input, "argv is empty"});
  rows.push_back({"http with an ftp url",
                  [](table_setup& t) {
                    return create_target(t, http_target{"GET", "ftp://example.com/x", {}, ""});
                  },
                  e::invalid_input, "must start with http"});
  rows.push_back({"http with an empty url",
                  [](table_setup& t) { return create_target(t, http_target{"GET", "", {}, ""}); },
                  e::invalid_input, "must start with http"});
  rows.push_back({"http with an unknown method",
                  [](table_setup& t) {
                    return create_target(t, http_target{"FETCH", "https://example.com/", {}, ""});
                  },
                  e::invalid_input, "unknown method 'FETCH'"});
  rows.push_back({"handler with an empty name",
                  [](table_setup& t) { return create_target(t, handler_target{"", "x"}); },
                  e::invalid_input, "handler name is empty"});
  // Policies.
  rows.push_back({"zero max consecutive errors",
                  [](table_setup& t) {
                    return create_with(t, with([](job_policies& p) { p.max_consecutive_errors = 0; }));
                  },
                  e::invalid_input, "max_consecutive_errors"});
  rows.push_back({"negative timeout",
                  [](table_setup& t) {
                    return create_with(t, with([](job_policies& p) { p.timeout = -1s; }));
                  },
                  e::invalid_input, "timeout"});
  rows.push_back({"zero backoff step",
                  [](table_setup& t) {
                    return create_with(t, with([](job_policies& p) { p.backoff = {0s}; }));
                  },
                  e::invalid_input, "backoff"});
  rows.push_back({"negative backoff step after a good one",
                  [](table_setup& t) {
                    return create_with(t, with([](job_policies& p) { p.backoff = {30s, -1s}; }));
                  },
                  e::invalid_input, "backoff"});
  rows.push_back({"zero max runs",
                  [](table_setup& t) {
                    return create_with(t, with([](job_policies& p) { p.max_runs = 0; }));
                  },
                  e::invalid_input, "max_runs"});
  rows.push_back({"negative jitter",
                  [](table_setup& t) {
                    return create_with(t, with([](job_policies& p) { p.jitter = -1s; }));
                  },
                  e::invalid_input, "jitter"});
  rows.push_back({"negative misfire grace",
                  [](table_setup& t) {
                    return create_with(t, with([](job_policies& p) { p.misfire_grace = -1s; }));
                  },
                  e::invalid_input, "misfire_grace"});
  rows.push_back({"group name over 200 bytes",
                  [](table_setup& t) {
                    return create_with(t,
                                       with([](job_policies& p) { p.group = std::string(201, 'g'); }));
                  },
                  e::invalid_input, "group"});
  rows.push_back({"end time before the first fire",
                  [](table_setup& t) {
                    auto end = t.f.clk.now() + 1min;
                    return create_with(t, with([end](job_policies& p) { p.end_at = end; }));
                  },
                  e::invalid_schedule, "end time"});
  // Commands the job's status does not allow.
  rows.push_back({"force resume of a completed job",
                  [](table_setup& t) {
                    return refusal<job_state>(t, resume_request{"done-job", true, "user:mallory", ""});
                  },
                  e::refused_status, "completed"});
  rows.push_back({"plain resume of a failed job",
                  [](table_setup& t) {
                    return refusal<job_state>(t,
                                              resume_request{"failed-job", false, "user:mallory", ""});
                  },
                  e::failed_needs_force, "force"});
  rows.push_back({"run now of a paused job",
                  [](table_setup& t) {
                    return refusal<job_state>(t, run_now_request{"paused-job", "user:mallory", ""});
                  },
                  e::refused_status, "active"});
  rows.push_back({"run now of a failed job",
                  [](table_setup& t) {
                    return refusal<job_state>(t, run_now_request{"failed-job", "user:mallory", ""});
                  },
                  e::refused_status, "active"});
  rows.push_back({"pause of a paused job",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"paused-job", "user:mallory", ""});
                  },
                  e::refused_status, "already paused"});
  rows.push_back({"pause of a failed job",
                  [](table_setup& t) {
                    return refusal<job_state>(t, pause_request{"failed-job", "user:mallory", ""});
                  },
                  e::refused_status, "only active jobs"});
  rows.push_back({"resume of an active job",
                  [](table_setup& t) {
                    return refusal<job_state>(t, resume_request{"daily", false, "user:mallory", ""});
                  },
                  e::refused_status, "already active"});
  rows.push_back({"update of a completed job",
                  [](table_setup& t) { return update(t, "done-job", update_job{"x", {}, {}, {}}); },
                  e::refused_status, "completed"});
  rows.push_back({"update that changes nothing",
                  [](table_setup& t) { return update(t, "daily", update_job{}); },
                  e::invalid_input, "changes nothing"});
  rows.push_back({"update to a malformed cron",
                  [](table_setup& t) {
                    cron_schedule c;
                    c.expr = "0 25 * * *";
                    return update(t, "daily", update_job{{}, schedule{c}, {}, {}});
                  },
                  e::invalid_schedule, "hour: 25 is outside 0-23"});
  rows.push_back({"update to a payload over 32 KiB",
                  [](table_setup& t) {
                    return update(t, "daily",
                                  update_job{{}, {}, target{handler_target{"record", over_32k}}, {}});
                  },
                  e::invalid_input, "32 KiB"});
  rows.push_back({"update to zero max runs",
                  [](table_setup& t) {
                    return update(t, "daily",
                                  update_job{{}, {}, {},
                                             with([](job_policies& p) { p.max_runs = 0; })});
                  },
                  e::invalid_input, "max_runs"});
  // Read-only requests.
  rows.push_back({"preview of 1001 fires",
                  [](table_setup& t) { return preview(t, every_schedule{1h, t.f.clk.now()}, 1001); },
                  e::invalid_input, "limit of 1000"});
  rows.push_back({"preview of 4 billion fires",
                  [](table_setup& t) {
                    return preview(t, every_schedule{1h, t.f.clk.now()},
                                   std::numeric_limits<std::uint32_t>::max());
                  },
                  e::invalid_input, "limit of 1000"});
  rows.push_back({"preview of a malformed cron",
                  [](table_setup& t) {
                    cron_schedule c;
                    c.expr = "* * * * 9";
                    return preview(t, c, 5);
                  },
                  e::invalid_schedule, "day-of-week"});
  rows.push_back({"preview in an unknown zone",
                  [](table_setup& t) {
                    cron_schedule c;
                    c.expr = "0 9 * * *";
                    c.zone = "Atlantis/Capital";
                    return preview(t, c, 5);
                  },
                  e::unknown_zone, "Atlantis/Capital"});
  rows.push_back({"list by an unknown status",
                  [](table_setup& t) {
                    return refusal<job_list>(t, list_request{"sleeping", "", 10});
                  },
                  e::invalid_input, "unknown job status"});
  return rows;
}

const std::vector<bad_input>& rows() {
  static const auto all = table();
  return all;
}

TEST_CASE("the table has at least 60 bad inputs", "[reliability]") {
  CHECK(rows().size() >= 60);
}

TEST_CASE("every bad admin request is refused with its errc and a clear message and writes nothing",
          "[reliability]") {
  static std::unique_ptr<table_setup> setup;
  auto index = GENERATE(range(std::size_t{0}, rows().size()));
  const auto& row = rows()[index];
  INFO("row " << index << ": " << row.what);
  if (!setup)
    setup = std::make_unique<table_setup>();
  auto& t = *setup;
  auto got = row.send(t);
  if (!got) {
    // Accepted: the log moved on; take the new state as the baseline so later rows stay honest.
    t.baseline = fingerprint(scheduler_testing::log(*t.f.sched));
    FAIL("accepted, expected " << to_string(row.expected));
  }
  INFO("refused with " << to_string(got->code) << ": " << got->message);
  CHECK(got->code == row.expected);
  CHECK_THAT(got->message, Catch::Contains(row.key_word));
  auto now = fingerprint(scheduler_testing::log(*t.f.sched));
  CHECK(now.highest_position == t.baseline.highest_position);
  CHECK(now == t.baseline);
  if (index + 1 == rows().size()) {
    // The log after the whole table, through a fresh open as well.
    auto final_log = fingerprint(scheduler_testing::log(*t.f.sched));
    setup.reset();
    CHECK(final_log.events.size() >= 8);
  }
}

} // namespace
} // namespace almanac::reliability
