// End to end through the admin actor, with a real RocksDB log in a temporary directory and a
// manual clock: the behaviour list of the scheduler Almanac replaces, and the races it lost.
#include "runtime_fixture.hpp"

#include "actors/metrics.hpp"
#include "projections/history.hpp"

#include <set>

using namespace almanac;
using namespace almanac::test;

namespace {

std::string id_of(const job_state& s) { return to_string(s.id); }

template <class T>
const T* find_event(const std::vector<event>& log) {
  for (auto i = log.rbegin(); i != log.rend(); ++i)
    if (auto* e = std::get_if<T>(&i->body))
      return e;
  return nullptr;
}

// A handler that records how many of its runs overlap at most.
struct overlap_probe {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};

  handler make() {
    return [this](const run_context&) {
      auto now = ++running;
      int prev = most.load();
      while (now > prev && !most.compare_exchange_weak(prev, now)) {
      }
      std::this_thread::sleep_for(20ms);
      --running;
      ++done;
    };
  }
};

bool has_action(const std::vector<audit_entry>& trail, std::string_view action) {
  for (const auto& a : trail)
    if (a.action == action)
      return true;
  return false;
}

} // namespace

TEST_CASE("create through the admin actor gives active every at and cron jobs", "[actors]") {
  runtime_fixture f;
  auto every = f.create("every", every_schedule{90s, {}, every_anchor::grid});
  REQUIRE(every.ok());
  CHECK(every->status == job_status::active);
  CHECK(every->next_run_at == f.clk.now() + 90s);
  auto one = f.create("once", at_schedule{f.clk.now() + 1h});
  REQUIRE(one.ok());
  CHECK(one->next_run_at == f.clk.now() + 1h);
  auto cron = make_cron("30 2 * * *", "America/New_York");
  REQUIRE(cron.ok());
  auto c = f.create("nightly", *cron);
  REQUIRE(c.ok());
  CHECK(c->next_run_at == at("2026-03-03T07:30:00Z"));
  // The name finds the job case-insensitively, like its id.
  CHECK(f.get("NIGHTLY").id == c->id);
  auto listed = f.ask<job_list>(list_request{"active", "", 100});
  REQUIRE(listed.ok());
  CHECK(listed->jobs.size() == 3);
  CHECK(has_action(f.audit(id_of(*c)), "create"));
}

TEST_CASE("bad requests get distinct almanac errors and change nothing", "[actors]") {
  runtime_fixture f;
  REQUIRE(f.create("taken", every_schedule{1min, {}, {}}).ok());
  CHECK(f.create("TAKEN", every_schedule{1min, {}, {}}).code() == errc::name_taken);
  CHECK(f.create("zero", every_schedule{0s, {}, {}}).code() == errc::invalid_schedule);
  CHECK(f.create("", every_schedule{1min, {}, {}}).code() == errc::invalid_input);
  CHECK(f.ask<job_state>(pause_request{"nope", "user:alice", ""}).code() == errc::not_found);
  CHECK(f.ask<job_state>(get_request{"00000000000000ff"}).code() == errc::not_found);
  CHECK(f.ask<job_list>(list_request{"sleeping", "", 10}).code() == errc::invalid_input);
  std::uint64_t position = 0;
  REQUIRE(scheduler_testing::log(*f.sched).highest_position(position).ok());
  CHECK(position == 1);
}

