// The supervisor on CAF's deterministic scheduler, over the in-memory job log and an executor
// that hands its runs to the test: every message is delivered when the test runs the scheduler,
// time moves only on the manual clock, and runs finish when the test says. Nothing sleeps.
#include "actors/memory_job_log.hpp"
#include "actors/supervisor.hpp"

#include <almanac/caf_error.hpp>
#include <almanac/clock.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <mutex>

using namespace almanac;
using namespace std::chrono_literals;

namespace {

// Takes each run instead of running it; the test reports the outcome.
class manual_executor final : public executor {
public:
  manual_executor() : executor(executor_options{1, {}, {}}) {}

  void submit(run_key key, target, run_callback done) override {
    std::lock_guard guard{mtx};
    runs.push_back({key, std::move(done)});
  }
  void cancel(job_id, std::uint64_t run_id, std::string reason) override {
    std::lock_guard guard{mtx};
    cancelled.emplace_back(run_id, std::move(reason));
  }
  // Reports the outcome of the i-th submitted run.
  void finish(std::size_t i, bool ok, duration took = 1s) {
    auto& r = runs.at(i);
    r.done(r.key, run_outcome{ok, ok ? "" : "boom", "", false}, took);
  }

  struct submitted {
    run_key key;
    run_callback done;
  };
  std::mutex mtx;
  std::vector<submitted> runs;
  std::vector<std::pair<std::uint64_t, std::string>> cancelled;
};

caf::actor_system_config& deterministic(caf::actor_system_config& cfg) {
  add_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  return cfg;
}

struct supervisor_fixture {
  manual_clock clk{*parse_instant("2026-03-02T10:00:00Z")};
  memory_job_log log;
  manual_executor exec;
  std::shared_ptr<runtime_context> ctx = std::make_shared<runtime_context>();
  caf::actor_system_config cfg;
  caf::actor_system sys{deterministic(cfg)};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  supervisor_actor sup;
  std::unique_ptr<caf::scoped_actor> self;

  explicit supervisor_fixture(runtime_settings settings = {}) {
    ctx->jobs = &log;
    ctx->exec = &exec;
    ctx->clk = &clk;
    ctx->settings = settings;
    sup = spawn_supervisor(sys, ctx, caf::actor{}, recovered_jobs{});
    self = std::make_unique<caf::scoped_actor>(sys);
    sched.run();
  }

  ~supervisor_fixture() {
    self.reset();
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    sched.run();
    sup = nullptr;
  }

  // Sends `req`, delivers every message the system has, and takes the answer.
  template <class T, class Req>
  result<T> ask(Req req) {
    auto handle = (*self)->request(sup, caf::infinite, std::move(req));
    sched.run();
    result<T> out = fail(errc::unavailable, "no answer");
    handle.receive([&](T& x) { out = std::move(x); },
                   [&](caf::error& err) { out = from_caf_error(err); });
    return out;
  }

  // The same, firing CAF's delayed messages (the job actor's one-second retry) once in between.
  template <class T, class Req>
  result<T> ask_across_retry(Req req) {
    auto handle = (*self)->request(sup, caf::infinite, std::move(req));
    sched.run();
    sched.trigger_timeouts();
    sched.run();
    result<T> out = fail(errc::unavailable, "no answer");
    handle.receive([&](T& x) { out = std::move(x); },
                   [&](caf::error& err) { out = from_caf_error(err); });
    return out;
  }

  // The job's actor (spawned if passivated), as the supervisor answers (get_atom, id).
  result<caf::actor> actor_of(job_id id) {
    auto handle = (*self)->request(sup, caf::infinite, get_atom::value, id);
    sched.run();
    result<caf::actor> out = fail(errc::unavailable, "no answer");
    handle.receive([&](caf::actor& a) { out = std::move(a); },
                   [&](caf::error& err) { out = from_caf_error(err); });
    return out;
  }

  job_state create(std::string name, schedule sched_, job_policies p = {}) {
    auto r = ask<job_state>(
      create_request{job_spec{std::move(name), std::move(sched_), handler_target{"work", ""}, p},
                     "user:alice", ""});
    REQUIRE(r);
    return *r;
  }

