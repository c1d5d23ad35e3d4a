// A job driven through decide and evolve at an injected instant, as the job actor drives it,
// with the invariants checked after every accepted command.
#pragma once

#include "events/decide.hpp"
#include "events/evolve.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace almanac::test {

inline instant at(std::string_view iso) {
  auto r = parse_instant(iso);
  REQUIRE(r.ok());
  return *r;
}

using namespace std::chrono_literals;

struct job_fixture {
  job_state state;
  instant now = at("2026-03-01T00:00:00Z");
  std::vector<event> log;

  result<std::vector<event>> send(command_body body, std::string actor = "user:alice",
                                  std::string note = {}) {
    auto r = decide(state, command{std::move(body), std::move(actor), std::move(note)}, now);
    if (r) {
      REQUIRE_FALSE(r->empty());
      for (const auto& e : *r) {
        REQUIRE(e.env.seq == state.seq + 1);
        state = evolve(std::move(state), e);
        log.push_back(e);
      }
      auto inv = check_invariants(state);
      INFO(inv.err().message << " after " << recent());
      REQUIRE(inv.ok());
    }
    return r;
  }

  // The last events, for failure messages.
  std::string recent() const {
    std::string out;
    for (auto i = log.size() > 6 ? log.size() - 6 : 0; i < log.size(); ++i)
      out += std::string{event_name(log[i].body)} + "(" + log[i].env.cause + ") ";
    return out;
  }

  // Sends a command that must be accepted and returns its events.
  std::vector<event> ok(command_body body, std::string note = {}) {
    auto r = send(std::move(body), "user:alice", std::move(note));
    if (!r)
      FAIL("refused: " << r.err().message);
    return *r;
  }

  void create(schedule sched, job_policies policies = {}, std::string name = "report") {
    ok(create_job{job_id{42}, std::move(name), std::move(sched), handler_target{"noop", ""},
                  std::move(policies)});
  }

  void create_every(duration interval, job_policies policies = {}) {
    create(every_schedule{interval, {}, every_anchor::grid}, std::move(policies));
  }

  // Lets the timer fire at next_run_at and starts the run; returns its id.
  std::uint64_t fire() {
    REQUIRE(state.next_run_at.has_value());
    now = std::max(now, *state.next_run_at);
    auto events = ok(due{*state.next_run_at});
    auto* started = std::get_if<run_started>(&events.back().body);
    REQUIRE(started != nullptr);
    return started->run_id;
  }

  void finish(std::uint64_t run_id, bool success, std::string error = "boom") {
    ok(run_finished{run_id, success, success ? std::string{} : std::move(error), 1s, {}});
  }

  template <class T>
  const T& last() const {
    REQUIRE_FALSE(log.empty());
    auto* e = std::get_if<T>(&log.back().body);
    REQUIRE(e != nullptr);
    return *e;
  }
};

} // namespace almanac::test