TEST_CASE("a job that fails ten times is failed and force resume revives it", "[actors]") {
  runtime_fixture f;
  f.fail_runs = true;
  auto job = f.create("flaky", every_schedule{1min, {}, {}});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  for (int i = 1; i <= 10; ++i) {
    auto s = f.fire(id);
    CHECK(s.consecutive_errors == static_cast<std::uint32_t>(i));
  }
  auto failed = f.get(id);
  CHECK(failed.status == job_status::failed);
  CHECK_FALSE(failed.next_run_at);

  auto plain = f.ask<job_state>(resume_request{id, false, "user:alice", ""});
  CHECK(plain.code() == errc::failed_needs_force);
  CHECK_THAT(plain.err().message, Catch::Contains("force"));
  CHECK(f.ask<job_state>(run_now_request{id, "user:alice", ""}).code() == errc::refused_status);

  auto revived = f.ask<job_state>(resume_request{id, true, "user:alice", "disk replaced"});
  REQUIRE(revived.ok());
  CHECK(revived->status == job_status::active);
  CHECK(revived->consecutive_errors == 0);
  auto log = f.log_of(job->id);
  auto* e = find_event<job_revived>(log);
  REQUIRE(e != nullptr);
  CHECK(e->cleared_errors == 10);
  REQUIRE(e->next_run_at);
  CHECK(e->next_run_at == revived->next_run_at);
  auto trail = f.audit(id);
  REQUIRE_FALSE(trail.empty());
  CHECK(trail.front().action == "resume:force");
  CHECK(trail.front().from_status == "failed");
  CHECK(trail.front().to_status == "active");
  CHECK(trail.front().note == "disk replaced");
  CHECK(trail.front().actor == "user:alice");
  CHECK(has_action(trail, "failed"));
  CHECK(has_action(trail, "backoff"));
}

TEST_CASE("plain resume and forced resume of a paused job are told apart in the audit", "[actors]") {
  runtime_fixture f;
  auto job = f.create("paused", every_schedule{1min, {}, {}});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  REQUIRE(f.ask<job_state>(pause_request{id, "user:bob", "hold"}).ok());
  REQUIRE(f.ask<job_state>(resume_request{id, false, "user:bob", ""}).ok());
  REQUIRE(f.ask<job_state>(pause_request{id, "user:bob", ""}).ok());
  REQUIRE(f.ask<job_state>(resume_request{id, true, "user:bob", ""}).ok());
  auto trail = f.audit(id);
  REQUIRE(trail.size() == 5);
  CHECK(trail[0].action == "resume:force");
  CHECK(trail[2].action == "resume");
  CHECK(trail[3].action == "pause");
  CHECK(trail[3].note == "hold");
}

TEST_CASE("an at job runs once and is completed then deleted when asked", "[actors]") {
  runtime_fixture f;
  job_policies p;
  p.delete_after_run = true;
  auto job = f.create("once", at_schedule{f.clk.now() + 5min}, p);
  REQUIRE(job.ok());
  auto id = id_of(*job);
  f.clk.advance(5min);
  f.sched->check_timers();
  f.wait_until([&] { return !(f.ask<job_state>(get_request{id}).ok()); });
  CHECK(f.run_count() == 1);
  auto log = f.log_of(job->id);
  CHECK(find_event<job_completed>(log) != nullptr);
  CHECK(find_event<job_deleted>(log) != nullptr);
  CHECK(f.ask<job_state>(resume_request{id, true, "user:alice", ""}).code() == errc::not_found);
}

TEST_CASE("resume of a completed job is refused even with force", "[actors]") {
  runtime_fixture f;
  auto job = f.create("once", at_schedule{f.clk.now() + 1min});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  auto s = f.fire(id);
  REQUIRE(s.status == job_status::completed);
  auto r = f.ask<job_state>(resume_request{id, true, "user:alice", ""});
  CHECK(r.code() == errc::refused_status);
  CHECK(f.ask<job_state>(run_now_request{id, "user:alice", ""}).code() == errc::refused_status);
}

TEST_CASE("run now runs an active job and refuses a paused one", "[actors]") {
  runtime_fixture f;
  auto job = f.create("manual", every_schedule{1h, {}, {}});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  auto started = f.ask<job_state>(run_now_request{id, "user:alice", ""});
  REQUIRE(started.ok());
  f.until(id, [](const job_state& s) { return s.last_run.has_value(); });
  CHECK(f.run_count() == 1);
  REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", ""}).ok());
  auto refused = f.ask<job_state>(run_now_request{id, "user:alice", ""});
  CHECK(refused.code() == errc::refused_status);
  CHECK_THAT(refused.err().message, Catch::Contains("paused"));
}

