// The journal contract, after the cases of Akka's persistence TCK (JournalSpec), against real
// RocksDB in a fresh directory per test.
#include "store_fixture.hpp"

#include "store/status.hpp"

#include <sys/stat.h>

namespace almanac::store::test {
namespace {

constexpr job_id job_a{0xa};
constexpr job_id job_b{0xb};

// Five events in five appends, as a job actor writes them.
std::unique_ptr<event_log> log_with_five(const temp_dir& tmp) {
  auto log = open_log(tmp.data());
  for (std::uint64_t seq = 0; seq < 5; ++seq)
    append_ok(*log, job_a, seq, make_events(job_a, seq, 1));
  return log;
}

TEST_CASE("read_stream replays all events of a stream in order", "[store]") {
  temp_dir tmp;
  auto log = log_with_five(tmp);
  auto events = read_all_of(*log, job_a);
  CHECK(seqs(events) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(events[2].env.note == "note 3");
  CHECK(std::holds_alternative<run_skipped>(events[2].body));
}

TEST_CASE("read_stream honours from and to bounds", "[store]") {
  temp_dir tmp;
  auto log = log_with_five(tmp);
  std::vector<event> out;
  REQUIRE(log->read_stream(job_a, 2, 4, max_count, out).is_ok());
  CHECK(seqs(out) == std::vector<std::uint64_t>{2, 3, 4});
  out.clear();
  REQUIRE(log->read_stream(job_a, 4, 100, max_count, out).is_ok());
  CHECK(seqs(out) == std::vector<std::uint64_t>{4, 5});
  out.clear();
  REQUIRE(log->read_stream(job_a, 0, 1, max_count, out).is_ok());
  CHECK(seqs(out) == std::vector<std::uint64_t>{1});
}

TEST_CASE("read_stream with max count 0 gives nothing and with 1 gives one event", "[store]") {
  temp_dir tmp;
  auto log = log_with_five(tmp);
  std::vector<event> out;
  REQUIRE(log->read_stream(job_a, 1, max_seq, 0, out).is_ok());
  CHECK(out.empty());
  REQUIRE(log->read_stream(job_a, 2, max_seq, 1, out).is_ok());
  CHECK(seqs(out) == std::vector<std::uint64_t>{2});
  out.clear();
  REQUIRE(log->read_stream(job_a, 2, 4, 2, out).is_ok());
  CHECK(seqs(out) == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("read_stream with from greater than to gives nothing", "[store]") {
  temp_dir tmp;
  auto log = log_with_five(tmp);
  std::vector<event> out;
  REQUIRE(log->read_stream(job_a, 4, 3, max_count, out).is_ok());
  CHECK(out.empty());
  REQUIRE(log->read_stream(job_a, 6, max_seq, max_count, out).is_ok());
  CHECK(out.empty());
}

TEST_CASE("an unknown job has highest sequence 0 and no events", "[store]") {
  temp_dir tmp;
  auto log = log_with_five(tmp);
  CHECK(highest(*log, job_b) == 0);
  CHECK(read_all_of(*log, job_b).empty());
  CHECK(highest(*log, job_a) == 5);
  // Neighbouring ids do not leak into each other's prefix.
  CHECK(read_all_of(*log, job_id{0x9}).empty());
}

TEST_CASE("a multi-event append is atomic and its positions are contiguous", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  std::uint64_t first = 0;
  REQUIRE(log->append(job_a, 0, make_events(job_a, 0, 3), &first).is_ok());
  CHECK(first == 1);
  REQUIRE(log->append(job_b, 0, make_events(job_b, 0, 2), &first).is_ok());
  CHECK(first == 4);
  CHECK(seqs(read_all_of(*log, job_a)) == std::vector<std::uint64_t>{1, 2, 3});

  SECTION("an append whose sequences are not consecutive writes nothing") {
    auto bad = make_events(job_a, 3, 3);
    bad[2].env.seq = 7;
    auto st = log->append(job_a, 3, bad);
    CHECK(st.get_code() == status::code::invalid_argument);
    CHECK(st.message().find("has seq 7") != std::string::npos);
    CHECK(highest(*log, job_a) == 3);
  }
  SECTION("an append carrying another job's event writes nothing") {
    auto bad = make_events(job_a, 3, 2);
    bad[1].env.job = job_b;
    CHECK(log->append(job_a, 3, bad).get_code() == status::code::invalid_argument);
    CHECK(highest(*log, job_a) == 3);
  }
  SECTION("an empty append is refused") {
    CHECK(log->append(job_a, 3, {}).get_code() == status::code::invalid_argument);
  }
}

TEST_CASE("a conflicting append writes nothing", "[store]") {
  temp_dir tmp;
  auto log = log_with_five(tmp);
  std::uint64_t position_before = 0;
  REQUIRE(log->highest_position(position_before).is_ok());
  auto st = log->append(job_a, 3, make_events(job_a, 3, 2));
  CHECK(st.is_conflict());
  CHECK(st.message().find("expected seq 3 but the stream is at 5") != std::string::npos);
  CHECK(st.message().find(to_string(job_a)) != std::string::npos);
  CHECK(highest(*log, job_a) == 5);
  std::uint64_t position_after = 0;
  REQUIRE(log->highest_position(position_after).is_ok());
  CHECK(position_after == position_before);
  auto events = read_all_of(*log, job_a);
  REQUIRE(events.size() == 5);
  CHECK(events[3].env.note == "note 4");
  CHECK(log->append(job_a, 6, make_events(job_a, 6, 1)).is_conflict());
}

TEST_CASE("reopening after close returns every event and continues the positions", "[store]") {
  temp_dir tmp;
  {
    auto log = open_log(tmp.data());
    append_ok(*log, job_a, 0, make_events(job_a, 0, 3));
    append_ok(*log, job_b, 0, make_events(job_b, 0, 2));
    append_ok(*log, job_a, 3, make_events(job_a, 3, 1));
    REQUIRE(log->close().is_ok());
    CHECK(log->append(job_a, 4, make_events(job_a, 4, 1)).get_code()
          == status::code::unavailable);
  }
  auto log = open_log(tmp.data());
  CHECK(seqs(read_all_of(*log, job_a)) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(seqs(read_all_of(*log, job_b)) == std::vector<std::uint64_t>{1, 2});
  std::uint64_t position = 0;
  REQUIRE(log->highest_position(position).is_ok());
  CHECK(position == 6);
  std::uint64_t first = 0;
  REQUIRE(log->append(job_a, 4, make_events(job_a, 4, 1), &first).is_ok());
  CHECK(first == 7);
  CHECK(log->append(job_b, 0, make_events(job_b, 0, 1)).is_conflict());
}

TEST_CASE("read_all streams every event in commit order from a position", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  append_ok(*log, job_a, 0, make_events(job_a, 0, 2));
  append_ok(*log, job_b, 0, make_events(job_b, 0, 1));
  append_ok(*log, job_a, 2, make_events(job_a, 2, 1));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen; // position, job * 100 + seq
  auto collect = [&](std::uint64_t position, const event& e) {
    seen.emplace_back(position, e.env.job.value * 100 + e.env.seq);
    return true;
  };
  REQUIRE(log->read_all(0, collect).is_ok());
  using pairs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  CHECK(seen == pairs{{1, 0xa * 100 + 1}, {2, 0xa * 100 + 2}, {3, 0xb * 100 + 1},
                      {4, 0xa * 100 + 3}});
  seen.clear();
  REQUIRE(log->read_all(3, collect).is_ok());
  CHECK(seen == pairs{{3, 0xb * 100 + 1}, {4, 0xa * 100 + 3}});
  seen.clear();
  REQUIRE(log->read_all(1, [&](std::uint64_t position, const event& e) {
    collect(position, e);
    return seen.size() < 2;
  }).is_ok());
  CHECK(seen.size() == 2);
}

TEST_CASE("for_each_stream lists every job with its highest sequence", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  append_ok(*log, job_b, 0, make_events(job_b, 0, 4));
  append_ok(*log, job_a, 0, make_events(job_a, 0, 2));
  append_ok(*log, job_id{~std::uint64_t{0}}, 0, make_events(job_id{~std::uint64_t{0}}, 0, 1));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  REQUIRE(log->for_each_stream([&](const stream_info& s) {
    seen.emplace_back(s.job.value, s.highest_seq);
    CHECK_FALSE(s.purged);
    CHECK_FALSE(s.deleted_at.has_value());
    return true;
  }).is_ok());
  using pairs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  CHECK(seen == pairs{{0xa, 2}, {0xb, 4}, {~std::uint64_t{0}, 1}});
}

TEST_CASE("a new data directory is created readable by its owner only", "[store]") {
  temp_dir tmp;
  auto dir = tmp.path() / "nested" / "data";
  auto log = open_log(dir);
  struct stat info {};
  REQUIRE(::stat(dir.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
}

TEST_CASE("a store status becomes an almanac error at the actor boundary", "[store]") {
  CHECK(to_error(status::conflict("job 1")).code == errc::conflict);
  CHECK(to_error(status::corruption("job 1 seq 2")).code == errc::corrupt_event);
  CHECK(to_error(status::corruption("job 1 seq 2")).message == "job 1 seq 2");
  CHECK(to_error(status::io_error("disk")).code == errc::storage_error);
  CHECK(to_error(status::no_space("disk")).code == errc::storage_error);
  CHECK(to_error(status::newer_format("v2")).code == errc::newer_format);
  CHECK(to_error(status{}).code == errc::none);
  CHECK(status::no_space("disk full").to_string() == "no_space: disk full");
}

} // namespace
} // namespace almanac::store::test
