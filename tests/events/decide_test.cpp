// The job state machine, one named case per rule of the foundation issue.
#include "job_fixture.hpp"

using namespace almanac;
using namespace almanac::test;

TEST_CASE("create makes an active job whose first every fire is one interval later", "[events]") {
  job_fixture job;
  job.create_every(90s);
  CHECK(job.state.status == job_status::active);
  REQUIRE(job.state.next_run_at);
  CHECK(*job.state.next_run_at == job.now + 90s);
  REQUIRE(job.log.size() == 1);
  CHECK(job.log[0].env.seq == 1);
  CHECK(job.log[0].env.job == job_id{42});
  CHECK(job.log[0].env.actor == "user:alice");
  CHECK(std::get<job_created>(job.log[0].body).created_by == "user:alice");
}

TEST_CASE("create computes the first cron fire in the job zone", "[events]") {
  job_fixture job;
  job.now = at("2026-03-07T12:00:00Z");
  auto cron = make_cron("30 2 * * *", "America/New_York");
  REQUIRE(cron.ok());
  job.create(*cron);
  CHECK(job.state.next_run_at == at("2026-03-08T07:30:00Z"));
}

TEST_CASE("create refuses bad input and writes nothing", "[events]") {
  job_fixture job;
  auto create = [&](std::string name, schedule sched, target what) {
    return job.send(create_job{job_id{1}, std::move(name), std::move(sched), std::move(what), {}});
  };
  handler_target noop{"noop", ""};
  SECTION("an at instant in the past") {
    auto r = create("x", at_schedule{job.now - 1s}, noop);
    CHECK(r.code() == errc::invalid_schedule);
  }
  SECTION("a zero interval") {
    auto r = create("x", every_schedule{0s, {}, every_anchor::grid}, noop);
    CHECK(r.code() == errc::invalid_schedule);
  }
  SECTION("an empty name") {
    auto r = create("", every_schedule{1s, {}, every_anchor::grid}, noop);
    CHECK(r.code() == errc::invalid_input);
  }
  SECTION("a name of 201 bytes") {
    auto r = create(std::string(201, 'n'), every_schedule{1s, {}, every_anchor::grid}, noop);
    CHECK(r.code() == errc::invalid_input);
    CHECK_THAT(r.err().message, Catch::Contains("200"));
  }
  SECTION("a payload over 32 KiB") {
    auto r = create("x", every_schedule{1s, {}, every_anchor::grid},
                    handler_target{"noop", std::string(32 * 1024 + 1, 'p')});
    CHECK(r.code() == errc::invalid_input);
    CHECK_THAT(r.err().message, Catch::Contains("32 KiB"));
  }
  SECTION("an exec target without argv") {
    auto r = create("x", every_schedule{1s, {}, every_anchor::grid}, exec_target{});
    CHECK(r.code() == errc::invalid_input);
  }
  CHECK(job.log.empty());
  CHECK(job.state.seq == 0);
}

TEST_CASE("a name of exactly 200 bytes and a payload of exactly 32 KiB are accepted", "[events]") {
  job_fixture job;
  auto r = job.send(create_job{job_id{1}, std::string(200, 'n'), every_schedule{1s, {}, {}},
                               handler_target{"h", std::string(32 * 1024 - 1, 'p')}, {}});
  CHECK(r.ok());
}

TEST_CASE("create refuses an id that already exists", "[events]") {
  job_fixture job;
  job.create_every(1min);
  auto r = job.send(create_job{job_id{42}, "again", every_schedule{1s, {}, {}},
                               handler_target{"noop", ""}, {}});
  CHECK(r.code() == errc::conflict);
}

TEST_CASE("pause turns an active job paused with its note and no next run", "[events]") {
  job_fixture job;
  job.create_every(1min);
  job.ok(pause_job{}, "maintenance window");
  CHECK(job.state.status == job_status::paused);
  CHECK_FALSE(job.state.next_run_at);
  CHECK(job.log.back().env.note == "maintenance window");
  CHECK(event_name(job.log.back().body) == "JobPaused");
}

TEST_CASE("pause is refused unless the job is active", "[events]") {
  job_fixture job;
  job.create_every(1min);
  job.ok(pause_job{});
  auto again = job.send(pause_job{});
  CHECK(again.code() == errc::refused_status);
  CHECK_THAT(again.err().message, Catch::Contains("already paused"));
}

TEST_CASE("resume without force resumes a paused job from now with errors cleared", "[events]") {
  job_fixture job;
  job.create_every(10min);
  job.finish(job.fire(), false);
  REQUIRE(job.state.consecutive_errors == 1);
  job.ok(pause_job{});
  job.now += 1h + 3min;
  auto events = job.ok(resume_job{false});
  REQUIRE(events.size() == 1);
  auto& resumed = std::get<job_resumed>(events[0].body);
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 0);
  // The grid is kept: created at 00:00 every 10 min, resumed at 01:13 -> 01:20.
  CHECK(resumed.next_run_at == at("2026-03-01T01:20:00Z"));
  CHECK(job.state.next_run_at == resumed.next_run_at);
}

// Drives a job into failed with n consecutive failed scheduled runs.
static void fail_times(job_fixture& job, int n) {
  for (int i = 0; i < n; ++i)
    job.finish(job.fire(), false, "exit 1");
}

