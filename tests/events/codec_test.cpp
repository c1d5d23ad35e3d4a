// Every event type survives encode and decode; bad bytes are errors that name job and sequence.
#include "events/codec.hpp"
#include "job_fixture.hpp"

#include <set>
#include <utility>
#include <vector>

using namespace almanac;
using namespace almanac::test;

namespace {

event_body sample(std::size_t index) {
  auto t = at("2026-05-01T10:00:00.250Z");
  job_policies p;
  p.misfire = misfire_policy::catch_up;
  p.backoff = {5s, 1min};
  p.end_at = t + 24h;
  p.group = "billing";
  auto cron = make_cron("0 9 * * MON-FRI", "Europe/Berlin");
  REQUIRE(cron.ok());
  switch (index) {
    case 0:
      return job_created{"nightly", *cron,
                         exec_target{{"/bin/echo", "hi"}, {{"A", "1"}}, "/tmp",
                                     {{"DB_PASSWORD", {secret_source::file, "db"}},
                                      {"API_KEY", {secret_source::env, "BILLING_KEY"}}}},
                         p, "user:alice", t};
    case 1:
      return job_updated{std::string{"renamed"}, every_schedule{90s, t, every_anchor::after_run_end},
                         http_target{"POST", "http://127.0.0.1:9/x", {{"X-K", "v"}}, "{}",
                                     {{"Authorization", {secret_source::env, "HOOK_AUTH"}}}},
                         std::nullopt, t + 1min};
    case 2: return job_paused{};
    case 3: return job_resumed{t};
    case 4: return job_revived{10, t + 30s};
    case 5: return run_started{7, t, run_trigger::retry, std::nullopt};
    case 6: return run_succeeded{7, 1500ms, "ok\n", t + 1h};
    case 7: return run_failed{8, "exit 1", 3, t + 5min, 2s, "stderr tail"};
    case 8: return run_skipped{t, skip_reason::misfire, t + 1h};
    case 9: return run_queued{t, std::nullopt};
    case 10: return run_abandoned{9, "daemon resource: pipe2: Too many open files", t, 4};
    case 11: return job_failed{10, "exit 1"};
    case 12: return job_completed{};
    case 13: return job_deleted{};
    case 14: return log_salvaged{"/d/000004.log", "Corruption: checksum mismatch", 9723, 20, 200,
                                 "/d/salvage-20261201T091854Z"};
  }
  FAIL("no sample for index " << index);
  return job_paused{};
}

event make_event(std::size_t index) {
  return event{event_envelope{job_id{0xabcdef}, index + 1, at("2026-05-01T10:00:01Z"), "user:bob",
                              "why not", "resume:force"},
               sample(index)};
}

} // namespace

TEST_CASE("every event type round-trips through the codec", "[events]") {
  auto index = GENERATE(range<std::size_t>(0, std::variant_size_v<event_body>));
  auto e = make_event(index);
  auto bytes = encode_event(e);
  auto back = decode_event(bytes);
  INFO(event_name(e.body));
  REQUIRE(back.ok());
  CHECK(back->body.index() == e.body.index());
  CHECK(back->env.job == e.env.job);
  CHECK(back->env.seq == e.env.seq);
  CHECK(back->env.recorded_at == e.env.recorded_at);
  CHECK(back->env.actor == e.env.actor);
  CHECK(back->env.note == e.env.note);
  CHECK(back->env.cause == "resume:force");
  // Re-encoding the decoded event gives the same bytes: no field is lost.
  CHECK(encode_event(*back) == bytes);
  CHECK_FALSE(event_name(e.body).empty());
}

TEST_CASE("event names are the stable names written in the codec", "[events]") {
  CHECK(event_name(job_revived{}) == "JobRevived");
  CHECK(event_name(run_abandoned{}) == "RunAbandoned");
  CHECK(event_tag(job_created{}) == 1);
  CHECK(event_tag(job_deleted{}) == 14);
  CHECK(event_tag(log_salvaged{}) == 15);
  CHECK(event_name(log_salvaged{}) == "LogSalvaged");
}