TEST_CASE("a pause that arrives while a run is in flight is kept", "[actors]") {
  runtime_fixture f;
  std::mutex gate;
  gate.lock();
  f.sched->register_handler("slow", [&](const run_context&) { std::lock_guard wait{gate}; });
  auto job = f.create("slow", every_schedule{1min, {}, {}}, {}, handler_target{"slow", ""});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  f.fire(id, false);
  REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", "stop it"}).ok());
  gate.unlock();
  auto s = f.until(id, [](const job_state& x) { return x.in_flight.empty(); });
  CHECK(s.status == job_status::paused);
  CHECK_FALSE(s.next_run_at);
  CHECK(s.last_run->ok);
}

TEST_CASE("a handler that throws is a failed run and the scheduler goes on", "[actors]") {
  runtime_fixture f;
  f.sched->register_handler("boom", [](const run_context&) { throw std::logic_error("kaboom"); });
  auto job = f.create("boom", every_schedule{1min, {}, {}}, {}, handler_target{"boom", ""});
  REQUIRE(job.ok());
  auto s = f.fire(id_of(*job));
  CHECK(s.consecutive_errors == 1);
  CHECK(s.last_error == "kaboom");
  auto other = f.create("fine", every_schedule{1min, {}, {}});
  REQUIRE(other.ok());
  CHECK(f.fire(id_of(*other)).consecutive_errors == 0);
}

TEST_CASE("a run with no registered handler fails with a message naming it", "[actors]") {
  runtime_fixture f;
  auto job = f.create("ghost", every_schedule{1min, {}, {}}, {}, handler_target{"nobody", ""});
  REQUIRE(job.ok());
  auto s = f.fire(id_of(*job));
  CHECK_THAT(s.last_error, Catch::Contains("nobody"));
}

TEST_CASE("jobs of one concurrency group never run at the same time", "[actors]") {
  runtime_fixture f;
  overlap_probe probe;
  f.sched->register_handler("tracked", probe.make());
  job_policies p;
  p.group = "billing";
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto job = f.create("g" + std::to_string(i), every_schedule{1min, {}, {}}, p,
                        handler_target{"tracked", ""});
    REQUIRE(job.ok());
    ids.push_back(id_of(*job));
  }
  f.clk.advance(1min);
  f.sched->check_timers();
  f.wait_until([&] { return probe.done == 4; });
  CHECK(probe.most == 1);
}

TEST_CASE("a job actor killed on purpose is respawned with its state", "[actors]") {
  runtime_fixture f;
  auto job = f.create("phoenix", every_schedule{1min, {}, {}});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", ""}).ok());
  auto before = f.get(id);
  auto actor = scheduler_testing::job_actor_of(*f.sched, job->id);
  REQUIRE(actor);
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  f.wait_until([&] { return !(scheduler_testing::job_actor_of(*f.sched, job->id) == actor); });
  auto after = f.get(id);
  CHECK(after.seq == before.seq);
  CHECK(after.status == job_status::paused);
  REQUIRE(f.ask<job_state>(resume_request{id, false, "user:alice", ""}).ok());
}