TEST_CASE("ten consecutive failures make a job failed with no next run", "[events]") {
  job_fixture job;
  job.create_every(1min);
  fail_times(job, 9);
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 9);
  fail_times(job, 1);
  CHECK(job.state.status == job_status::failed);
  CHECK(job.state.consecutive_errors == 10);
  CHECK_FALSE(job.state.next_run_at);
  auto& failed = job.last<job_failed>();
  CHECK(failed.consecutive_errors == 10);
  CHECK(failed.last_error == "exit 1");
}

TEST_CASE("at jobs fail after three consecutive failures by default", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 1h});
  fail_times(job, 2);
  CHECK(job.state.status == job_status::active);
  fail_times(job, 1);
  CHECK(job.state.status == job_status::failed);
}

TEST_CASE("max_consecutive_errors overrides the default", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_consecutive_errors = 2;
  job.create_every(1min, p);
  fail_times(job, 2);
  CHECK(job.state.status == job_status::failed);
}

TEST_CASE("resume without force refuses a failed job and says to pass force", "[events]") {
  job_fixture job;
  job.create_every(1min);
  fail_times(job, 10);
  auto r = job.send(resume_job{false});
  CHECK(r.code() == errc::failed_needs_force);
  CHECK_THAT(r.err().message, Catch::Contains("force"));
  CHECK(job.state.status == job_status::failed);
}

TEST_CASE("resume with force revives a failed job with JobRevived", "[events]") {
  job_fixture job;
  job.create_every(1min);
  fail_times(job, 10);
  job.now += 2h;
  auto events = job.ok(resume_job{true}, "fixed the disk");
  REQUIRE(events.size() == 1);
  auto& revived = std::get<job_revived>(events[0].body);
  CHECK(revived.cleared_errors == 10);
  REQUIRE(revived.next_run_at);
  CHECK(*revived.next_run_at > job.now);
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 0);
  CHECK(job.state.last_error.empty());
  CHECK(event_name(events[0].body) == "JobRevived");
  CHECK(events[0].env.note == "fixed the disk");
}

TEST_CASE("resume with force on a paused job is a plain resume", "[events]") {
  job_fixture job;
  job.create_every(1min);
  job.ok(pause_job{});
  auto events = job.ok(resume_job{true});
  CHECK(std::holds_alternative<job_resumed>(events[0].body));
}

TEST_CASE("a revived at job whose instant has passed fires once now", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 1min});
  fail_times(job, 3);
  REQUIRE(job.state.status == job_status::failed);
  job.now += 1h;
  auto events = job.ok(resume_job{true});
  auto& revived = std::get<job_revived>(events[0].body);
  CHECK(revived.cleared_errors == 3);
  CHECK(revived.next_run_at == job.now);
}

TEST_CASE("resume of a completed job is refused even with force", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 1min});
  job.finish(job.fire(), true);
  REQUIRE(job.state.status == job_status::completed);
  for (bool force : {false, true}) {
    auto r = job.send(resume_job{force});
    CHECK(r.code() == errc::refused_status);
    CHECK_THAT(r.err().message, Catch::Contains("completed"));
  }
}

TEST_CASE("resume of an active job is refused", "[events]") {
  job_fixture job;
  job.create_every(1min);
  CHECK(job.send(resume_job{false}).code() == errc::refused_status);
  CHECK(job.send(resume_job{true}).code() == errc::refused_status);
}

TEST_CASE("run_now starts a manual run of an active job", "[events]") {
  job_fixture job;
  job.create_every(1h);
  auto before = job.state.next_run_at;
  auto events = job.ok(run_now{});
  auto& started = std::get<run_started>(events[0].body);
  CHECK(started.trigger == run_trigger::manual);
  CHECK(started.scheduled_for == job.now);
  CHECK(job.state.next_run_at == before);
  CHECK(job.state.in_flight.size() == 1);
}

TEST_CASE("run_now is refused for a job that is not active and names its status", "[events]") {
  job_fixture job;
  job.create_every(1min);
  SECTION("paused") {
    job.ok(pause_job{});
    auto r = job.send(run_now{});
    CHECK(r.code() == errc::refused_status);
    CHECK_THAT(r.err().message, Catch::Contains("paused"));
  }
  SECTION("failed") {
    fail_times(job, 10);
    auto r = job.send(run_now{});
    CHECK(r.code() == errc::refused_status);
    CHECK_THAT(r.err().message, Catch::Contains("failed"));
  }
}

TEST_CASE("run_now of a completed job is refused", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 1min});
  job.finish(job.fire(), true);
  auto r = job.send(run_now{});
  CHECK(r.code() == errc::refused_status);
  CHECK_THAT(r.err().message, Catch::Contains("completed"));
}

TEST_CASE("a failed run backs off along the default ladder", "[events]") {
  job_fixture job;
  job.create_every(24h);
  const duration expected[] = {30s, 60s, 5min, 15min, 60min, 60min, 60min};
  for (auto step : expected) {
    auto id = job.fire();
    job.finish(id, false);
    auto& failed = job.last<run_failed>();
    CHECK(failed.next_run_at == job.now + step);
  }
  CHECK(job.state.consecutive_errors == 7);
}