TEST_CASE("every event type has its own written-down tag and name", "[events]") {
  // The table of the disk format, independent of event_body's order: a test that fails when a
  // tag or a name is changed, or an alternative loses its tag.
  const std::vector<std::pair<event_body, std::pair<std::uint16_t, std::string_view>>> table{
    {job_created{}, {1, "JobCreated"}},     {job_updated{}, {2, "JobUpdated"}},
    {job_paused{}, {3, "JobPaused"}},       {job_resumed{}, {4, "JobResumed"}},
    {job_revived{}, {5, "JobRevived"}},     {run_started{}, {6, "RunStarted"}},
    {run_succeeded{}, {7, "RunSucceeded"}}, {run_failed{}, {8, "RunFailed"}},
    {run_skipped{}, {9, "RunSkipped"}},     {run_queued{}, {10, "RunQueued"}},
    {run_abandoned{}, {11, "RunAbandoned"}}, {job_failed{}, {12, "JobFailed"}},
    {job_completed{}, {13, "JobCompleted"}}, {job_deleted{}, {14, "JobDeleted"}},
    {log_salvaged{}, {15, "LogSalvaged"}}};
  CHECK(table.size() == std::variant_size_v<event_body>);
  std::set<std::size_t> alternatives;
  for (const auto& [body, expected] : table) {
    alternatives.insert(body.index());
    CHECK(event_tag(body) == expected.first);
    CHECK(event_name(body) == expected.second);
    CHECK(event_name_of_tag(expected.first) == expected.second);
  }
  CHECK(alternatives.size() == std::variant_size_v<event_body>);
}

TEST_CASE("decoding an unknown type tag names the job and sequence", "[events]") {
  auto bytes = encode_event(make_event(2));
  bytes[1] = static_cast<char>(200);
  auto r = decode_event(bytes);
  CHECK(r.code() == errc::unknown_event);
  CHECK_THAT(r.err().message, Catch::Contains("0000000000abcdef") && Catch::Contains("seq 3"));
}

// Written by the version 1 codec (before RunAbandoned.infra_failures and
// job_state.consecutive_infra_failures existed): a log of that version must replay unchanged.
TEST_CASE("a version 1 RunAbandoned decodes unchanged with no infra failures", "[events]") {
  const std::string v1{
    "\x01\x0b\x00\x01\xef\xcd\xab\x00\x00\x00\x00\x00\x0b\x00\x00\x00\x00\x00\x00\x00\x40\xea\xe8"
    "\xa4\xbe\x50\x06\x00\x06\x00\x00\x00\x00\x00\x00\x00\x73\x79\x73\x74\x65\x6d\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x11\x00\x00\x00\x00\x00\x00\x00\x61\x62\x61\x6e\x64\x6f\x6e\x5f\x69\x6e\x5f"
    "\x66\x6c\x69\x67\x68\x74\x09\x00\x00\x00\x00\x00\x00\x00\x13\x00\x00\x00\x00\x00\x00\x00\x73"
    "\x63\x68\x65\x64\x75\x6c\x65\x72\x20\x72\x65\x73\x74\x61\x72\x74\x65\x64\x00\x90\x78\xdd\xa4"
    "\xbe\x50\x06\x00",
    119};
  auto r = decode_event(v1);
  REQUIRE(r.ok());
  CHECK(r->env.job == job_id{0xabcdef});
  CHECK(r->env.seq == 11);
  CHECK(r->env.cause == "abandon_in_flight");
  auto& a = std::get<run_abandoned>(r->body);
  CHECK(a.run_id == 9);
  CHECK(a.reason == "scheduler restarted");
  CHECK(a.next_run_at == at("2026-05-01T10:00:00.250Z"));
  CHECK(a.infra_failures == 0);
  // Cut short it is corrupt, as before: the old layout is read exactly, not loosely.
  CHECK(decode_event(v1.substr(0, v1.size() - 1)).code() == errc::corrupt_event);
  // The current version writes the new field: the v1 bytes with the version byte bumped lack it.
  auto bumped = v1;
  bumped[0] = static_cast<char>(codec_version);
  CHECK(decode_event(bumped).code() == errc::corrupt_event);
}

TEST_CASE("a version 1 snapshot decodes unchanged with no infra failures", "[events]") {
  const std::string v1{
    "\xa5\x01\x01\xef\xcd\xab\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00"
    "\x00\x00\x00\x00\x00\x6f\x6c\x64\x02\x80\x4a\x5d\x05\x00\x00\x00\x00\x90\x78\xdd\xa4\xbe\x50"
    "\x06\x00\x00\x01\x06\x00\x00\x00\x00\x00\x00\x00\x72\x65\x63\x6f\x72\x64\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x87\x93\x03\x00\x00\x00\x00\x01\x01\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x75\x73\x65\x72\x3a\x61\x6c\x69"
    "\x63\x65\x90\x78\xdd\xa4\xbe\x50\x06\x00\x90\x78\xdd\xa4\xbe\x50\x06\x00\x00\x00\x10\xc3\x3a"
    "\xaa\xbe\x50\x06\x00\x02\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00\x65\x78\x69\x74\x20\x31"
    "\x02\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x01\x01",
    214};
  auto r = decode_state(v1);
  REQUIRE(r.ok());
  CHECK(r->id == job_id{0xabcdef});
  CHECK(r->seq == 3);
  CHECK(r->name == "old");
  CHECK(r->consecutive_errors == 2);
  CHECK(r->last_error == "exit 1");
  CHECK(r->runs_started == 2);
  CHECK(r->next_run_at == at("2026-05-01T10:01:30.250Z"));
  CHECK(r->consecutive_infra_failures == 0);
  // Written again it is a current snapshot that keeps every field.
  auto again = decode_state(encode_state(*r));
  REQUIRE(again.ok());
  CHECK(encode_state(*again) == encode_state(*r));
}