TEST_CASE("an idle job actor is passivated and its job goes on from the log", "[actors]") {
  runtime_fixture f;
  runtime_settings fast;
  fast.passivate_after = 100ms;
  f.restart(fast);
  auto& m = f.sched->metrics();
  // Due in a minute of the manual clock: well beyond the idle window, so the actor may go.
  auto job = f.create("sleeper", every_schedule{1min, {}, {}});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  auto first = scheduler_testing::job_actor_of(*f.sched, job->id);
  REQUIRE(first);
  // Idleness is measured on the scheduler's clock.
  f.clk.advance(1s);
  f.wait_until([&] { return m.actors_passivated.load() >= 1; });
  // Read without waking it: the same state, from the log.
  auto passive = f.get(id);
  CHECK(passive.seq == job->seq);
  CHECK(passive.status == job_status::active);
  // A command spawns a new actor from the log, and the job's history goes on from there.
  auto paused = f.ask<job_state>(pause_request{id, "user:alice", "sleeping"});
  REQUIRE(paused.ok());
  CHECK(paused->seq == job->seq + 1);
  CHECK(paused->status == job_status::paused);
  CHECK_FALSE(scheduler_testing::job_actor_of(*f.sched, job->id) == first);
  f.clk.advance(1s);
  f.wait_until([&] { return m.actors_passivated.load() >= 2; });
  REQUIRE(f.ask<job_state>(resume_request{id, false, "user:alice", ""}).ok());
  // The timer fires a passivated job too: its actor is spawned for the due.
  f.clk.advance(1s);
  f.wait_until([&] { return m.actors_passivated.load() >= 3; });
  auto ran = f.fire(id);
  CHECK(ran.runs_started == 1);
  CHECK(f.run_count() == 1);
  std::vector<event> log = f.log_of(job->id);
  REQUIRE(log.size() == ran.seq);
  for (std::size_t i = 0; i < log.size(); ++i)
    CHECK(log[i].env.seq == i + 1);
  // A restart spawns no actor for a job idle beyond the window, and it still answers.
  f.restart(fast);
  auto after = f.get(id);
  CHECK(after.seq == ran.seq);
  CHECK(after.runs_started == 1);
}

TEST_CASE("health counts jobs by status and reports erroring ones", "[actors]") {
  runtime_fixture f;
  f.fail_runs = true;
  auto a = f.create("a", every_schedule{1min, {}, {}});
  auto b = f.create("b", every_schedule{1min, {}, {}});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(f.ask<job_state>(pause_request{id_of(*b), "user:alice", ""}).ok());
  f.fire(id_of(*a));
  auto h = f.ask<health_report>(health_request{});
  REQUIRE(h.ok());
  CHECK(h->active == 1);
  CHECK(h->paused == 1);
  CHECK(h->erroring == 1);
  CHECK_FALSE(h->fleet_alert);
}

TEST_CASE("preview lists the next fires of a schedule", "[actors]") {
  runtime_fixture f;
  auto cron = make_cron("30 2 * * *", "America/New_York");
  REQUIRE(cron.ok());
  auto r = f.ask<preview_result>(preview_request{*cron, at("2026-03-07T12:00:00Z"), 3});
  REQUIRE(r.ok());
  CHECK(r->fires == std::vector<instant>{at("2026-03-08T07:30:00Z"), at("2026-03-09T06:30:00Z"),
                                         at("2026-03-10T06:30:00Z")});
}

TEST_CASE("run history records each run with its outcome", "[actors]") {
  runtime_fixture f;
  auto job = f.create("history", every_schedule{1min, {}, {}});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  f.fire(id);
  f.fail_runs = true;
  f.fire(id);
  auto page = f.ask<run_page>(runs_request{id, 10});
  REQUIRE(page.ok());
  REQUIRE(page->runs.size() == 2);
  CHECK(page->runs[0].outcome == "failed");
  CHECK(page->runs[0].error == "exit 1");
  CHECK(page->runs[1].outcome == "succeeded");
  CHECK(page->runs[1].trigger == "timer");
}