TEST_CASE("a failed cron run retries at the earlier of backoff and the next cron fire", "[events]") {
  job_fixture job;
  job.now = at("2026-03-02T10:00:00Z");
  auto cron = make_cron("*/10 * * * *", "UTC");
  REQUIRE(cron.ok());
  job.create(*cron);
  fail_times(job, 3);
  // The third failure at 10:11:30 backs off 5 min, before the next cron fire.
  CHECK(job.last<run_failed>().next_run_at == at("2026-03-02T10:16:30Z"));
  // The fourth would back off 15 min, but the cron fires at 10:20 first.
  job.finish(job.fire(), false);
  CHECK(job.last<run_failed>().next_run_at == at("2026-03-02T10:20:00Z"));
}

TEST_CASE("a custom backoff ladder repeats its last step", "[events]") {
  job_fixture job;
  job_policies p;
  p.backoff = {5s, 7s};
  job.create_every(24h, p);
  job.finish(job.fire(), false);
  CHECK(job.last<run_failed>().next_run_at == job.now + 5s);
  job.finish(job.fire(), false);
  CHECK(job.last<run_failed>().next_run_at == job.now + 7s);
  job.finish(job.fire(), false);
  CHECK(job.last<run_failed>().next_run_at == job.now + 7s);
}

TEST_CASE("a successful run clears consecutive errors and keeps the grid", "[events]") {
  job_fixture job;
  job.create_every(10min);
  auto created = job.now;
  fail_times(job, 3);
  job.now = created + 2h + 1min;
  job.finish(job.fire(), true);
  CHECK(job.state.consecutive_errors == 0);
  REQUIRE(job.state.next_run_at);
  CHECK((*job.state.next_run_at - created) % 10min == 0s);
}

TEST_CASE("manual runs that fail never push a job towards failed", "[events]") {
  job_fixture job;
  job.create_every(1h);
  for (int i = 0; i < 12; ++i) {
    auto events = job.ok(run_now{});
    job.finish(std::get<run_started>(events[0].body).run_id, false);
  }
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 0);
  CHECK(job.state.last_error == "boom");
}

TEST_CASE("abandoned runs never push a job towards failed", "[events]") {
  job_fixture job;
  job.create_every(1min);
  for (int i = 0; i < 12; ++i) {
    job.fire();
    job.ok(abandon_in_flight{});
  }
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 0);
  CHECK(job.state.in_flight.empty());
}

TEST_CASE("an at job completes after its successful run", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 5min});
  auto id = job.fire();
  CHECK_FALSE(job.state.next_run_at);
  job.finish(id, true);
  CHECK(job.state.status == job_status::completed);
  CHECK(event_name(job.log.back().body) == "JobCompleted");
}

TEST_CASE("delete_after_run completes and deletes the job after success", "[events]") {
  job_fixture job;
  job_policies p;
  p.delete_after_run = true;
  job.create(at_schedule{job.now + 5min}, p);
  job.finish(job.fire(), true);
  CHECK(job.state.status == job_status::completed);
  CHECK(job.state.deleted);
  CHECK(event_name(job.log.back().body) == "JobDeleted");
  CHECK(job.send(run_now{}).code() == errc::not_found);
}

TEST_CASE("a pause that arrives while a run is in flight is kept", "[events]") {
  job_fixture job;
  job.create_every(1min);
  SECTION("when the run succeeds") {
    auto id = job.fire();
    job.ok(pause_job{});
    job.finish(id, true);
  }
  SECTION("when the run fails") {
    auto id = job.fire();
    job.ok(pause_job{});
    job.finish(id, false);
  }
  CHECK(job.state.status == job_status::paused);
  CHECK_FALSE(job.state.next_run_at);
  CHECK(job.state.in_flight.empty());
}

// The names of the events a command produced, in order.
static std::vector<std::string> names_of(const std::vector<event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.emplace_back(event_name(e.body));
  return out;
}

using names = std::vector<std::string>;

TEST_CASE("an at job paused while its run is in flight is completed when the run succeeds", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 5min});
  auto id = job.fire();
  job.ok(pause_job{});
  auto events = job.ok(run_finished{id, true, {}, 1s, {}});
  CHECK(names_of(events) == names{"RunSucceeded", "JobCompleted"});
  CHECK(job.state.status == job_status::completed);
  CHECK_FALSE(job.state.next_run_at);
  // Completed wins over the pause: no resume brings the one-shot back to run a second time.
  CHECK(job.send(resume_job{false}).code() == errc::refused_status);
  CHECK(job.send(resume_job{true}).code() == errc::refused_status);
  CHECK(job.send(run_now{}).code() == errc::refused_status);
}

TEST_CASE("a delete_after_run job paused during its successful run is completed and deleted", "[events]") {
  job_fixture job;
  job_policies p;
  p.delete_after_run = true;
  job.create_every(1min, p);
  auto id = job.fire();
  job.ok(pause_job{});
  auto events = job.ok(run_finished{id, true, {}, 1s, {}});
  CHECK(names_of(events) == names{"RunSucceeded", "JobCompleted", "JobDeleted"});
  CHECK(job.state.deleted);
  CHECK(job.send(resume_job{false}).code() == errc::not_found);
}