TEST_CASE("secret references of exec and http targets round-trip through the codec", "[events]") {
  auto created = decode_event(encode_event(make_event(0)));
  REQUIRE(created.ok());
  auto& e = std::get<exec_target>(std::get<job_created>(created->body).what);
  CHECK(e.env == std::map<std::string, std::string>{{"A", "1"}});
  REQUIRE(e.secret_env.size() == 2);
  CHECK(e.secret_env.at("DB_PASSWORD") == secret_ref{secret_source::file, "db"});
  CHECK(e.secret_env.at("API_KEY") == secret_ref{secret_source::env, "BILLING_KEY"});
  auto updated = decode_event(encode_event(make_event(1)));
  REQUIRE(updated.ok());
  auto& h = std::get<http_target>(*std::get<job_updated>(updated->body).what);
  CHECK(h.secret_headers
        == std::map<std::string, secret_ref>{{"Authorization", {secret_source::env, "HOOK_AUTH"}}});
  // Snapshots carry them too.
  job_state s;
  s.id = job_id{7};
  s.what = std::get<job_created>(created->body).what;
  auto back = decode_state(encode_state(s));
  REQUIRE(back.ok());
  CHECK(back->what == s.what);
}

TEST_CASE("a secret reference with an unknown source is corrupt", "[events]") {
  job_created c{"j", every_schedule{60s, {}, {}},
                exec_target{{"x"}, {}, {}, {{"K", {secret_source::file, "f"}}}}, {}, "user:a", {}};
  auto bytes = encode_event(event{event_envelope{job_id{1}, 1, {}, "user:a", "", ""}, c});
  // The source byte sits just before the reference's name: u64 length 1, then "f".
  auto at_name = bytes.rfind(std::string{"\x01\0\0\0\0\0\0\0f", 9});
  REQUIRE(at_name != std::string::npos);
  REQUIRE(bytes[at_name - 1] == 1);
  bytes[at_name - 1] = 9;
  CHECK(decode_event(bytes).code() == errc::corrupt_event);
}

// Written by the version 2 codec (before secret references existed): a JobCreated with an exec
// target and a JobUpdated with an http target replay unchanged, with no secrets.
TEST_CASE("version 2 exec and http targets decode unchanged with no secret references", "[events]") {
  const std::string v2_exec{
    "\x02\x01\x00\x01\xef\xcd\xab\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xa8\xd9"
    "\xa4\xbe\x50\x06\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x75\x73\x65\x72\x3a\x61\x6c\x69\x63\x65"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
    "\x00\x6f\x6c\x64\x2d\x65\x78\x65\x63\x02\x00\x87\x93\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x2f\x62"
    "\x69\x6e\x2f\x65\x63\x68\x6f\x02\x00\x00\x00\x00\x00\x00\x00\x68\x69\x01\x00\x00\x00\x00\x00"
    "\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x41\x01\x00\x00\x00\x00\x00\x00\x00\x31\x04\x00\x00"
    "\x00\x00\x00\x00\x00\x2f\x74\x6d\x70\x00\x0a\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x87\x93\x03\x00\x00"
    "\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x75\x73"
    "\x65\x72\x3a\x61\x6c\x69\x63\x65\x00\x00\xa8\xd9\xa4\xbe\x50\x06\x00",
    247};
  const std::string v2_http{
    "\x02\x02\x00\x01\xef\xcd\xab\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\xa8\xd9"
    "\xa4\xbe\x50\x06\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x75\x73\x65\x72\x3a\x61\x6c\x69\x63\x65"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x00\x03\x04\x00\x00"
    "\x00\x00\x00\x00\x00\x50\x4f\x53\x54\x14\x00\x00\x00\x00\x00\x00\x00\x68\x74\x74\x70\x3a\x2f"
    "\x2f\x31\x32\x37\x2e\x30\x2e\x30\x2e\x31\x3a\x39\x2f\x78\x01\x00\x00\x00\x00\x00\x00\x00\x03"
    "\x00\x00\x00\x00\x00\x00\x00\x58\x2d\x4b\x01\x00\x00\x00\x00\x00\x00\x00\x76\x02\x00\x00\x00"
    "\x00\x00\x00\x00\x7b\x7d\x01\x00\x00\xa8\xd9\xa4\xbe\x50\x06\x00",
    154};
  auto created = decode_event(v2_exec);
  REQUIRE(created.ok());
  CHECK(created->env.seq == 1);
  auto& c = std::get<job_created>(created->body);
  CHECK(c.name == "old-exec");
  CHECK(c.created_by == "user:alice");
  CHECK(c.what == target{exec_target{{"/bin/echo", "hi"}, {{"A", "1"}}, "/tmp"}});
  auto updated = decode_event(v2_http);
  REQUIRE(updated.ok());
  auto& u = std::get<job_updated>(updated->body);
  REQUIRE(u.what);
  CHECK(*u.what == target{http_target{"POST", "http://127.0.0.1:9/x", {{"X-K", "v"}}, "{}"}});
  CHECK(u.next_run_at == at("2026-05-01T10:00:00Z"));
  // The old layout is read exactly: cut short it is corrupt, and read as the current version
  // (which has the secret maps) it is corrupt too.
  CHECK(decode_event(v2_exec.substr(0, v2_exec.size() - 1)).code() == errc::corrupt_event);
  for (auto bumped : {v2_exec, v2_http}) {
    bumped[0] = static_cast<char>(codec_version);
    CHECK(decode_event(bumped).code() == errc::corrupt_event);
  }
  // Written again it is a current event that keeps every field.
  auto again = decode_event(encode_event(*created));
  REQUIRE(again.ok());
  CHECK(std::get<job_created>(again->body).what == c.what);
}