TEST_CASE("an actor registered as a handler answers each run with its run key", "[actors]") {
  runtime_fixture f;
  auto seen = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto handler = f.sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {
      [seen](run_message& m) -> run_reply {
        *seen = m.run_id;
        if (m.payload == "fail")
          return run_reply{false, "refused by the actor", {}};
        return run_reply{true, {}, "done"};
      },
    };
  });
  f.sched->register_actor_handler("actor-handler", handler);
  auto ok = f.create("by-actor", every_schedule{1min, {}, {}}, {},
                     handler_target{"actor-handler", "ok"});
  auto bad = f.create("by-actor-fails", every_schedule{1min, {}, {}}, {},
                      handler_target{"actor-handler", "fail"});
  REQUIRE(ok.ok());
  REQUIRE(bad.ok());
  // Both jobs are due at the same instant: one timer wake-up runs both.
  CHECK(f.fire(id_of(*ok)).last_run->ok);
  CHECK(*seen == 1);
  auto failed = f.until(id_of(*bad), [](const job_state& x) { return x.last_run.has_value(); });
  CHECK(failed.last_error == "refused by the actor");
  caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
}

TEST_CASE("the global limit caps how many runs are in flight at once", "[actors]") {
  runtime_fixture f;
  runtime_settings settings;
  settings.max_concurrent_runs = 2;
  f.restart_after(0s, settings);
  overlap_probe probe;
  f.sched->register_handler("tracked", probe.make());
  for (int i = 0; i < 6; ++i)
    REQUIRE(f.create("limited" + std::to_string(i), every_schedule{1min, {}, {}}, {},
                     handler_target{"tracked", ""})
              .ok());
  f.clk.advance(1min);
  f.sched->check_timers();
  f.wait_until([&] { return probe.done == 6; });
  CHECK(probe.most == 2);
}

TEST_CASE("a run past its timeout is cancelled and recorded failed with reason timeout", "[actors]") {
  runtime_fixture f;
  std::atomic<bool> saw_cancel{false};
  std::atomic<bool> began{false};
  f.sched->register_handler("hang", [&](const run_context& ctx) {
    began = true;
    while (!ctx.cancelled())
      std::this_thread::sleep_for(1ms);
    saw_cancel = true;
  });
  job_policies p;
  p.timeout = 30s;
  auto job = f.create("hang", every_schedule{1h, {}, {}}, p, handler_target{"hang", ""});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  auto running = f.fire(id, false);
  REQUIRE(running.in_flight.size() == 1);
  // On a worker, not still queued: the handler itself must see the cancellation.
  f.wait_until([&] { return began.load(); });
  f.clk.advance(31s);
  f.sched->check_timers();
  auto s = f.until(id, [](const job_state& x) { return x.in_flight.empty(); });
  CHECK_THAT(s.last_error, Catch::Contains("timeout"));
  CHECK(s.consecutive_errors == 1);
  f.wait_until([&] { return !(!saw_cancel); });
}

TEST_CASE("health raises the fleet alert when many jobs fail within the window", "[actors]") {
  runtime_fixture f;
  runtime_settings settings;
  settings.fleet_alert_failures = 3;
  f.restart_after(0s, settings);
  f.fail_runs = true;
  job_policies p;
  p.max_consecutive_errors = 1;
  for (int i = 0; i < 3; ++i)
    REQUIRE(f.create("fragile" + std::to_string(i), every_schedule{1min, {}, {}}, p).ok());
  f.clk.advance(1min);
  f.sched->check_timers();
  for (int i = 0; i < 3; ++i)
    f.until("fragile" + std::to_string(i),
            [](const job_state& x) { return x.status == job_status::failed; });
  auto h = f.ask<health_report>(health_request{});
  REQUIRE(h.ok());
  CHECK(h->failed == 3);
  CHECK(h->recently_failed == 3);
  CHECK(h->fleet_alert);
  f.clk.advance(10min);
  CHECK_FALSE(f.ask<health_report>(health_request{})->fleet_alert);
}

