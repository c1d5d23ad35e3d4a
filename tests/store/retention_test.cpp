// Retention: a deleted job's stream is purged after the retention period, its highest sequence
// and the highest position stay, and verify() does not mistake the purge for damage.
#include "store_fixture.hpp"

namespace almanac::store::test {
namespace {

constexpr job_id kept{0x1};
constexpr job_id gone{0x2};

void delete_job_at(event_log& log, job_id job, std::uint64_t after, instant at) {
  append_ok(log, job, after, {make_event(job, after + 1, job_deleted{}, at)});
}

TEST_CASE("purge_deleted removes streams deleted longer ago than the retention", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  append_ok(*log, kept, 0, make_events(kept, 0, 3));
  append_ok(*log, gone, 0, make_events(gone, 0, 4));
  job_state state;
  state.id = gone;
  state.seq = 4;
  REQUIRE(log->save_snapshot(gone, state).is_ok());
  delete_job_at(*log, gone, 4, t0);
  std::uint64_t position = 0;
  REQUIRE(log->highest_position(position).is_ok());
  CHECK(position == 8);

  std::uint64_t purged = 9;
  REQUIRE(log->purge_deleted(t0 + default_retention - 1s, default_retention, &purged).is_ok());
  CHECK(purged == 0);
  CHECK(read_all_of(*log, gone).size() == 5);
  bool listed_deleted = false;
  REQUIRE(log->for_each_stream([&](const stream_info& s) {
    if (s.job == gone)
      listed_deleted = s.deleted_at == t0 && !s.purged;
    return true;
  }).is_ok());
  CHECK(listed_deleted);

  REQUIRE(log->purge_deleted(t0 + default_retention, default_retention, &purged).is_ok());
  CHECK(purged == 1);
  CHECK(read_all_of(*log, gone).empty());
  CHECK(highest(*log, gone) == 5);
  CHECK(read_all_of(*log, kept).size() == 3);
  loaded_snapshot snap;
  REQUIRE(log->load_latest_snapshot(gone, snap).is_ok());
  CHECK_FALSE(snap.state.has_value());
  std::uint64_t count = 0;
  REQUIRE(log->read_all(0, [&](std::uint64_t, const event& e) {
    CHECK(e.env.job == kept);
    return ++count, true;
  }).is_ok());
  CHECK(count == 3);
  // The purged events were the last ones: the highest position still does not go back.
  REQUIRE(log->highest_position(position).is_ok());
  CHECK(position == 8);
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
  CHECK(report.purged_streams == 1);

  REQUIRE(log->purge_deleted(t0 + default_retention * 2, default_retention, &purged).is_ok());
  CHECK(purged == 0);
}

TEST_CASE("the highest sequence and position survive purge and reopen", "[store]") {
  temp_dir tmp;
  {
    auto log = open_log(tmp.data());
    append_ok(*log, kept, 0, make_events(kept, 0, 2));
    append_ok(*log, gone, 0, make_events(gone, 0, 6));
    delete_job_at(*log, gone, 6, t0);
    REQUIRE(log->purge_deleted(t0 + 1h, 1h).is_ok());
  }
  auto log = open_log(tmp.data());
  CHECK(highest(*log, gone) == 7);
  CHECK(read_all_of(*log, gone).empty());
  CHECK(log->append(gone, 0, make_events(gone, 0, 1)).is_conflict());
  std::uint64_t first = 0;
  REQUIRE(log->append(kept, 2, make_events(kept, 2, 1), &first).is_ok());
  CHECK(first == 10);
  std::vector<stream_info> streams;
  REQUIRE(log->for_each_stream([&](const stream_info& s) {
    streams.push_back(s);
    return true;
  }).is_ok());
  REQUIRE(streams.size() == 2);
  CHECK(streams[1].job == gone);
  CHECK(streams[1].purged);
  CHECK(streams[1].highest_seq == 7);
  CHECK(streams[0].highest_seq == 3);
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
}

} // namespace
} // namespace almanac::store::test
