// Property test: random command sequences at random instants never reach an impossible state.
// Deterministic: a fixed seed per generated case, so a failure repeats.
#include "job_fixture.hpp"

#include <random>

using namespace almanac;
using namespace almanac::test;

TEST_CASE("evolve over decide never produces an impossible state", "[events]") {
  auto seed = GENERATE(range(1, 501));
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  job_fixture job;
  job_policies p;
  p.overlap = static_cast<overlap_policy>(pick(3));
  p.misfire = static_cast<misfire_policy>(pick(3));
  p.catch_up_limit = 3;
  p.max_consecutive_errors = static_cast<std::uint32_t>(1 + pick(4));
  if (pick(4) == 0)
    p.max_runs = static_cast<std::uint64_t>(5 + pick(20));
  if (pick(4) == 0)
    p.delete_after_run = true;
  schedule sched;
  switch (pick(4)) {
    case 0: sched = at_schedule{job.now + 1h}; break;
    case 1: sched = every_schedule{90s, {}, every_anchor::grid}; break;
    case 2: sched = every_schedule{2min, {}, every_anchor::after_run_end}; break;
    default: sched = *make_cron("*/5 * * * *", "Europe/Berlin"); break;
  }
  job.create(sched, p);
  INFO("seed " << seed << " schedule " << describe(sched));
  // A one-shot runs until one of its runs succeeds, and never again after that: not after a
  // pause, a failure or a forced revival that came while the run was in flight.
  const bool one_shot = std::holds_alternative<at_schedule>(sched) || p.delete_after_run;
  bool succeeded = false;
  for (int step = 0; step < 300 && job.state.live(); ++step) {
    job.now += duration{static_cast<duration::rep>(rng() % 600'000'000)};
    command_body cmd;
    switch (pick(10)) {
      case 0: cmd = pause_job{}; break;
      case 1: cmd = resume_job{pick(2) == 0}; break;
      case 2: cmd = run_now{}; break;
      case 3: cmd = abandon_in_flight{}; break;
      case 4:
      case 5:
        if (job.state.in_flight.empty())
          continue;
        // One outcome in four is the daemon's own resources failing (infra).
        cmd = run_finished{job.state.in_flight[static_cast<std::size_t>(pick(
                             static_cast<int>(job.state.in_flight.size())))].run_id,
                           pick(3) == 0, "boom", 1s, {}, pick(4) == 0};
        break;
      case 9:
        if (pick(10) != 0)
          continue;
        cmd = delete_job{};
        break;
      default:
        if (!job.state.next_run_at)
          continue;
        job.now = std::max(job.now, *job.state.next_run_at);
        cmd = due{*job.state.next_run_at};
        break;
    }
    // send() checks every invariant after each accepted command; a refusal changes nothing.
    auto before = job.state;
    auto r = job.send(cmd);
    if (!r) {
      CHECK(job.state.seq == before.seq);
      continue;
    }
    for (const auto& e : *r) {
      if (one_shot && std::holds_alternative<run_started>(e.body)) {
        INFO("a one-shot started a run after a successful one: " << job.recent());
        CHECK_FALSE(succeeded);
      }
      succeeded = succeeded || std::holds_alternative<run_succeeded>(e.body);
    }
    // A deleted job leaves no run open in its log.
    if (job.state.deleted)
      CHECK(job.state.in_flight.empty());
    if (auto* f = std::get_if<run_finished>(&cmd); f && f->infra) {
      // The daemon's failure is never the job's: no error counted, no state change but the
      // run's end, and an active job always has its retry.
      CHECK(job.state.consecutive_errors == before.consecutive_errors);
      CHECK(job.state.status == before.status);
      CHECK(job.state.scheduled_runs_finished == before.scheduled_runs_finished);
      CHECK(job.state.consecutive_infra_failures == before.consecutive_infra_failures + 1);
      if (job.state.status == job_status::active)
        CHECK(job.state.next_run_at);
    }
  }
  CHECK(job.state.seq == job.log.size());
}