TEST_CASE("the audit trail of all jobs pages backwards and survives a rebuild", "[actors]") {
  runtime_fixture f;
  auto a = f.create("alpha", every_schedule{1min, {}, {}});
  auto b = f.create("beta", every_schedule{1min, {}, {}});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(f.ask<job_state>(pause_request{"alpha", "user:dan", "one"}).ok());
  REQUIRE(f.ask<job_state>(delete_request{"beta", "user:dan", "two"}).ok());
  auto all = f.ask<audit_page>(audit_request{"", 100, 0});
  REQUIRE(all.ok());
  REQUIRE(all->entries.size() == 4);
  CHECK(all->entries[0].action == "delete");
  CHECK(all->entries[0].job_name == "beta");
  CHECK(all->entries[0].to_status == "deleted");
  CHECK(all->entries[1].action == "pause");
  auto older = f.ask<audit_page>(audit_request{"", 2, all->entries[1].position});
  REQUIRE(older.ok());
  REQUIRE(older->entries.size() == 2);
  CHECK(older->entries[0].action == "create");
  CHECK(older->entries[0].job_name == "beta");
  // A deleted job's trail stays readable by its id.
  auto beta = f.ask<audit_page>(audit_request{to_string(b->id), 10, 0});
  REQUIRE(beta.ok());
  CHECK(beta->entries.size() == 2);

  // Rebuilt from the log alone, the projection holds the same entries.
  f.sched->stop(0s);
  f.sched.reset();
  {
    std::unique_ptr<store::event_log> log;
    REQUIRE(store::event_log::open(f.dir.data(), {}, log).ok());
    REQUIRE(project_history(*log, true).ok());
    std::vector<audit_entry> rebuilt;
    REQUIRE(read_audit(*log, std::nullopt, 100, 0, rebuilt).ok());
    REQUIRE(rebuilt.size() == all->entries.size());
    for (std::size_t i = 0; i < rebuilt.size(); ++i) {
      CHECK(rebuilt[i].position == all->entries[i].position);
      CHECK(rebuilt[i].action == all->entries[i].action);
      CHECK(rebuilt[i].from_status == all->entries[i].from_status);
      CHECK(rebuilt[i].note == all->entries[i].note);
    }
  }
  f.start();
}

namespace {

// A handler that holds its run until released; counts the runs that started.
struct held_run {
  std::atomic<bool> release{false};
  std::atomic<int> started{0};

  handler make() {
    return [this](const run_context& ctx) {
      ++started;
      while (!release && !ctx.cancelled())
        std::this_thread::sleep_for(1ms);
    };
  }
};

// Whether every RunStarted in the log is followed by its run's end.
bool every_run_closed(const std::vector<event>& log) {
  std::set<std::uint64_t> open;
  for (const auto& e : log) {
    if (auto* s = std::get_if<run_started>(&e.body))
      open.insert(s->run_id);
    else if (auto* ok = std::get_if<run_succeeded>(&e.body))
      open.erase(ok->run_id);
    else if (auto* bad = std::get_if<run_failed>(&e.body))
      open.erase(bad->run_id);
    else if (auto* gone = std::get_if<run_abandoned>(&e.body))
      open.erase(gone->run_id);
  }
  return open.empty();
}

} // namespace

TEST_CASE("an at job paused while its run is in flight is completed by the run and stays so", "[actors]") {
  runtime_fixture f;
  held_run held;
  f.sched->register_handler("held", held.make());
  auto job = f.create("once", at_schedule{f.clk.now() + 1min}, {}, handler_target{"held", ""});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  f.fire(id, false);
  auto paused = f.ask<job_state>(pause_request{id, "user:alice", "hold on"});
  REQUIRE(paused.ok());
  CHECK(paused->status == job_status::paused);
  held.release = true;
  auto s = f.until(id, [](const job_state& x) { return x.in_flight.empty(); });
  CHECK(s.status == job_status::completed);
  CHECK_FALSE(s.next_run_at);
  REQUIRE(s.last_run);
  CHECK(s.last_run->ok);
  // The one-shot did its work: neither resume brings it back for a second run.
  CHECK(f.ask<job_state>(resume_request{id, false, "user:alice", ""}).code()
        == errc::refused_status);
  CHECK(f.ask<job_state>(resume_request{id, true, "user:alice", ""}).code()
        == errc::refused_status);
  f.clk.advance(1h);
  f.sched->check_timers();
  CHECK(f.get(id).runs_started == 1);
  CHECK(held.started == 1);
}