  job_state get(const job_state& job) {
    auto r = ask<job_state>(get_request{to_string(job.id)});
    REQUIRE(r);
    return *r;
  }

  // The supervisor looks at its timers now (its wake-up, without waiting for CAF's clock).
  void check_timers() {
    caf::anon_send(sup, tick{0});
    sched.run();
  }

  void sweep() {
    caf::anon_send(sup, sweep_atom::value);
    sched.run();
  }

  // Delivers the outcome of the i-th run the executor took.
  void finish(std::size_t i, bool ok) {
    exec.finish(i, ok);
    sched.run();
  }
};

} // namespace

TEST_CASE("the supervisor creates pauses and resumes a job through the job log", "[actors]") {
  supervisor_fixture f;
  auto job = f.create("report", every_schedule{1min, {}, {}});
  CHECK(job.seq == 1);
  CHECK(job.status == job_status::active);
  // Resolved by name, any case.
  auto paused = f.ask<job_state>(pause_request{"REPORT", "user:alice", "quiet please"});
  REQUIRE(paused);
  CHECK(paused->status == job_status::paused);
  CHECK_FALSE(paused->next_run_at);
  auto resumed = f.ask<job_state>(resume_request{"report", false, "user:alice", ""});
  REQUIRE(resumed);
  CHECK(resumed->status == job_status::active);
  CHECK(resumed->next_run_at == f.clk.now() + 1min);
  auto events = f.log.events_of(job.id);
  REQUIRE(events.size() == 3);
  CHECK(events[1].env.note == "quiet please");
  // A second create of the name is refused and writes nothing.
  auto again = f.ask<job_state>(create_request{
    job_spec{"Report", every_schedule{1min, {}, {}}, handler_target{"work", ""}, {}}, "", ""});
  REQUIRE_FALSE(again);
  CHECK(again.code() == errc::name_taken);
}

TEST_CASE("two creates of one name in flight at once take it only once", "[actors]") {
  supervisor_fixture f;
  auto spec = job_spec{"twin", every_schedule{1min, {}, {}}, handler_target{"work", ""}, {}};
  // Both requests reach the supervisor before either create is durable.
  auto a = (*f.self)->request(f.sup, caf::infinite, create_request{spec, "user:a", ""});
  auto b = (*f.self)->request(f.sup, caf::infinite, create_request{spec, "user:b", ""});
  f.sched.run();
  int created = 0;
  int taken = 0;
  for (auto* h : {&a, &b})
    h->receive([&](job_state&) { ++created; },
               [&](caf::error& err) {
                 CHECK(from_caf_error(err).code == errc::name_taken);
                 ++taken;
               });
  CHECK(created == 1);
  CHECK(taken == 1);
}

TEST_CASE("a due job runs on the manual clock and its outcome is recorded", "[actors]") {
  supervisor_fixture f;
  auto job = f.create("tick", every_schedule{1min, {}, {}});
  f.check_timers();
  CHECK(f.exec.runs.empty());
  f.clk.advance(1min);
  f.check_timers();
  REQUIRE(f.exec.runs.size() == 1);
  CHECK(f.exec.runs[0].key.job == job.id);
  CHECK(f.get(job).in_flight.size() == 1);
  f.finish(0, true);
  auto done = f.get(job);
  CHECK(done.in_flight.empty());
  CHECK(done.runs_started == 1);
  CHECK(done.next_run_at == *job.next_run_at + 1min);
}

TEST_CASE("the global limit holds a due run until another finishes", "[actors]") {
  runtime_settings one;
  one.max_concurrent_runs = 1;
  supervisor_fixture f{one};
  f.create("first", every_schedule{1min, {}, {}});
  f.create("second", every_schedule{1min, {}, {}});
  f.clk.advance(1min);
  f.check_timers();
  REQUIRE(f.exec.runs.size() == 1);
  f.finish(0, true);
  REQUIRE(f.exec.runs.size() == 2);
  CHECK_FALSE(f.exec.runs[1].key.job == f.exec.runs[0].key.job);
}