TEST_CASE("a paused job whose last allowed run finishes is completed", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_runs = 1;
  job.create_every(1min, p);
  auto id = job.fire();
  job.ok(pause_job{});
  bool ok = GENERATE(true, false);
  INFO("the run succeeds: " << ok);
  auto events = job.ok(run_finished{id, ok, ok ? "" : "exit 1", 1s, {}});
  CHECK(names_of(events) == names{ok ? "RunSucceeded" : "RunFailed", "JobCompleted"});
  CHECK(job.state.status == job_status::completed);
}

TEST_CASE("a scheduled run that fails while its job is paused counts as an error", "[events]") {
  job_fixture job;
  job.create_every(1min);
  job.finish(job.fire(), false);
  REQUIRE(job.state.consecutive_errors == 1);
  auto id = job.fire();
  job.ok(pause_job{});
  auto events = job.ok(run_finished{id, false, "exit 1", 1s, {}});
  REQUIRE(names_of(events) == names{"RunFailed"});
  auto& failed = std::get<run_failed>(events[0].body);
  CHECK(failed.consecutive_errors == 2);
  // No retry while paused: the resume plans from its own instant.
  CHECK_FALSE(failed.next_run_at);
  CHECK(job.state.status == job_status::paused);
  CHECK(job.state.consecutive_errors == 2);
  CHECK(job.state.last_error == "exit 1");
}

TEST_CASE("a paused job whose failing run reaches the threshold is failed", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_consecutive_errors = 3;
  job.create_every(1min, p);
  fail_times(job, 2);
  auto id = job.fire();
  job.ok(pause_job{});
  auto events = job.ok(run_finished{id, false, "exit 1", 1s, {}});
  CHECK(names_of(events) == names{"RunFailed", "JobFailed"});
  CHECK(std::get<run_failed>(events[0].body).consecutive_errors == 3);
  CHECK(job.state.status == job_status::failed);
  CHECK(job.send(resume_job{false}).code() == errc::failed_needs_force);
}

TEST_CASE("a manual run that fails while its job is paused leaves the count alone", "[events]") {
  job_fixture job;
  job.create_every(1h);
  auto manual = std::get<run_started>(job.ok(run_now{})[0].body).run_id;
  job.ok(pause_job{});
  auto events = job.ok(run_finished{manual, false, "exit 1", 1s, {}});
  CHECK(std::get<run_failed>(events[0].body).consecutive_errors == 0);
  CHECK(job.state.status == job_status::paused);
}

TEST_CASE("a failed at job whose concurrent run succeeds is completed", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::allow;
  p.max_consecutive_errors = 1;
  job.create(at_schedule{job.now + 1min}, p);
  auto scheduled = job.fire();
  auto manual = std::get<run_started>(job.ok(run_now{})[0].body).run_id;
  job.finish(scheduled, false);
  REQUIRE(job.state.status == job_status::failed);
  job.finish(manual, true);
  CHECK(job.state.status == job_status::completed);
  CHECK(job.send(resume_job{true}).code() == errc::refused_status);
}

TEST_CASE("an at job completes at its first success even with another run in flight", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::allow;
  job.create(at_schedule{job.now + 1min}, p);
  auto scheduled = job.fire();
  auto manual = std::get<run_started>(job.ok(run_now{})[0].body).run_id;
  job.finish(manual, true);
  CHECK(job.state.status == job_status::completed);
  CHECK(job.state.in_flight.size() == 1);
  CHECK(job.send(run_now{}).code() == errc::refused_status);
  // The other run's failure is recorded and plans no retry of the completed one-shot.
  auto events = job.ok(run_finished{scheduled, false, "exit 1", 1s, {}});
  CHECK(names_of(events) == names{"RunFailed"});
  CHECK_FALSE(job.state.next_run_at);
  CHECK(job.state.status == job_status::completed);
}

TEST_CASE("delete closes every run in flight as abandoned before JobDeleted", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::allow;
  job.create_every(1min, p);
  auto scheduled = job.fire();
  auto manual = std::get<run_started>(job.ok(run_now{})[0].body).run_id;
  auto events = job.ok(delete_job{});
  REQUIRE(names_of(events) == names{"RunAbandoned", "RunAbandoned", "JobDeleted"});
  auto& first = std::get<run_abandoned>(events[0].body);
  auto& second = std::get<run_abandoned>(events[1].body);
  CHECK(first.run_id == scheduled);
  CHECK(second.run_id == manual);
  CHECK(first.reason == "cancelled: job deleted");
  CHECK_FALSE(first.next_run_at);
  CHECK(job.state.in_flight.empty());
  // The cut-off run's late outcome finds no job.
  CHECK(job.send(run_finished{scheduled, true, {}, 1s, {}}).code() == errc::not_found);
}

TEST_CASE("delete_after_run closes the other runs in flight before JobDeleted", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::allow;
  p.delete_after_run = true;
  job.create_every(1min, p);
  auto scheduled = job.fire();
  auto manual = std::get<run_started>(job.ok(run_now{})[0].body).run_id;
  auto events = job.ok(run_finished{manual, true, {}, 1s, {}});
  REQUIRE(names_of(events) == names{"RunSucceeded", "JobCompleted", "RunAbandoned", "JobDeleted"});
  CHECK(std::get<run_abandoned>(events[2].body).run_id == scheduled);
  CHECK(job.state.in_flight.empty());
}

