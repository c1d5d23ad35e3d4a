// Integrity: verify() on a healthy log, on damage made through RocksDB (gaps, mismatches,
// dangling entries), and on a byte flipped in a table file; what both backends must report,
// against each; damage planted with plain SQL in PostgreSQL.
#include "journal_backends.hpp"

#include "events/codec.hpp"

#include <fstream>

namespace almanac::store::test {
namespace {

constexpr job_id job_a{0xa};
constexpr job_id job_b{0xb};

bool has(const verify_report& r, problem_kind kind, job_id job, std::uint64_t seq) {
  for (auto& p : r.problems)
    if (p.kind == kind && p.job == job && p.seq == seq)
      return true;
  return false;
}

TEST_CASE("verify finds nothing wrong in a healthy log", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  append_ok(*log, job_a, 0, make_events(job_a, 0, 5));
  append_ok(*log, job_b, 0, make_events(job_b, 0, 3));
  REQUIRE(log->flush().is_ok());
  append_ok(*log, job_a, 5, make_events(job_a, 5, 1));
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
  CHECK(report.streams == 2);
  CHECK(report.events == 9);
  CHECK(report.global_entries == 9);
}

TEST_CASE("verify reports gaps, mismatches and dangling global entries with job and seq",
          "[store]") {
  temp_dir tmp;
  {
    auto log = open_log(tmp.data());
    append_ok(*log, job_a, 0, make_events(job_a, 0, 5));
    append_ok(*log, job_b, 0, make_events(job_b, 0, 3));
  }
  with_raw_db(tmp.data(), [](rocksdb::DB& db, auto& h) {
    using namespace detail;
    // job a loses seq 3; job b's seq 2 holds job b's seq 3; position 99 points nowhere.
    REQUIRE(db.Delete({}, h[1], stream_key(job_a, 3)).ok());
    std::string seq3;
    REQUIRE(db.Get({}, h[1], stream_key(job_b, 3), &seq3).ok());
    REQUIRE(db.Put({}, h[1], stream_key(job_b, 2), seq3).ok());
    REQUIRE(db.Put({}, h[1], stream_key(job_id{0xc}, 1), "not an event").ok());
    REQUIRE(db.Put({}, h[2], u64_key(99), stream_key(job_id{0xd}, 1) + seq3).ok());
  });
  auto log = open_log(tmp.data());
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK_FALSE(report.ok());
  CHECK(has(report, problem_kind::gap, job_a, 3));
  CHECK(has(report, problem_kind::dangling_global, job_a, 3));
  CHECK(has(report, problem_kind::envelope_mismatch, job_b, 2));
  CHECK(has(report, problem_kind::undecodable, job_id{0xc}, 1));
  CHECK(has(report, problem_kind::missing_global, job_id{0xc}, 1));
  CHECK(has(report, problem_kind::dangling_global, job_id{0xd}, 1));
  for (auto& p : report.problems)
    CHECK(p.message.find(to_string(p.job)) != std::string::npos);

  std::vector<event> out;
  auto st = log->read_stream(job_b, 1, out);
  CHECK(st.is_corruption());
  CHECK(st.message().find("seq 2") != std::string::npos);
  CHECK(to_error(st).code == errc::corrupt_event);
}

TEST_CASE("a byte flipped in a table file is reported and never read as a valid event", "[store]") {
  temp_dir tmp;
  std::vector<event> written;
  {
    auto log = open_log(tmp.data());
    for (std::uint64_t seq = 0; seq < 400; seq += 4) {
      auto events = make_events(job_a, seq, 4);
      append_ok(*log, job_a, seq, events);
      written.insert(written.end(), events.begin(), events.end());
    }
    REQUIRE(log->flush().is_ok());
  }
  int flipped = 0;
  for (auto& entry : std::filesystem::directory_iterator(tmp.data())) {
    // The tables of the streams and the global index, not the few bytes of meta.
    if (entry.path().extension() != ".sst" || entry.file_size() < 4096)
      continue;
    // Early in the file: inside the first data block, not the footer or index.
    std::fstream f{entry.path(), std::ios::in | std::ios::out | std::ios::binary};
    std::streamoff offset = 64;
    f.seekg(offset);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(offset);
    f.write(&c, 1);
    ++flipped;
  }
  REQUIRE(flipped >= 2);

  std::unique_ptr<event_log> log;
  auto st = event_log::open(tmp.data(), {}, log);
  // Opening reads only footers and indexes, so a damaged data block is found later.
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK_FALSE(report.ok());
  CHECK(std::any_of(report.problems.begin(), report.problems.end(),
                    [](const problem& p) { return p.kind == problem_kind::checksum; }));

  auto same = [&](const event& e) {
    REQUIRE(e.env.seq >= 1);
    REQUIRE(e.env.seq <= written.size());
    auto& w = written[e.env.seq - 1];
    CHECK(e.env.job == w.env.job);
    CHECK(e.env.note == w.env.note);
    CHECK(std::get<run_skipped>(e.body).scheduled_for
          == std::get<run_skipped>(w.body).scheduled_for);
  };
  std::vector<event> out;
  auto read = log->read_stream(job_a, 1, out);
  for (auto& e : out)
    same(e);
  auto all = log->read_all(0, [&](std::uint64_t, const event& e) { return same(e), true; });
  CHECK((!read.is_ok() || !all.is_ok()));
  if (!read.is_ok())
    CHECK(read.is_corruption());
}

verify_report verified(const journal& log) {
  verify_report report;
  must(log.verify(report));
  return report;
}

std::string kinds(const verify_report& r) {
  std::string out;
  for (auto& p : r.problems)
    out += std::string{to_string(p.kind)} + " " + to_string(p.job) + "/" + std::to_string(p.seq)
           + ": " + p.message + "\n";
  return out;
}

TEMPLATE_TEST_CASE("verify finds nothing wrong in a healthy log of either backend",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  must(b.log().append(job_a, 0, make_events(job_a, 0, 5)));
  must(b.log().append(job_b, 0, make_events(job_b, 0, 3)));
  must(b.log().append(job_a, 5, make_events(job_a, 5, 1)));
  auto report = verified(b.log());
  INFO(kinds(report));
  CHECK(report.ok());
  CHECK(report.streams == 2);
  CHECK(report.events == 9);
  CHECK(report.global_entries == 9);
  CHECK(report.purged_streams == 0);
}

TEMPLATE_TEST_CASE("verify reports an undecodable event and a misplaced envelope by job and seq",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto b_events = make_events(job_b, 0, 3);
  must(b.log().append(job_a, 0, make_events(job_a, 0, 3)));
  must(b.log().append(job_b, 0, b_events));
  REQUIRE(verified(b.log()).ok());
  b.plant_event_bytes(job_a, 2, "not an event");
  b.plant_event_bytes(job_b, 2, encode_event(b_events[2]));
  auto report = verified(b.log());
  INFO(kinds(report));
  CHECK_FALSE(report.ok());
  CHECK(has(report, problem_kind::undecodable, job_a, 2));
  CHECK(has(report, problem_kind::envelope_mismatch, job_b, 2));
  CHECK(report.problems_total == 2);
  for (auto& p : report.problems)
    CHECK(p.message.find(to_string(p.job)) != std::string::npos);
}

TEST_CASE("verify on PostgreSQL reports gaps, counters and order planted with plain SQL",
          "[store][postgres]") {
  using almanac::test::pg_cluster;
  postgres_backend b;
  auto& log = b.log();
  constexpr job_id job_c{0xc};
  constexpr job_id job_d{0xd};
  must(log.append(job_a, 0, make_events(job_a, 0, 5)));
  must(log.append(job_b, 0, make_events(job_b, 0, 3)));
  must(log.append(job_c, 0, make_events(job_c, 0, 2)));
  must(log.append(job_d, 0, make_events(job_d, 0, 2)));
  REQUIRE(verified(log).ok());
  auto sql = [&](const std::string& statement) { pg_cluster::exec(b.conninfo, statement); };
  // job a loses seq 3 and its last seq 5; job b's seq 2 and 3 swap positions; job c's seq 2 is
  // beyond the counter; job d loses its stream row.
  sql("DELETE FROM almanac_events WHERE job = 10 AND seq IN (3, 5)");
  sql("UPDATE almanac_events SET position = -position WHERE job = 11 AND seq IN (2, 3)");
  sql("UPDATE almanac_events SET position = CASE seq WHEN 2 THEN 8 ELSE 7 END"
      " WHERE job = 11 AND seq IN (2, 3)");
  sql("UPDATE almanac_events SET position = 1000 WHERE job = 12 AND seq = 2");
  sql("DELETE FROM almanac_streams WHERE job = 13");
  auto report = verified(log);
  INFO(kinds(report));
  CHECK(has(report, problem_kind::gap, job_a, 3));
  CHECK(has(report, problem_kind::gap, job_a, 5));
  CHECK(has(report, problem_kind::order_mismatch, job_b, 3));
  CHECK(has(report, problem_kind::counter_mismatch, job_c, 2));
  CHECK(has(report, problem_kind::dangling_global, job_d, 1));
  CHECK(report.problems_total == 5);
  CHECK(report.streams == 3);
  CHECK(report.events == 10);
  for (auto& p : report.problems)
    CHECK(p.message.find(to_string(p.job)) != std::string::npos);

  // A stream row raised beyond its events: the tail is missing.
  sql("UPDATE almanac_streams SET highest_seq = 4 WHERE job = 11");
  report = verified(log);
  INFO(kinds(report));
  CHECK(has(report, problem_kind::gap, job_b, 4));
}

} // namespace
} // namespace almanac::store::test