TEST_CASE("a run past its timeout is recorded failed by the supervisor clock", "[actors]") {
  supervisor_fixture f;
  job_policies p;
  p.timeout = 30s;
  auto job = f.create("slow", every_schedule{1h, {}, {}}, p);
  f.clk.advance(1h);
  f.check_timers();
  REQUIRE(f.exec.runs.size() == 1);
  auto run_id = f.exec.runs[0].key.run_id;
  f.clk.advance(29s);
  f.check_timers();
  CHECK(f.exec.cancelled.empty());
  CHECK(f.get(job).in_flight.size() == 1);
  f.clk.advance(1s);
  f.check_timers();
  REQUIRE(f.exec.cancelled.size() == 1);
  CHECK(f.exec.cancelled[0].first == run_id);
  CHECK(f.exec.cancelled[0].second == "timeout: still running after 30s");
  auto timed_out = f.get(job);
  CHECK(timed_out.in_flight.empty());
  CHECK(timed_out.consecutive_errors == 1);
  CHECK(timed_out.last_error == "timeout: still running after 30s");
  CHECK(f.log.events_of(job.id).back().env.cause == "time_out_run");
  // The run's own outcome comes late: refused, the job stays as the timeout left it.
  f.finish(0, true);
  auto after = f.get(job);
  CHECK(after.seq == timed_out.seq);
  CHECK(after.consecutive_errors == 1);
}

TEST_CASE("an idle job actor is passivated on the manual clock and woken from the log", "[actors]") {
  runtime_settings s;
  s.passivate_after = 10s;
  supervisor_fixture f{s};
  auto& passivated = f.ctx->metrics->actors_passivated;
  auto job = f.create("sleeper", every_schedule{1h, {}, {}});
  // Idle for less than the window on the supervisor's clock: it stays, however often it sweeps.
  f.clk.advance(9s);
  f.sweep();
  f.sweep();
  CHECK(passivated.load() == 0);
  f.clk.advance(1s);
  f.sweep();
  CHECK(passivated.load() == 1);
  // A command wakes it: a new actor loads the job from the log on its own.
  auto loads = f.log.loads();
  auto paused = f.ask<job_state>(pause_request{"sleeper", "user:alice", ""});
  REQUIRE(paused);
  CHECK(paused->seq == job.seq + 1);
  CHECK(f.log.loads() == loads + 1);
  // Woken just now: not idle again until the window has passed once more.
  f.sweep();
  CHECK(passivated.load() == 1);
  f.clk.advance(10s);
  f.sweep();
  CHECK(passivated.load() == 2);
}

TEST_CASE("a job due within the idle window keeps its actor", "[actors]") {
  runtime_settings s;
  s.passivate_after = 10s;
  supervisor_fixture f{s};
  f.create("soon", every_schedule{15s, {}, {}});
  f.clk.advance(10s);
  f.sweep();
  // Due in 5 s, within the window: it stays.
  CHECK(f.ctx->metrics->actors_passivated.load() == 0);
}

TEST_CASE("a passivated job fires from the log when its timer is due", "[actors]") {
  runtime_settings s;
  s.passivate_after = 10s;
  supervisor_fixture f{s};
  auto job = f.create("hourly", every_schedule{1h, {}, {}});
  f.clk.advance(10s);
  f.sweep();
  REQUIRE(f.ctx->metrics->actors_passivated.load() == 1);
  f.clk.set(*job.next_run_at);
  f.check_timers();
  REQUIRE(f.exec.runs.size() == 1);
  f.finish(0, true);
  CHECK(f.get(job).runs_started == 1);
}

TEST_CASE("a create refused with conflict by the log goes again under another id", "[actors]") {
  supervisor_fixture f;
  // The log refuses the first append as it refuses one under an id whose stream exists.
  f.log.fail_appends(1, store::status::conflict("stream exists"));
  auto job = f.create("fresh", every_schedule{1min, {}, {}});
  CHECK(job.seq == 1);
  CHECK(f.log.events_of(job.id).size() == 1);
  auto byname = f.ask<job_state>(get_request{"fresh"});
  REQUIRE(byname);
  CHECK(byname->id == job.id);
}