TEST_CASE("a due for a fire the job no longer expects is refused as stale", "[events]") {
  job_fixture job;
  job.create_every(1min);
  auto fire = *job.state.next_run_at;
  job.ok(pause_job{});
  job.now = fire;
  auto r = job.send(due{fire});
  CHECK(r.code() == errc::refused_status);
  CHECK_THAT(r.err().message, Catch::Contains("stale"));
}

TEST_CASE("overlap skip records RunSkipped when a fire comes during a run", "[events]") {
  job_fixture job;
  job.create_every(1min);
  job.fire();
  auto events = job.ok(due{*job.state.next_run_at});
  auto& skipped = std::get<run_skipped>(events[0].body);
  CHECK(skipped.reason == skip_reason::overlap);
  CHECK(job.state.in_flight.size() == 1);
}

TEST_CASE("overlap buffer_one runs the deferred fire when the run ends", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::buffer_one;
  job.create_every(1min, p);
  auto first = job.fire();
  auto deferred = *job.state.next_run_at;
  job.now = deferred;
  auto events = job.ok(due{deferred});
  CHECK(std::holds_alternative<run_queued>(events[0].body));
  job.now += 10s;
  job.finish(first, true);
  auto& started = job.last<run_started>();
  CHECK(started.scheduled_for == deferred);
  CHECK_FALSE(job.state.queued_fire);
  CHECK(job.state.in_flight.size() == 1);
}

TEST_CASE("overlap allow runs fires concurrently", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::allow;
  job.create_every(1min, p);
  job.fire();
  job.fire();
  CHECK(job.state.in_flight.size() == 2);
}

TEST_CASE("misfire fire_once runs one late fire then resumes the schedule", "[events]") {
  job_fixture job;
  job.create_every(1min);
  auto missed = *job.state.next_run_at;
  job.now = missed + 1h;
  auto events = job.ok(due{missed});
  auto& started = std::get<run_started>(events[0].body);
  CHECK(started.trigger == run_trigger::catch_up);
  REQUIRE(started.next_run_at);
  CHECK(*started.next_run_at > job.now);
}

TEST_CASE("misfire skip records RunSkipped and moves to the next future fire", "[events]") {
  job_fixture job;
  job_policies p;
  p.misfire = misfire_policy::skip;
  job.create_every(1min, p);
  auto missed = *job.state.next_run_at;
  job.now = missed + 1h;
  auto events = job.ok(due{missed});
  auto& skipped = std::get<run_skipped>(events[0].body);
  CHECK(skipped.reason == skip_reason::misfire);
  CHECK(*skipped.next_run_at > job.now);
  CHECK(job.state.in_flight.empty());
}

TEST_CASE("misfire catch_up runs each missed fire up to its limit", "[events]") {
  job_fixture job;
  job_policies p;
  p.misfire = misfire_policy::catch_up;
  p.catch_up_limit = 3;
  job.create_every(1min, p);
  auto first_missed = *job.state.next_run_at;
  job.now = first_missed + 10min;
  std::vector<instant> ran;
  for (int i = 0; i < 3; ++i) {
    auto events = job.ok(due{*job.state.next_run_at});
    auto& started = std::get<run_started>(events[0].body);
    CHECK(started.trigger == run_trigger::catch_up);
    ran.push_back(started.scheduled_for);
    job.finish(started.run_id, true);
  }
  CHECK(ran == std::vector<instant>{first_missed, first_missed + 1min, first_missed + 2min});
  REQUIRE(job.state.next_run_at);
  CHECK(*job.state.next_run_at > job.now);
}

TEST_CASE("every after_run_end counts the interval from the end of the run", "[events]") {
  job_fixture job;
  job.create(every_schedule{5min, {}, every_anchor::after_run_end});
  auto id = job.fire();
  CHECK_FALSE(job.state.next_run_at);
  job.now += 37s;
  job.finish(id, true);
  CHECK(job.state.next_run_at == job.now + 5min);
}

TEST_CASE("max_runs completes the job after that many scheduled runs", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_runs = 2;
  job.create_every(1min, p);
  job.finish(job.fire(), true);
  CHECK(job.state.status == job_status::active);
  job.finish(job.fire(), false);
  CHECK(job.state.status == job_status::completed);
}

TEST_CASE("end_at completes the job instead of firing after it", "[events]") {
  job_fixture job;
  job_policies p;
  p.end_at = job.now + 150s;
  job.create_every(1min, p);
  job.finish(job.fire(), true);
  job.finish(job.fire(), true);
  CHECK(job.state.status == job_status::completed);
}

TEST_CASE("delete removes the job and later commands find nothing", "[events]") {
  job_fixture job;
  job.create_every(1min);
  job.ok(delete_job{});
  CHECK(job.state.deleted);
  CHECK_FALSE(job.state.live());
  CHECK(job.send(pause_job{}).code() == errc::not_found);
  CHECK(job.send(delete_job{}).code() == errc::not_found);
}

TEST_CASE("commands to a job that was never created are not_found", "[events]") {
  job_fixture job;
  CHECK(job.send(pause_job{}).code() == errc::not_found);
  CHECK(job.send(run_now{}).code() == errc::not_found);
}

