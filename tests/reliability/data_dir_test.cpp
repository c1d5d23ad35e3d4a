// The data directory: created private to its owner (it holds every job's targets: URLs, argv,
// headers), and held by one scheduler at a time, since two writers would corrupt the log.
#include "reliability_fixture.hpp"

#include <sys/stat.h>

namespace almanac::reliability {
namespace {

TEST_CASE("the data directory is created with mode 0700 including missing parents",
          "[reliability]") {
  scheduler_fixture f;
  auto nested = f.dir.path() / "deep" / "er" / "data";
  auto s = f.try_start(nested);
  REQUIRE(s.ok());
  f.sched = std::move(*s);
  // Every directory created on the way, not only the last.
  for (auto p : {f.dir.path() / "deep", f.dir.path() / "deep" / "er", nested}) {
    INFO(p.string());
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
  }
}

TEST_CASE("an existing data directory keeps its mode and sticky bit", "[reliability]") {
  scheduler_fixture f;
  // A shared directory such as /tmp: the store must not take its sticky bit or its openness.
  auto shared = f.dir.path() / "shared";
  REQUIRE(::mkdir(shared.c_str(), 0700) == 0);
  REQUIRE(::chmod(shared.c_str(), 01777) == 0);
  auto s = f.try_start(shared);
  REQUIRE(s.ok());
  f.sched = std::move(*s);
  struct stat st {};
  REQUIRE(::stat(shared.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 01777);
}

TEST_CASE("a second scheduler on the same data directory fails with storage_error naming it",
          "[reliability]") {
  scheduler_fixture f;
  f.start();
  f.created("only-one", every_schedule{1h, f.clk.now()});
  // The same process counts: the lock is per open, not per process.
  auto second = f.try_start(f.dir.data());
  REQUIRE_FALSE(second.ok());
  INFO(second.err().message);
  CHECK(second.code() == errc::storage_error);
  CHECK_THAT(second.err().message,
             Catch::Contains(f.dir.data().string()) && Catch::Contains("in use"));
  // The first one is not disturbed by the attempt.
  CHECK(f.ask<job_state>(pause_request{"only-one", "user:alice", ""}).ok());
}

} // namespace
} // namespace almanac::reliability