TEST_CASE("a delete_after_run job paused during its successful run is deleted", "[actors]") {
  runtime_fixture f;
  held_run held;
  f.sched->register_handler("held", held.make());
  job_policies p;
  p.delete_after_run = true;
  auto job = f.create("cleanup", every_schedule{1h, {}, {}}, p, handler_target{"held", ""});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  f.fire(id, false);
  REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", ""}).ok());
  held.release = true;
  f.wait_until([&] { return f.ask<job_state>(get_request{id}).code() == errc::not_found; });
  auto log = f.log_of(job->id);
  CHECK(find_event<job_completed>(log) != nullptr);
  CHECK(find_event<job_deleted>(log) != nullptr);
}

TEST_CASE("a scheduled run that fails while its job is paused records its error", "[actors]") {
  runtime_fixture f;
  std::atomic<bool> release{false};
  f.sched->register_handler("held-fails", [&](const run_context&) {
    while (!release)
      std::this_thread::sleep_for(1ms);
    throw std::runtime_error("exit 3");
  });
  job_policies p;
  p.max_consecutive_errors = 2;
  auto job = f.create("erring", every_schedule{1min, {}, {}}, p, handler_target{"held-fails", ""});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  // The first failure while paused is counted and the job stays paused.
  f.fire(id, false);
  REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", ""}).ok());
  release = true;
  auto s = f.until(id, [](const job_state& x) { return x.in_flight.empty(); });
  CHECK(s.status == job_status::paused);
  CHECK(s.consecutive_errors == 1);
  CHECK_FALSE(s.next_run_at);
  auto log = f.log_of(job->id);
  auto* failed = find_event<run_failed>(log);
  REQUIRE(failed != nullptr);
  CHECK(failed->consecutive_errors == 1);
  CHECK(failed->error == "exit 3");
  // Resumed (which clears the count), it fails once while active, then once more while paused:
  // that reaches the threshold, and failed wins over the pause.
  REQUIRE(f.ask<job_state>(resume_request{id, false, "user:alice", ""}).ok());
  f.fire(id);
  REQUIRE(f.get(id).consecutive_errors == 1);
  release = false;
  f.fire(id, false);
  REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", ""}).ok());
  release = true;
  s = f.until(id, [](const job_state& x) { return x.in_flight.empty(); });
  CHECK(s.status == job_status::failed);
  CHECK(s.consecutive_errors == 2);
  CHECK(f.ask<job_state>(resume_request{id, false, "user:alice", ""}).code()
        == errc::failed_needs_force);
}

TEST_CASE("delete while a run is in flight cancels the run and frees its worker", "[actors]") {
  runtime_fixture f;
  f.workers = 1;
  f.restart();
  std::atomic<bool> saw_cancel{false};
  f.sched->register_handler("hang", [&](const run_context& ctx) {
    while (!ctx.cancelled())
      std::this_thread::sleep_for(1ms);
    saw_cancel = true;
  });
  auto doomed = f.create("doomed", every_schedule{1h, {}, {}}, {}, handler_target{"hang", ""});
  auto other = f.create("other", every_schedule{2h, {}, {}});
  REQUIRE(doomed.ok());
  REQUIRE(other.ok());
  auto running = f.fire(id_of(*doomed), false);
  REQUIRE(running.in_flight.size() == 1);
  auto run_id = running.in_flight.front().run_id;
  REQUIRE(f.ask<job_state>(delete_request{id_of(*doomed), "user:alice", "retired"}).ok());
  f.wait_until([&] { return saw_cancel.load(); });
  // The only worker is free again: another job's run goes through.
  auto ran = f.fire(id_of(*other));
  CHECK(ran.last_run->ok);
  CHECK(f.run_count() == 1);
  // The log closes the cut-off run; nothing of the deleted job is left running.
  auto log = f.log_of(doomed->id);
  CHECK(every_run_closed(log));
  auto* abandoned = find_event<run_abandoned>(log);
  REQUIRE(abandoned != nullptr);
  CHECK(abandoned->run_id == run_id);
  CHECK(abandoned->reason == "cancelled: job deleted");
  CHECK(std::holds_alternative<job_deleted>(log.back().body));
  auto h = f.ask<health_report>(health_request{});
  REQUIRE(h.ok());
  CHECK(h->runs_in_flight.empty());
  auto runs = f.ask<run_page>(runs_request{id_of(*doomed), 10});
  REQUIRE(runs.ok());
  REQUIRE(runs->runs.size() == 1);
  CHECK(runs->runs[0].outcome == "abandoned");
}