TEST_CASE("update of the schedule re-plans the next fire from now", "[events]") {
  job_fixture job;
  job.create_every(1h);
  job.now += 10min;
  auto events = job.ok(update_job{std::nullopt, every_schedule{1min, {}, every_anchor::grid},
                                  std::nullopt, std::nullopt});
  auto& updated = std::get<job_updated>(events[0].body);
  CHECK(updated.next_run_at == job.now + 1min);
  CHECK_FALSE(updated.name);
}

TEST_CASE("update refuses bad input, empty updates and completed jobs", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 1min});
  CHECK(job.send(update_job{}).code() == errc::invalid_input);
  CHECK(job.send(update_job{std::string{}, {}, {}, {}}).code() == errc::invalid_input);
  CHECK(job.send(update_job{{}, at_schedule{job.now - 1s}, {}, {}}).code()
        == errc::invalid_schedule);
  job.finish(job.fire(), true);
  CHECK(job.send(update_job{std::string{"new"}, {}, {}, {}}).code() == errc::refused_status);
}

TEST_CASE("a policy patch merges onto the policies the job has when it is decided", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_consecutive_errors = 5;
  p.timeout = 30s;
  p.group = "reports";
  p.end_at = job.now + 24h;
  job.create_every(1min, p);
  update_job first;
  first.policy_changes.timeout = 1min;
  auto events = job.ok(first);
  auto& a = std::get<job_updated>(events[0].body);
  REQUIRE(a.policies);
  CHECK(a.policies->timeout == 1min);
  CHECK(a.policies->group == "reports");
  CHECK(a.policies->max_consecutive_errors == 5u);
  // A second client that changes another field keeps the first one's change.
  update_job second;
  second.policy_changes.group = std::string{"nightly"};
  second.policy_changes.end_at = std::optional<instant>{};
  events = job.ok(second);
  auto& b = std::get<job_updated>(events[0].body);
  REQUIRE(b.policies);
  CHECK(b.policies->timeout == 1min);
  CHECK(b.policies->group == "nightly");
  CHECK(b.policies->max_consecutive_errors == 5u);
  CHECK_FALSE(b.policies->end_at);
  CHECK_FALSE(b.name);
  CHECK_FALSE(b.sched);
  CHECK(job.state.policies == *b.policies);
  // The merged policies are checked like whole ones, and a refusal changes nothing.
  update_job bad;
  bad.policy_changes.max_consecutive_errors = std::optional<std::uint32_t>{0};
  auto r = job.send(bad);
  CHECK(r.code() == errc::invalid_input);
  CHECK_THAT(r.err().message, Catch::Contains("max_consecutive_errors"));
  CHECK(job.state.policies == *b.policies);
}

TEST_CASE("a run_finished for a run not in flight is a conflict", "[events]") {
  job_fixture job;
  job.create_every(1min);
  CHECK(job.send(run_finished{7, true, {}, 1s, {}}).code() == errc::conflict);
}

TEST_CASE("an abandoned at run is tried again at once", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 1min});
  job.fire();
  job.now += 1h;
  auto events = job.ok(abandon_in_flight{"scheduler restarted"});
  CHECK(std::get<run_abandoned>(events[0].body).next_run_at == job.now);
  CHECK(job.state.status == job_status::active);
}

TEST_CASE("jitter delays the wake-up deterministically within its bound", "[events]") {
  job_fixture job;
  job_policies p;
  p.jitter = 20s;
  job.create_every(1min, p);
  auto wake = wake_at(job.state);
  REQUIRE(wake);
  CHECK(*wake >= *job.state.next_run_at);
  CHECK(*wake < *job.state.next_run_at + 20s);
  CHECK(wake_at(job.state) == wake);
  p.jitter = 10min; // bounded by the one-minute gap to the next fire
  job.state.policies = p;
  CHECK(*wake_at(job.state) < *job.state.next_run_at + 1min);
}

TEST_CASE("command names tell resume from resume force", "[events]") {
  CHECK(command_name(resume_job{false}) == "resume");
  CHECK(command_name(resume_job{true}) == "resume:force");
  CHECK(command_name(run_now{}) == "run_now");
}

// The daemon's own resources ran short (run_finished::infra): the run is abandoned and retried,
// never counted as the job's failure.
static void infra_fail(job_fixture& job, std::uint64_t run_id,
                       std::string error = "pipe2: Too many open files") {
  job.ok(run_finished{run_id, false, std::move(error), 0s, {}, true});
}

TEST_CASE("a run the daemon could not carry out is abandoned with its reason and keeps the count", "[events]") {
  job_fixture job;
  job.create_every(24h);
  fail_times(job, 2);
  REQUIRE(job.state.consecutive_errors == 2);
  auto finished_before = job.state.scheduled_runs_finished;
  auto id = job.fire();
  infra_fail(job, id);
  auto& abandoned = job.last<run_abandoned>();
  CHECK(abandoned.run_id == id);
  CHECK(abandoned.reason == "daemon resource: pipe2: Too many open files");
  CHECK(abandoned.infra_failures == 1);
  CHECK(abandoned.next_run_at == job.now + 1s);
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 2);
  CHECK(job.state.last_error == "exit 1");
  CHECK(job.state.consecutive_infra_failures == 1);
  CHECK(job.state.scheduled_runs_finished == finished_before);
  CHECK(job.state.in_flight.empty());
  CHECK(job.log.back().env.cause == "run_finished");
}