TEST_CASE("a create refused by the log frees its name and its place under the cap", "[actors]") {
  runtime_settings s;
  s.max_jobs = 1;
  supervisor_fixture f{s};
  f.log.fail_appends(1, store::status::io_error("disk gone"));
  auto refused = f.ask<job_state>(create_request{
    job_spec{"only", every_schedule{1min, {}, {}}, handler_target{"work", ""}, {}}, "", ""});
  REQUIRE_FALSE(refused);
  CHECK(refused.code() == errc::storage_error);
  auto job = f.create("only", every_schedule{1min, {}, {}});
  CHECK(job.seq == 1);
  auto over = f.ask<job_state>(create_request{
    job_spec{"second", every_schedule{1min, {}, {}}, handler_target{"work", ""}, {}}, "", ""});
  CHECK(over.code() == errc::limit_exceeded);
}

TEST_CASE("a get of a passivated job reads the log without waking it", "[actors]") {
  runtime_settings s;
  s.passivate_after = 10s;
  supervisor_fixture f{s};
  auto job = f.create("dormant", every_schedule{1h, {}, {}});
  f.clk.advance(10s);
  f.sweep();
  REQUIRE(f.ctx->metrics->actors_passivated.load() == 1);
  auto loads = f.log.loads();
  auto read = f.get(job);
  CHECK(read.seq == job.seq);
  CHECK(read.name == "dormant");
  CHECK(f.log.loads() == loads + 1);
  // Still passive: the next command wakes it, with a load of its own.
  REQUIRE(f.ask<job_state>(pause_request{"dormant", "user:alice", ""}));
  CHECK(f.log.loads() == loads + 2);
}

TEST_CASE("a job actor that dies is replaced by one that loads the job from the log", "[actors]") {
  supervisor_fixture f;
  auto job = f.create("fragile", every_schedule{1h, {}, {}});
  auto actor = f.actor_of(job.id);
  REQUIRE(actor);
  REQUIRE(*actor);
  auto loads = f.log.loads();
  caf::anon_send_exit(*actor, caf::exit_reason::kill);
  f.sched.run();
  auto paused = f.ask<job_state>(pause_request{"fragile", "user:alice", ""});
  REQUIRE(paused);
  CHECK(paused->seq == job.seq + 1);
  CHECK(f.log.loads() == loads + 1);
  auto replaced = f.actor_of(job.id);
  REQUIRE(replaced);
  CHECK_FALSE(*replaced == *actor);
}

TEST_CASE("an admin action whose append outcome was unknown is answered as the log has it",
          "[actors]") {
  supervisor_fixture f;
  auto job = f.create("cut-off", every_schedule{1h, {}, {}});
  // The pause commits, but the actor hears the connection was lost during COMMIT: it reads the
  // log back a second later and answers with the job as recorded.
  f.log.commit_then_fail(1, store::status::outcome_unknown("lost the connection during COMMIT"));
  auto paused = f.ask_across_retry<job_state>(pause_request{to_string(job.id), "user:alice", ""});
  REQUIRE(paused);
  CHECK(paused->status == job_status::paused);
  CHECK(paused->seq == 2);
  CHECK(f.log.events_of(job.id).size() == 2);
  // And the actor goes on from there: a resume applies, not refused for a stale sequence.
  auto resumed = f.ask<job_state>(resume_request{to_string(job.id), false, "user:alice", ""});
  REQUIRE(resumed);
  CHECK(resumed->status == job_status::active);
  CHECK(f.log.events_of(job.id).size() == 3);
}

TEST_CASE("an admin action of unknown outcome that did not commit is refused as unavailable",
          "[actors]") {
  supervisor_fixture f;
  auto job = f.create("cut-off", every_schedule{1h, {}, {}});
  f.log.fail_appends(1, store::status::outcome_unknown("lost the connection during COMMIT"));
  auto paused = f.ask_across_retry<job_state>(pause_request{to_string(job.id), "user:alice", ""});
  REQUIRE_FALSE(paused);
  CHECK(paused.code() == errc::unavailable);
  CHECK_THAT(paused.err().message, Catch::Contains("not recorded"));
  CHECK(f.log.events_of(job.id).size() == 1);
  CHECK(f.get(job).status == job_status::active);
}

