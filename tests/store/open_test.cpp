// Opening a data directory: the directory lock, read-only and secondary opens beside a writer,
// and the refusal of a newer format.
#include "store_fixture.hpp"

namespace almanac::store::test {
namespace {

constexpr job_id job{0x42};

TEST_CASE("a second read-write open is refused while the first is open", "[store]") {
  temp_dir tmp;
  auto first = open_log(tmp.data());
  std::unique_ptr<event_log> second;
  auto st = event_log::open(tmp.data(), {}, second);
  CHECK(st.get_code() == status::code::io_error);
  CHECK(st.message() == "data directory " + tmp.data().string()
                          + " is in use by another process");
  CHECK_FALSE(second);
  REQUIRE(first->close().is_ok());
  auto third = open_log(tmp.data());
}

TEST_CASE("read-only and secondary opens work while a writer holds the directory", "[store]") {
  temp_dir tmp;
  auto writer = open_log(tmp.data());
  append_ok(*writer, job, 0, make_events(job, 0, 10));

  open_options ro;
  ro.mode = open_mode::read_only;
  auto reader = open_log(tmp.data(), ro);
  CHECK(highest(*reader, job) == 10);
  CHECK(read_all_of(*reader, job).size() == 10);
  CHECK(reader->append(job, 10, make_events(job, 10, 1)).get_code()
        == status::code::invalid_argument);
  CHECK(reader->purge_deleted(t0).get_code() == status::code::invalid_argument);

  temp_dir secondary_dir;
  open_options sec;
  sec.mode = open_mode::secondary;
  sec.secondary_path = secondary_dir.path().string();
  auto follower = open_log(tmp.data(), sec);
  CHECK(highest(*follower, job) == 10);
  append_ok(*writer, job, 10, make_events(job, 10, 5));
  REQUIRE(follower->catch_up().is_ok());
  CHECK(highest(*follower, job) == 15);
  std::uint64_t count = 0;
  REQUIRE(follower->read_all(0, [&](std::uint64_t, const event&) { return ++count, true; })
            .is_ok());
  CHECK(count == 15);
  // The read-only view is frozen as of its open.
  CHECK(highest(*reader, job) == 10);
}

TEST_CASE("a secondary open without its own path is refused", "[store]") {
  temp_dir tmp;
  auto writer = open_log(tmp.data());
  open_options sec;
  sec.mode = open_mode::secondary;
  std::unique_ptr<event_log> log;
  CHECK(event_log::open(tmp.data(), sec, log).get_code() == status::code::invalid_argument);
}

TEST_CASE("a read-only open of a missing directory fails", "[store]") {
  temp_dir tmp;
  open_options ro;
  ro.mode = open_mode::read_only;
  std::unique_ptr<event_log> log;
  CHECK_FALSE(event_log::open(tmp.path() / "missing", ro, log).is_ok());
}

TEST_CASE("a directory of a newer format version is refused with a clear error", "[store]") {
  temp_dir tmp;
  {
    auto log = open_log(tmp.data());
    append_ok(*log, job, 0, make_events(job, 0, 1));
  }
  with_raw_db(tmp.data(), [](rocksdb::DB& db, auto& handles) {
    std::string v;
    detail::put_u32(v, detail::format_version + 1);
    REQUIRE(db.Put({}, handles[6], detail::meta_format_version, v).ok());
  });
  for (auto mode : {open_mode::read_write, open_mode::read_only}) {
    open_options opts;
    opts.mode = mode;
    std::unique_ptr<event_log> log;
    auto st = event_log::open(tmp.data(), opts, log);
    CHECK(st.get_code() == status::code::newer_format);
    CHECK(st.message().find("format version 2") != std::string::npos);
    CHECK(to_error(st).code == errc::newer_format);
  }
  // The refusal released the lock: a fixed build can open it.
  with_raw_db(tmp.data(), [](rocksdb::DB& db, auto& handles) {
    std::string v;
    detail::put_u32(v, detail::format_version);
    REQUIRE(db.Put({}, handles[6], detail::meta_format_version, v).ok());
  });
  auto log = open_log(tmp.data());
  CHECK(highest(*log, job) == 1);
}

} // namespace
} // namespace almanac::store::test