TEST_CASE("fifty infra failures in a row never fail the job and back off to one a minute", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_consecutive_errors = 3;
  job.create_every(24h, p);
  const duration ladder[] = {1s, 5s, 30s, 60s};
  for (int i = 0; i < 50; ++i) {
    job.now = *job.state.next_run_at;
    auto events = job.ok(due{job.now});
    auto& started = std::get<run_started>(events.back().body);
    // Every attempt after the first is a retry, not a regular timer run.
    CHECK(started.trigger == (i == 0 ? run_trigger::timer : run_trigger::retry));
    infra_fail(job, started.run_id);
    auto& abandoned = job.last<run_abandoned>();
    CHECK(abandoned.infra_failures == static_cast<std::uint32_t>(i + 1));
    CHECK(abandoned.next_run_at == job.now + ladder[std::min(i, 3)]);
  }
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 0);
  CHECK(job.state.consecutive_infra_failures == 50);
  CHECK(job.state.scheduled_runs_finished == 0);
  // The run that finally works is an ordinary success and ends the streak.
  job.finish(job.fire(), true);
  CHECK(job.state.consecutive_infra_failures == 0);
  CHECK(job.state.status == job_status::active);
}

TEST_CASE("a real failure after infra retries counts on from the count before them", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_consecutive_errors = 3;
  job.create_every(24h, p);
  fail_times(job, 1);
  for (int i = 0; i < 5; ++i)
    infra_fail(job, job.fire());
  REQUIRE(job.state.consecutive_errors == 1);
  job.finish(job.fire(), false, "exit 1");
  CHECK(job.state.consecutive_errors == 2);
  CHECK(job.state.consecutive_infra_failures == 0);
  CHECK(job.state.status == job_status::active);
  // Backed off by the job's own ladder at its second step, as if the infra runs never happened.
  CHECK(job.last<run_failed>().next_run_at == job.now + 60s);
  // And the infra ladder starts over at one second after that real outcome.
  infra_fail(job, job.fire());
  CHECK(job.last<run_abandoned>().next_run_at == job.now + 1s);
  job.finish(job.fire(), false, "exit 1");
  CHECK(job.state.status == job_status::failed);
  CHECK(job.state.consecutive_errors == 3);
}

TEST_CASE("an infra retry never waits past the next regular fire", "[events]") {
  job_fixture job;
  job.create_every(10s);
  auto created = job.now;
  infra_fail(job, job.fire());
  infra_fail(job, job.fire());
  // The third step would wait 30 s; the grid fires again first.
  auto id = job.fire();
  job.now += 500ms;
  infra_fail(job, id);
  REQUIRE(job.state.next_run_at);
  CHECK(*job.state.next_run_at < job.now + 30s);
  CHECK((*job.state.next_run_at - created) % 10s == 0s);
  CHECK(*job.state.next_run_at > job.now);
}

TEST_CASE("an infra failure of a paused job schedules nothing and resume runs it again", "[events]") {
  job_fixture job;
  job.create_every(1h);
  auto id = job.fire();
  job.ok(pause_job{});
  infra_fail(job, id);
  CHECK(job.state.status == job_status::paused);
  CHECK_FALSE(job.state.next_run_at);
  CHECK(job.last<run_abandoned>().next_run_at == std::nullopt);
  job.ok(resume_job{});
  CHECK(job.state.next_run_at);
}

TEST_CASE("an infra failure of a manual run leaves the count and is retried", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_consecutive_errors = 2;
  job.create_every(1h, p);
  auto created = job.now;
  fail_times(job, 1);
  for (int i = 0; i < 10; ++i) {
    auto events = job.ok(run_now{});
    infra_fail(job, std::get<run_started>(events[0].body).run_id);
  }
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 1);
  CHECK(job.state.consecutive_infra_failures == 10);
  // The first retry is the earliest: a second later, sooner than the backoff's 30 s.
  CHECK(job.state.next_run_at == job.now + 1s);
  // The retry is a scheduled run in the manual run's place; the grid goes on after it.
  job.now = *job.state.next_run_at;
  auto events = job.ok(due{job.now});
  CHECK(std::get<run_started>(events[0].body).trigger == run_trigger::retry);
  CHECK(job.state.next_run_at == created + 2h);
}

TEST_CASE("a one-shot whose run the daemon could not carry out runs once it can", "[events]") {
  job_fixture job;
  job.create(at_schedule{job.now + 5min});
  for (int i = 0; i < 10; ++i)
    infra_fail(job, job.fire());
  CHECK(job.state.status == job_status::active);
  CHECK(job.state.consecutive_errors == 0);
  job.finish(job.fire(), true);
  CHECK(job.state.status == job_status::completed);
}

TEST_CASE("max_runs does not count runs the daemon could not carry out", "[events]") {
  job_fixture job;
  job_policies p;
  p.max_runs = 2;
  job.create_every(1min, p);
  infra_fail(job, job.fire());
  job.finish(job.fire(), true);
  infra_fail(job, job.fire());
  CHECK(job.state.status == job_status::active);
  job.finish(job.fire(), true);
  CHECK(job.state.status == job_status::completed);
  CHECK(job.state.scheduled_runs_finished == 2);
}