TEST_CASE("while the log cannot be read back the queued requests are refused at once", "[actors]") {
  supervisor_fixture f;
  auto job = f.create("cut-off", every_schedule{1h, {}, {}});
  f.log.fail_appends(1, store::status::outcome_unknown("lost the connection during COMMIT"));
  auto pause = (*f.self)->request(f.sup, caf::infinite,
                                  pause_request{to_string(job.id), "user:alice", ""});
  f.sched.run();
  // Queued behind the unresolved pause; the read-back a second later fails (server down).
  auto resume = (*f.self)->request(f.sup, caf::infinite,
                                   resume_request{to_string(job.id), false, "user:alice", ""});
  f.sched.run();
  f.log.fail_loads(1, store::status::unavailable("cannot connect to PostgreSQL"));
  f.sched.trigger_timeouts();
  f.sched.run();
  std::optional<errc> resume_code;
  resume.receive([&](job_state&) { resume_code = errc::none; },
                 [&](caf::error& err) { resume_code = from_caf_error(err).code; });
  CHECK(resume_code == errc::unavailable);
  // The next read-back works: the pause, never committed, is refused as not recorded.
  f.sched.trigger_timeouts();
  f.sched.run();
  std::optional<error> pause_err;
  pause.receive([&](job_state&) {}, [&](caf::error& err) { pause_err = from_caf_error(err); });
  REQUIRE(pause_err);
  CHECK(pause_err->code == errc::unavailable);
  CHECK_THAT(pause_err->message, Catch::Contains("not recorded"));
  CHECK(f.get(job).status == job_status::active);
}

TEST_CASE("a create of unknown outcome that committed is answered and listed, once", "[actors]") {
  supervisor_fixture f;
  f.log.commit_then_fail(1, store::status::outcome_unknown("lost the connection during COMMIT"));
  auto created = f.ask_across_retry<job_state>(create_request{
    job_spec{"maybe", every_schedule{1min, {}, {}}, handler_target{"work", ""}, {}}, "", ""});
  REQUIRE(created);
  CHECK(created->seq == 1);
  auto byname = f.ask<job_state>(get_request{"maybe"});
  REQUIRE(byname);
  CHECK(byname->id == created->id);
  // The name is taken: a second create of it is refused, not a duplicate.
  auto again = f.ask<job_state>(create_request{
    job_spec{"maybe", every_schedule{1min, {}, {}}, handler_target{"work", ""}, {}}, "", ""});
  CHECK(again.code() == errc::name_taken);
}

TEST_CASE("a run outcome refused while the log is unreachable is retried and recorded once",
          "[actors]") {
  supervisor_fixture f;
  auto job = f.create("tick", every_schedule{1min, {}, {}});
  f.clk.advance(1min);
  f.check_timers();
  REQUIRE(f.exec.runs.size() == 1);
  // Nothing is written: the server is down.
  f.log.fail_appends(1, store::status::unavailable("cannot connect to PostgreSQL"));
  f.finish(0, true);
  CHECK(f.get(job).in_flight.size() == 1);
  // The retry, a second later: written now.
  f.sched.trigger_timeouts();
  f.sched.run();
  auto done = f.get(job);
  CHECK(done.in_flight.empty());
  CHECK(done.runs_started == 1);
  CHECK(done.consecutive_errors == 0);
}

TEST_CASE("a run outcome that committed unseen is not written twice", "[actors]") {
  supervisor_fixture f;
  auto job = f.create("tick", every_schedule{1min, {}, {}});
  f.clk.advance(1min);
  f.check_timers();
  REQUIRE(f.exec.runs.size() == 1);
  f.log.commit_then_fail(1, store::status::outcome_unknown("lost the connection during COMMIT"));
  f.finish(0, true);
  auto written = f.log.events_of(job.id).size();
  f.sched.trigger_timeouts();
  f.sched.run();
  auto done = f.get(job);
  CHECK(done.in_flight.empty());
  CHECK(done.seq == written);
  CHECK(f.log.events_of(job.id).size() == written);
  std::size_t outcomes = 0;
  for (const auto& e : f.log.events_of(job.id))
    outcomes += std::holds_alternative<run_succeeded>(e.body) ? 1 : 0;
  CHECK(outcomes == 1);
}
