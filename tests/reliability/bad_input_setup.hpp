// The scheduler every bad-input table is sent to, whatever the door (admin actor, HTTP, CLI):
// jobs in every status a command can be refused in, and the log's fingerprint once they exist.
#pragma once

#include "reliability_fixture.hpp"

#include <thread>

namespace almanac::reliability {

// Jobs in every status a command can be refused in.
struct table_setup {
  scheduler_fixture f;
  log_fingerprint baseline;

  table_setup() {
    f.start();
    f.sched->register_handler("boom", [](const run_context&) {
      throw std::runtime_error("exit 1");
    });
    // Both fire at 10:30, before the other jobs exist, so that no timer is due afterwards.
    job_policies fail_fast;
    fail_fast.max_consecutive_errors = 1;
    REQUIRE(f.create("failed-job", every_schedule{30min, f.clk.now()}, fail_fast,
                     handler_target{"boom", ""})
              .ok());
    f.created("done-job", at_schedule{f.clk.now() + 30min});
    f.clk.advance(30min);
    f.sched->check_timers();
    wait_for("failed-job", job_status::failed);
    wait_for("done-job", job_status::completed);
    f.created("daily", *make_cron("0 9 * * *", "Europe/Berlin"));
    f.created("paused-job", every_schedule{1h, f.clk.now()});
    REQUIRE(f.ask<job_state>(pause_request{"paused-job", "user:alice", ""}).ok());
    baseline = fingerprint(scheduler_testing::log(*f.sched));
  }

  void wait_for(const std::string& job, job_status status) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      auto s = f.ask<job_state>(get_request{job});
      REQUIRE(s.ok());
      if (s->status == status && s->in_flight.empty())
        return;
      if (std::chrono::steady_clock::now() > deadline)
        FAIL(job << " did not become " << to_string(status));
      std::this_thread::sleep_for(1ms);
    }
  }
};

} // namespace almanac::reliability
