// A scheduler embedded as an application would embed it, on a fresh data directory and a manual
// clock. Time moves only when a test moves it; waiting is for other threads' work (an append, a
// run on the executor), polled with a bound, never for a timer.
#pragma once

#include <almanac/almanac.hpp>
#include <almanac/caf_error.hpp>
#include <almanac/time.hpp>

#include "tests/common/temp_dir.hpp"
#include "actors/projector.hpp"
#include "actors/testing.hpp"
#include "events/decide.hpp"
#include "store/event_log.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

namespace almanac::test {

using namespace std::chrono_literals;

inline instant at(std::string_view iso) {
  auto r = parse_instant(iso);
  REQUIRE(r.ok());
  return *r;
}

inline caf::actor_system_config& config_with_types(caf::actor_system_config& cfg) {
  add_message_types(cfg);
  return cfg;
}

struct runtime_fixture {
  temp_dir dir;
  manual_clock clk{at("2026-03-02T10:00:00Z")};
  caf::actor_system_config cfg;
  caf::actor_system sys{config_with_types(cfg)};
  std::unique_ptr<scheduler> sched;
  // Runs seen by the "record" handler, and whether it should fail.
  std::mutex mtx;
  std::vector<run_key> runs;
  std::atomic<bool> fail_runs{false};
  // Executor workers of the next start().
  std::size_t workers = 4;
  // The scheduler's log lines (warnings and errors), for tests that expect a report.
  std::vector<std::string> said;

  runtime_fixture() { start(); }
  ~runtime_fixture() {
    if (sched)
      sched->stop(0s);
  }

  // `extra` handlers are in place before recovery, like "record", so an overdue job's run at
  // start-up finds them.
  void start(runtime_settings settings = {}, std::map<std::string, handler> extra = {}) {
    scheduler_options opts;
    opts.data_dir = dir.data();
    opts.durability = store::durability::none;
    opts.clk = &clk;
    opts.settings = settings;
    opts.executor.workers = workers;
    opts.logger = [this](log_level level, const std::string& line) {
      if (level < log_level::warning)
        return;
      std::lock_guard guard{mtx};
      said.push_back(line);
    };
    opts.handlers = std::move(extra);
    opts.handlers["record"] = [this](const run_context& ctx) {
      {
        std::lock_guard guard{mtx};
        runs.push_back(ctx.key);
      }
      if (fail_runs)
        throw std::runtime_error("exit 1");
    };
    auto s = scheduler::start(sys, std::move(opts));
    if (!s)
      FAIL("scheduler did not start: " << s.err().message);
    sched = std::move(*s);
  }

  void restart(runtime_settings settings = {}) {
    sched->stop(5s);
    sched.reset();
    start(settings);
  }

  // Whether some warning or error line holds every one of `parts`.
  bool said_all(const std::vector<std::string>& parts) {
    std::lock_guard guard{mtx};
    for (const auto& line : said) {
      bool all = true;
      for (const auto& p : parts)
        all = all && line.find(p) != std::string::npos;
      if (all)
        return true;
    }
    return false;
  }

  std::size_t run_count() {
    std::lock_guard guard{mtx};
    return runs.size();
  }

  // Sends an admin request and waits for the reply.
  template <class Reply, class Request>
  result<Reply> ask(Request req) {
    std::optional<result<Reply>> out;
    {
      caf::scoped_actor self{sys};
      self->request(sched->admin(), 10s, std::move(req))
        .receive([&](Reply& r) { out.emplace(std::move(r)); },
                 [&](caf::error& e) { out.emplace(from_caf_error(e)); });
    }
    return std::move(*out);
  }

  result<job_state> create(std::string name, schedule sched_, job_policies p = {},
                           target what = handler_target{"record", ""}) {
    return ask<job_state>(create_request{job_spec{std::move(name), std::move(sched_),
                                                  std::move(what), std::move(p)},
                                         "user:alice", ""});
  }

  job_state get(const std::string& job) {
    auto r = ask<job_state>(get_request{job});
    if (!r)
      FAIL("get " << job << ": " << r.err().message);
    return *r;
  }

  // Polls `pred` on the job's state until it holds (at most 10 s of other threads' work).
  job_state until(const std::string& job, const std::function<bool(const job_state&)>& pred) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      auto s = get(job);
      if (pred(s))
        return s;
      if (std::chrono::steady_clock::now() > deadline)
        FAIL("condition not reached; job status " << to_string(s.status) << ", seq " << s.seq);
      std::this_thread::sleep_for(1ms);
    }
  }

  // Waits (at most 10 s) for other threads' work to make `pred` true.
  static void wait_until(const std::function<bool()>& pred) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!pred()) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(1ms);
    }
  }

  // Stops the scheduler as a crash would leave it (runs in flight stay in flight), lets
  // `downtime` pass, and starts it again with `settings`.
  void restart_after(duration downtime, runtime_settings settings = {}) {
    sched->stop(0s);
    sched.reset();
    clk.advance(downtime);
    start(settings);
  }

  // Moves the clock to the job's next fire, lets the timer fire, and waits until that run has
  // finished (or, with wait_finish false, started).
  job_state fire(const std::string& job, bool wait_finish = true) {
    auto s = get(job);
    REQUIRE(s.next_run_at);
    auto started = s.runs_started;
    if (clk.now() < *s.next_run_at)
      clk.set(*wake_at(s));
    sched->check_timers();
    return until(job, [&](const job_state& x) {
      return x.runs_started > started && (!wait_finish || x.in_flight.empty());
    });
  }

  std::vector<event> log_of(job_id id) {
    std::vector<event> out;
    REQUIRE(scheduler_testing::log(*sched).read_stream(id, 1, out).ok());
    return out;
  }

  std::vector<audit_entry> audit(const std::string& job) {
    auto r = ask<audit_page>(audit_request{job, 100, 0});
    REQUIRE(r.ok());
    return r->entries;
  }
};

} // namespace almanac::test
