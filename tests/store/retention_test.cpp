// Retention: a deleted job's stream is purged after the retention period, its highest sequence
// and the highest position stay, and verify() does not mistake the purge for damage. The
// backend-independent part runs against both journal backends.
#include "journal_backends.hpp"

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
  REQUIRE(log
            ->for_each_stream([&](const stream_info& s) {
              if (s.job == gone)
                listed_deleted = s.deleted_at == t0 && !s.purged;
              return true;
            })
            .is_ok());
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
  REQUIRE(log
            ->read_all(0,
                       [&](std::uint64_t, const event& e) {
                         CHECK(e.env.job == kept);
                         return ++count, true;
                       })
            .is_ok());
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
  REQUIRE(log
            ->for_each_stream([&](const stream_info& s) {
              streams.push_back(s);
              return true;
            })
            .is_ok());
  REQUIRE(streams.size() == 2);
  CHECK(streams[1].job == gone);
  CHECK(streams[1].purged);
  CHECK(streams[1].highest_seq == 7);
  CHECK(streams[0].highest_seq == 3);
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
}

std::vector<stream_info> streams_of(const journal& log) {
  std::vector<stream_info> out;
  must(log.for_each_stream([&](const stream_info& s) {
    out.push_back(s);
    return true;
  }));
  return out;
}

TEMPLATE_TEST_CASE("a stream deleted longer ago than the retention is purged in either backend",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto& log = b.log();
  must(log.append(kept, 0, make_events(kept, 0, 3)));
  must(log.append(gone, 0, make_events(gone, 0, 4)));
  job_state state;
  state.id = gone;
  state.seq = 4;
  must(log.save_snapshot(gone, state));
  must(log.append(gone, 4, {make_event(gone, 5, job_deleted{}, t0)}));
  CHECK(position_of(log) == 8);

  std::uint64_t purged = 9;
  must(log.purge_deleted(t0 + default_retention - 1us, default_retention, &purged));
  CHECK(purged == 0);
  CHECK(stream_of(log, gone).size() == 5);
  auto streams = streams_of(log);
  REQUIRE(streams.size() == 2);
  CHECK(streams[1].job == gone);
  CHECK(streams[1].deleted_at == t0);
  CHECK_FALSE(streams[1].purged);

  must(log.purge_deleted(t0 + default_retention, default_retention, &purged));
  CHECK(purged == 1);
  CHECK(stream_of(log, gone).empty());
  CHECK(highest_of(log, gone) == 5);
  CHECK(stream_of(log, kept).size() == 3);
  loaded_snapshot snap;
  must(log.load_latest_snapshot(gone, snap));
  CHECK_FALSE(snap.state.has_value());
  std::uint64_t count = 0;
  must(log.read_all(0, [&](std::uint64_t, const event& e) {
    CHECK(e.env.job == kept);
    return ++count, true;
  }));
  CHECK(count == 3);
  // The purged events were the last ones: the highest position still does not go back.
  CHECK(position_of(log) == 8);
  streams = streams_of(log);
  REQUIRE(streams.size() == 2);
  CHECK(streams[0].job == kept);
  CHECK_FALSE(streams[0].purged);
  CHECK(streams[1].job == gone);
  CHECK(streams[1].purged);
  CHECK(streams[1].highest_seq == 5);
  CHECK_FALSE(streams[1].deleted_at.has_value());
  std::vector<job_id> loaded;
  must(log.load_jobs([&](job_state&& s, const std::string&) {
    loaded.push_back(s.id);
    return true;
  }));
  CHECK(loaded == std::vector<job_id>{kept});
  verify_report report;
  must(log.verify(report));
  CHECK(report.ok());
  CHECK(report.purged_streams == 1);
  CHECK(report.streams == 2);

  must(log.purge_deleted(t0 + default_retention * 2, default_retention, &purged));
  CHECK(purged == 0);
}

TEMPLATE_TEST_CASE("a purged stream keeps its highest sequence and the position after reopen",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(kept, 0, make_events(kept, 0, 2)));
  must(b.log().append(gone, 0, make_events(gone, 0, 6)));
  must(b.log().append(gone, 6, {make_event(gone, 7, job_deleted{}, t0)}));
  must(b.log().purge_deleted(t0 + 1h, 1h));
  must(b.reopen());
  auto& log = b.log();
  CHECK(highest_of(log, gone) == 7);
  CHECK(stream_of(log, gone).empty());
  CHECK(log.append(gone, 0, make_events(gone, 0, 1)).is_conflict());
  std::uint64_t first = 0;
  must(log.append(kept, 2, make_events(kept, 2, 1), &first));
  CHECK(first == 10);
  auto streams = streams_of(log);
  REQUIRE(streams.size() == 2);
  CHECK(streams[1].job == gone);
  CHECK(streams[1].purged);
  CHECK(streams[1].highest_seq == 7);
  CHECK(streams[0].highest_seq == 3);
  verify_report report;
  must(log.verify(report));
  CHECK(report.ok());
}

TEST_CASE("a PostgreSQL purge deletes the rows of events and snapshots and keeps the stream row",
          "[store][postgres]") {
  postgres_backend b;
  auto& log = b.log();
  must(log.append(kept, 0, make_events(kept, 0, 2)));
  must(log.append(gone, 0, make_events(gone, 0, 3)));
  job_state state;
  state.id = gone;
  state.seq = 3;
  must(log.save_snapshot(gone, state));
  must(log.append(gone, 3, {make_event(gone, 4, job_deleted{}, t0)}));
  // A second process on the same database sees the deletion and purges.
  auto other = postgres_backend::open_pg(b.conninfo);
  std::uint64_t purged = 0;
  must(other->purge_deleted(t0 + 1h, 1h, &purged));
  CHECK(purged == 1);
  using almanac::test::pg_cluster;
  auto gone_id = std::to_string(static_cast<std::int64_t>(gone.value));
  CHECK(pg_cluster::query(b.conninfo, "SELECT count(*) FROM almanac_events WHERE job = " + gone_id)
        == "0");
  CHECK(pg_cluster::query(b.conninfo, "SELECT count(*) FROM almanac_snapshots") == "0");
  CHECK(pg_cluster::query(b.conninfo, "SELECT count(*) FROM almanac_events") == "2");
  CHECK(
    pg_cluster::query(b.conninfo, "SELECT highest_seq FROM almanac_streams WHERE job = " + gone_id
                                    + " AND purged_seq = highest_seq AND deleted_at IS NULL")
    == "4");
  CHECK(pg_cluster::query(b.conninfo, "SELECT highest FROM almanac_position") == "6");
  CHECK(highest_of(log, gone) == 4);
  // The stream goes on after its purge: the next append continues its sequence and position.
  std::uint64_t first = 0;
  must(log.append(gone, 4, make_events(gone, 4, 1), &first));
  CHECK(first == 7);
  auto streams = streams_of(log);
  REQUIRE(streams.size() == 2);
  CHECK_FALSE(streams[1].purged);
  CHECK(seqs(stream_of(log, gone)) == std::vector<std::uint64_t>{5});
  // The stream starts after the purged sequences: not a gap.
  verify_report report;
  must(log.verify(report));
  CHECK(report.ok());
  CHECK(report.purged_streams == 0);
}

} // namespace
} // namespace almanac::store::test
