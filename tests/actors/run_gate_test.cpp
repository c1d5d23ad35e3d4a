#include "actors/run_gate.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace almanac;

namespace {

wanted_run run_of(std::uint64_t job, std::uint64_t ticket = 0) {
  wanted_run w;
  w.job = job_id{job};
  w.ticket = ticket;
  return w;
}

std::vector<std::uint64_t> tickets(const std::vector<wanted_run>& runs) {
  std::vector<std::uint64_t> out;
  for (const auto& w : runs)
    out.push_back(w.ticket);
  return out;
}

} // namespace

TEST_CASE("a run starts at once while a slot is free and nobody waits", "[actors]") {
  run_gate gate{2};
  gate.set_load(job_id{1}, "", 0);
  auto started = gate.want(run_of(1, 11));
  REQUIRE(started);
  CHECK(started->ticket == 11);
  CHECK(gate.reserved(job_id{1}));
  CHECK(gate.slots_used() == 1);
  CHECK(gate.waiting() == 0);
}

TEST_CASE("the global limit holds runs back until a slot is free", "[actors]") {
  run_gate gate{2};
  for (std::uint64_t j = 1; j <= 4; ++j)
    gate.set_load(job_id{j}, "", 0);
  // Two runs in flight fill the limit, reserved slots count the same.
  gate.set_load(job_id{1}, "", 1);
  REQUIRE(gate.want(run_of(2, 2)));
  CHECK(gate.slots_used() == 2);
  CHECK_FALSE(gate.want(run_of(3, 3)));
  CHECK_FALSE(gate.want(run_of(4, 4)));
  CHECK(gate.drain().start.empty());
  // The job's answer comes: its run is in flight now, the reservation ends.
  gate.release(job_id{2});
  gate.set_load(job_id{2}, "", 1);
  CHECK(gate.drain().start.empty());
  // A run finishes: exactly one waiting run may go, the first.
  gate.set_load(job_id{1}, "", 0);
  auto d = gate.drain();
  CHECK(tickets(d.start) == std::vector<std::uint64_t>{3});
  CHECK(gate.waiting() == 1);
}

TEST_CASE("the waiting queue is first in first out", "[actors]") {
  run_gate gate{1};
  for (std::uint64_t j = 1; j <= 5; ++j)
    gate.set_load(job_id{j}, "", 0);
  REQUIRE(gate.want(run_of(1, 1)));
  for (std::uint64_t j = 2; j <= 5; ++j)
    CHECK_FALSE(gate.want(run_of(j, j)));
  std::vector<std::uint64_t> order;
  for (std::uint64_t done = 1; done <= 4; ++done) {
    gate.release(job_id{done});
    auto d = gate.drain();
    REQUIRE(d.start.size() == 1);
    order.push_back(d.start.front().ticket);
  }
  CHECK(order == std::vector<std::uint64_t>{2, 3, 4, 5});
}

TEST_CASE("a run waits behind others even when a slot is free", "[actors]") {
  run_gate gate{3};
  gate.set_load(job_id{1}, "g", 1);
  gate.set_load(job_id{2}, "g", 0);
  gate.set_load(job_id{3}, "", 0);
  CHECK_FALSE(gate.want(run_of(2, 2)));
  // Job 3 could start, but job 2 waits before it: a new want does not overtake the queue.
  CHECK_FALSE(gate.want(run_of(3, 3)));
  // drain lets job 3 past job 2, which its group holds back.
  auto d = gate.drain();
  CHECK(tickets(d.start) == std::vector<std::uint64_t>{3});
  CHECK(gate.waiting() == 1);
}

TEST_CASE("a group member waits while another member runs", "[actors]") {
  struct row {
    const char* what;
    std::string group_a;
    std::string group_b;
    bool b_starts;
  };
  auto r = GENERATE(row{"same group", "reports", "reports", false},
                    row{"other group", "reports", "billing", true},
                    row{"no group on the waiting job", "reports", "", true},
                    row{"no group on the running job", "", "reports", true});
  INFO(r.what);
  run_gate gate{10};
  gate.set_load(job_id{1}, r.group_a, 1);
  gate.set_load(job_id{2}, r.group_b, 0);
  CHECK(gate.can_start(job_id{2}) == r.b_starts);
  CHECK(gate.want(run_of(2)).has_value() == r.b_starts);
  if (!r.b_starts) {
    // The run ends: the group is free and the waiting member goes.
    gate.set_load(job_id{1}, r.group_a, 0);
    CHECK_FALSE(gate.group_busy(r.group_a));
    CHECK(gate.drain().start.size() == 1);
    CHECK(gate.group_busy(r.group_b));
  }
}

TEST_CASE("a reserved slot holds the group until released", "[actors]") {
  run_gate gate{10};
  gate.set_load(job_id{1}, "g", 0);
  gate.set_load(job_id{2}, "g", 0);
  REQUIRE(gate.want(run_of(1)));
  CHECK(gate.group_busy("g"));
  CHECK_FALSE(gate.can_start(job_id{2}));
  // The job moves to another group while reserved: the old group is free.
  gate.set_load(job_id{1}, "h", 0);
  CHECK_FALSE(gate.group_busy("g"));
  CHECK(gate.group_busy("h"));
  gate.release(job_id{1});
  CHECK_FALSE(gate.group_busy("h"));
  CHECK(gate.slots_used() == 0);
}

TEST_CASE("waiting runs of a gone job are dropped and free nothing twice", "[actors]") {
  run_gate gate{1};
  gate.set_load(job_id{1}, "", 1);
  gate.set_load(job_id{2}, "", 0);
  CHECK_FALSE(gate.want(run_of(2, 2)));
  gate.forget(job_id{2});
  gate.forget(job_id{1});
  CHECK(gate.slots_used() == 0);
  auto d = gate.drain();
  CHECK(d.start.empty());
  CHECK(tickets(d.gone) == std::vector<std::uint64_t>{2});
  CHECK_FALSE(gate.can_start(job_id{1}));
}

TEST_CASE("a stopping gate starts nothing and hands back its queue", "[actors]") {
  run_gate gate{1};
  gate.set_load(job_id{1}, "", 1);
  gate.set_load(job_id{2}, "", 0);
  gate.set_load(job_id{3}, "", 0);
  CHECK_FALSE(gate.want(run_of(2, 2)));
  CHECK_FALSE(gate.want(run_of(3, 3)));
  auto queued = gate.stop();
  CHECK(tickets(queued) == std::vector<std::uint64_t>{2, 3});
  gate.set_load(job_id{1}, "", 0);
  CHECK(gate.stopping());
  CHECK_FALSE(gate.can_start(job_id{2}));
  CHECK_FALSE(gate.want(run_of(2)));
  CHECK(gate.drain().start.empty());
}