TEST_CASE("an abandon by recovery ends an infra streak", "[events]") {
  job_fixture job;
  job.create_every(24h);
  infra_fail(job, job.fire());
  infra_fail(job, job.fire());
  REQUIRE(job.state.consecutive_infra_failures == 2);
  job.fire();
  job.ok(abandon_in_flight{});
  CHECK(job.last<run_abandoned>().infra_failures == 0);
  CHECK(job.state.consecutive_infra_failures == 0);
}

TEST_CASE("a fire queued behind a run the daemon could not carry out starts after the retry", "[events]") {
  job_fixture job;
  job_policies p;
  p.overlap = overlap_policy::buffer_one;
  job.create_every(1min, p);
  auto first = job.fire();
  auto deferred = *job.state.next_run_at;
  job.now = deferred;
  job.ok(due{deferred});
  REQUIRE(job.state.queued_fire == deferred);
  job.now += 10s;
  infra_fail(job, first);
  // The retry comes first, a second later; the queued fire waits for it.
  CHECK(job.state.next_run_at == job.now + 1s);
  CHECK(job.state.queued_fire == deferred);
  auto retry = job.fire();
  CHECK(job.last<run_started>().trigger == run_trigger::retry);
  job.finish(retry, true);
  auto& started = job.last<run_started>();
  CHECK(started.scheduled_for == deferred);
  CHECK_FALSE(job.state.queued_fire);
}

// time_out_run: the supervisor's clock saw a run pass the job's timeout.
TEST_CASE("a timed-out run fails with reason timeout and counts an error", "[events]") {
  job_fixture job;
  job_policies p;
  p.timeout = 30s;
  job.create_every(1min, p);
  auto run = job.fire();
  auto started = job.now;
  job.now += 31s;
  auto events = job.ok(time_out_run{run, started + 30s});
  REQUIRE(events.size() == 1);
  const auto& failed = std::get<run_failed>(events[0].body);
  CHECK(failed.run_id == run);
  CHECK(failed.error == "timeout: still running after 30s");
  CHECK(failed.error == timeout_reason(30s));
  CHECK(failed.took == 30s);
  CHECK(failed.consecutive_errors == 1);
  CHECK(events[0].env.cause == "time_out_run");
  CHECK(job.state.in_flight.empty());
  CHECK(job.state.consecutive_errors == 1);
  CHECK(job.state.last_error == timeout_reason(30s));
  // The retry follows the backoff ladder, bounded by the next regular fire.
  REQUIRE(job.state.next_run_at);
  CHECK(*job.state.next_run_at <= job.now + 30s);
  // The run's own outcome arrives late: it is refused, nothing changes.
  CHECK(job.send(run_finished{run, true, {}, 40s, {}}).code() == errc::conflict);
  CHECK(job.state.consecutive_errors == 1);
}

TEST_CASE("a timeout is refused for a run that is not in flight or not yet overdue", "[events]") {
  struct row {
    const char* what;
    duration timeout;
    bool finish_first;
    duration after;
  };
  auto r = GENERATE(row{"the run already finished", 30s, true, 31s},
                    row{"the run has not reached its timeout", 30s, false, 29s},
                    row{"the job has no timeout", duration::zero(), false, 1h});
  INFO(r.what);
  job_fixture job;
  job_policies p;
  p.timeout = r.timeout;
  job.create_every(1min, p);
  auto run = job.fire();
  auto started = job.now;
  if (r.finish_first)
    job.finish(run, true);
  auto seq = job.state.seq;
  auto refused = job.send(time_out_run{run, started + r.after});
  REQUIRE_FALSE(refused);
  CHECK(refused.code() == errc::conflict);
  CHECK(job.state.seq == seq);
}

TEST_CASE("a timeout for an unknown run is a conflict", "[events]") {
  job_fixture job;
  job_policies p;
  p.timeout = 30s;
  job.create_every(1min, p);
  CHECK(job.send(time_out_run{7, job.now + 1h}).code() == errc::conflict);
}

TEST_CASE("timeouts that reach max_consecutive_errors fail the job", "[events]") {
  job_fixture job;
  job_policies p;
  p.timeout = 10s;
  p.max_consecutive_errors = 2;
  job.create_every(1min, p);
  for (int i = 0; i < 2; ++i) {
    auto run = job.fire();
    job.now += 10s;
    job.ok(time_out_run{run, job.now});
  }
  CHECK(job.state.status == job_status::failed);
  CHECK(job.last<job_failed>().consecutive_errors == 2);
  CHECK(job.last<job_failed>().last_error == timeout_reason(10s));
}

TEST_CASE("a manual run that times out leaves the error count alone", "[events]") {
  job_fixture job;
  job_policies p;
  p.timeout = 10s;
  job.create_every(1h, p);
  auto events = job.ok(run_now{});
  auto run = std::get<run_started>(events.back().body).run_id;
  job.now += 11s;
  job.ok(time_out_run{run, job.now});
  CHECK(job.state.consecutive_errors == 0);
  CHECK(job.last<run_failed>().error == timeout_reason(10s));
}

TEST_CASE("command names tell a timeout from a run outcome", "[events]") {
  CHECK(command_name(time_out_run{}) == "time_out_run");
  CHECK(command_name(run_finished{}) == "run_finished");
}
