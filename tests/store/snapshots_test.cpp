// Snapshots and recovery of one job: latest snapshot + tail, and a replay from the start when
// the snapshot cannot be used.
#include "store_fixture.hpp"

#include "events/decide.hpp"
#include "events/evolve.hpp"

namespace almanac::store::test {
namespace {

constexpr job_id job{0x51};

// A job's life through decide, appended as the job actor would: create, pause, resume, pause.
struct driven_job {
  job_state state;
  instant now = t0;

  void send(event_log& log, command_body body) {
    auto events = decide(state, command{std::move(body), "user:alice", {}}, now);
    INFO((events ? std::string{} : events.err().message));
    REQUIRE(events.ok());
    append_ok(log, job, state.seq, *events);
    for (auto& e : *events)
      state = evolve(std::move(state), e);
    now += std::chrono::minutes{1};
  }
};

void run_life(event_log& log, driven_job& j, bool snapshot_midway) {
  j.send(log, create_job{job, "report", every_schedule{std::chrono::hours{1}, {}, every_anchor::grid},
                         handler_target{"noop", ""}, {}});
  j.send(log, pause_job{});
  if (snapshot_midway)
    REQUIRE(log.save_snapshot(job, j.state).is_ok());
  j.send(log, resume_job{});
  j.send(log, pause_job{});
}

TEST_CASE("a saved snapshot loads back and recovery replays only the tail", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  driven_job j;
  run_life(*log, j, true);
  loaded_snapshot snap;
  REQUIRE(log->load_latest_snapshot(job, snap).is_ok());
  REQUIRE(snap.state.has_value());
  CHECK(snap.warning.empty());
  CHECK(snap.state->seq == 2);
  CHECK(snap.state->status == job_status::paused);
  CHECK(snap.state->name == "report");

  job_state recovered;
  std::string warning;
  REQUIRE(log->load_job(job, recovered, &warning).is_ok());
  CHECK(warning.empty());
  CHECK(recovered.seq == j.state.seq);
  CHECK(recovered.status == job_status::paused);
  CHECK(recovered.next_run_at == j.state.next_run_at);

  SECTION("a later snapshot replaces the earlier one") {
    REQUIRE(log->save_snapshot(job, j.state).is_ok());
    REQUIRE(log->load_latest_snapshot(job, snap).is_ok());
    CHECK(snap.state->seq == j.state.seq);
  }
  SECTION("a snapshot beyond the stream or of another job is refused") {
    auto ahead = j.state;
    ahead.seq += 1;
    CHECK(log->save_snapshot(job, ahead).get_code() == status::code::invalid_argument);
    CHECK(log->save_snapshot(job_id{1}, j.state).get_code() == status::code::invalid_argument);
  }
}

TEST_CASE("an undecodable snapshot gives a warning and recovery replays from the start",
          "[store]") {
  temp_dir tmp;
  driven_job j;
  {
    auto log = open_log(tmp.data());
    run_life(*log, j, true);
  }
  with_raw_db(tmp.data(), [](rocksdb::DB& db, auto& h) {
    REQUIRE(db.Put({}, h[3], detail::stream_key(job, 2), "\x01garbage").ok());
  });
  auto log = open_log(tmp.data());
  loaded_snapshot snap;
  REQUIRE(log->load_latest_snapshot(job, snap).is_ok());
  CHECK_FALSE(snap.state.has_value());
  CHECK(snap.warning.find("snapshot of job " + to_string(job) + " at seq 2 does not decode")
        != std::string::npos);
  job_state recovered;
  std::string warning;
  REQUIRE(log->load_job(job, recovered, &warning).is_ok());
  CHECK_FALSE(warning.empty());
  CHECK(recovered.seq == j.state.seq);
  CHECK(recovered.status == j.state.status);
  CHECK(recovered.name == "report");

  std::vector<std::pair<job_state, std::string>> all;
  REQUIRE(log->load_jobs([&](job_state&& s, const std::string& w) {
    all.emplace_back(std::move(s), w);
    return true;
  }).is_ok());
  REQUIRE(all.size() == 1);
  CHECK(all[0].first.seq == j.state.seq);
  CHECK(all[0].second.find("does not decode") != std::string::npos);
}

TEST_CASE("load_jobs recovers every job in one pass like load_job does", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  driven_job j;
  run_life(*log, j, true);
  std::vector<job_state> all;
  REQUIRE(log->load_jobs([&](job_state&& s, const std::string& w) {
    CHECK(w.empty());
    all.push_back(std::move(s));
    return true;
  }).is_ok());
  REQUIRE(all.size() == 1);
  job_state one;
  REQUIRE(log->load_job(job, one).is_ok());
  CHECK(all[0].id == job);
  CHECK(all[0].seq == one.seq);
  CHECK(all[0].status == one.status);
  CHECK(all[0].next_run_at == one.next_run_at);
  CHECK(all[0].name == one.name);
}

TEST_CASE("a job without snapshot recovers from its whole stream", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  driven_job j;
  run_life(*log, j, false);
  loaded_snapshot snap;
  REQUIRE(log->load_latest_snapshot(job, snap).is_ok());
  CHECK_FALSE(snap.state.has_value());
  CHECK(snap.warning.empty());
  job_state recovered;
  REQUIRE(log->load_job(job, recovered).is_ok());
  CHECK(recovered.seq == 4);
  CHECK(recovered.status == job_status::paused);
  job_state unknown;
  REQUIRE(log->load_job(job_id{0x99}, unknown).is_ok());
  CHECK(unknown.seq == 0);
  CHECK_FALSE(unknown.live());
}

} // namespace
} // namespace almanac::store::test