TEST_CASE("runs the daemon could not carry out are retried and never fail the job", "[actors]") {
  runtime_fixture f;
  // The exec runner reports what the daemon's runner reports when pipe2 hits the fd limit, for
  // the first eight runs, then runs normally.
  std::atomic<int> calls{0};
  constexpr int exhausted = 8;
  f.sched->set_exec_runner([&](const run_context&) {
    if (++calls <= exhausted)
      return run_outcome{false, "pipe2: Too many open files", {}, true};
    return run_outcome{true, {}, "ran\n", false};
  });
  job_policies p;
  p.max_consecutive_errors = 3;
  auto job = f.create("exhausted", every_schedule{1h, {}, {}}, p,
                      exec_target{{"/bin/true"}, {}, ""});
  REQUIRE(job.ok());
  auto id = id_of(*job);
  auto& m = f.sched->metrics();
  const duration ladder[] = {1s, 5s, 30s, 60s};
  for (int i = 0; i < exhausted; ++i) {
    auto s = f.fire(id);
    INFO("infra failure " << i + 1);
    CHECK(s.status == job_status::active);
    CHECK(s.consecutive_errors == 0);
    CHECK(s.consecutive_infra_failures == static_cast<std::uint32_t>(i + 1));
    // Retried after the ladder's step, well before the hourly fire.
    REQUIRE(s.next_run_at);
    CHECK(*s.next_run_at == f.clk.now() + ladder[std::min(i, 3)]);
  }
  CHECK(m.runs_infra_failed.load() == exhausted);
  CHECK(m.infra_retries.load() == exhausted - 1);
  CHECK(m.runs_failed.load() == 0);
  // Resources are back: the next retry runs and the job goes on as if nothing happened.
  auto s = f.fire(id);
  CHECK(s.status == job_status::active);
  REQUIRE(s.last_run);
  CHECK(s.last_run->ok);
  CHECK(s.consecutive_infra_failures == 0);
  CHECK(m.runs_succeeded.load() == 1);
  CHECK(m.infra_retries.load() == exhausted);
  // The run history tells each one with the daemon's reason.
  auto page = f.ask<run_page>(runs_request{id, 20});
  REQUIRE(page.ok());
  REQUIRE(page->runs.size() == exhausted + 1);
  CHECK(page->runs[0].outcome == "succeeded");
  CHECK(page->runs[0].trigger == "retry");
  CHECK(page->runs[1].outcome == "abandoned");
  CHECK(page->runs[1].error == "daemon resource: pipe2: Too many open files");
  auto text = render_prometheus(m, 1, 0, 0, 0, scheduler_testing::journal(*f.sched).health());
  CHECK_THAT(text, Catch::Contains("almanac_infra_failures_total 8\n"));
  CHECK_THAT(text, Catch::Contains("almanac_infra_retries_total 8\n"));
  // The streak is in the log: a restart recovers the job with nothing counted against it.
  f.restart();
  auto after = f.get(id);
  CHECK(after.status == job_status::active);
  CHECK(after.consecutive_errors == 0);
  CHECK(after.runs_started == exhausted + 1);
}