TEST_CASE("decoding a newer format version is refused", "[events]") {
  auto bytes = encode_event(make_event(0));
  bytes[0] = static_cast<char>(codec_version + 1);
  auto r = decode_event(bytes);
  CHECK(r.code() == errc::newer_format);
  CHECK_THAT(r.err().message, Catch::Contains("seq 1"));
}

TEST_CASE("truncated or padded events are corrupt, never valid", "[events]") {
  auto bytes = encode_event(make_event(0));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_event(std::string_view{bytes}.substr(0, n));
    INFO("prefix of " << n << " bytes");
    CHECK(r.code() == errc::corrupt_event);
  }
  CHECK(decode_event(bytes + "x").code() == errc::corrupt_event);
}

TEST_CASE("a cron event whose zone is unknown here fails with unknown_zone", "[events]") {
  auto e = make_event(0);
  std::get<cron_schedule>(std::get<job_created>(e.body).sched).zone = "Mars/Olympus_Mons";
  auto r = decode_event(encode_event(e));
  CHECK(r.code() == errc::unknown_zone);
}

TEST_CASE("a job state snapshot round-trips", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::allow;
  job.create_every(1min, p);
  job.fire();
  job.finish(job.fire(), false);
  job.fire();
  auto bytes = encode_state(job.state);
  auto back = decode_state(bytes);
  REQUIRE(back.ok());
  CHECK(encode_state(*back) == bytes);
  CHECK(back->in_flight.size() == job.state.in_flight.size());
  CHECK(back->consecutive_errors == 1);
  CHECK(back->next_run_at == job.state.next_run_at);
  job.finish(job.state.in_flight.back().run_id, false);
  job.ok(run_finished{job.state.in_flight.back().run_id, false, "EMFILE", 0s, {}, true});
  REQUIRE(job.state.consecutive_infra_failures == 1);
  auto infra = decode_state(encode_state(job.state));
  REQUIRE(infra.ok());
  CHECK(infra->consecutive_infra_failures == 1);
  CHECK(decode_state(bytes.substr(0, bytes.size() / 2)).code() == errc::corrupt_event);
  CHECK(decode_state("").code() == errc::corrupt_event);
}

TEST_CASE("replaying the log from a snapshot gives the same state as from the start", "[events]") {
  job_fixture job;
  job.create_every(1min);
  for (int i = 0; i < 5; ++i)
    job.finish(job.fire(), i % 2 == 0);
  auto mid = job.state;
  auto mid_seq = mid.seq;
  job.ok(pause_job{});
  job.ok(resume_job{});
  auto full = replay(job_state{}, job.log);
  auto snap = decode_state(encode_state(mid));
  REQUIRE(snap.ok());
  std::vector<event> tail(job.log.begin() + static_cast<long>(mid_seq), job.log.end());
  auto from_snapshot = replay(*snap, tail);
  CHECK(encode_state(full) == encode_state(job.state));
  CHECK(encode_state(from_snapshot) == encode_state(job.state));
}
