// Bit rot and bad sectors: a flipped byte in a table file (SST) or in the MANIFEST. Nothing may
// be dropped silently: either the scheduler refuses to start with a message naming the damaged
// file and pointing the operator to `almanac-replay verify`, or it starts (the damage is in data
// start-up does not read) and verify reports the file.
#include "reliability_fixture.hpp"

namespace almanac::reliability {
namespace {

// A log with a few jobs in every state start-up reads, closed cleanly (memtables flushed to SSTs).
void make_log(const std::filesystem::path& data) {
  scheduler_fixture f;
  auto s = f.try_start(data);
  REQUIRE(s.ok());
  f.sched = std::move(*s);
  for (int i = 0; i < 6; ++i)
    f.created("job-" + std::to_string(i), every_schedule{1h, f.clk.now()});
  REQUIRE(f.ask<job_state>(pause_request{"job-1", "user:alice", ""}).ok());
  REQUIRE(f.ask<job_state>(delete_request{"job-2", "user:alice", ""}).ok());
  f.stop();
}

std::filesystem::path copy_of(const std::filesystem::path& from, const temp_dir& to) {
  auto out = to.path() / "data";
  std::filesystem::copy(from, out, std::filesystem::copy_options::recursive);
  return out;
}

// Flips a byte in the middle of the current MANIFEST; returns its path.
std::filesystem::path damage_manifest(const std::filesystem::path& data) {
  auto manifests = files_in(data, "", "MANIFEST-");
  REQUIRE_FALSE(manifests.empty());
  auto manifest = manifests.back();
  auto size = std::filesystem::file_size(manifest);
  REQUIRE(size > 64);
  flip_byte(manifest, size / 2);
  return manifest;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("a flipped byte in any table file stops start-up with the file named or shows in verify",
          "[reliability]") {
  temp_dir pristine;
  make_log(pristine.data());
  auto tables = files_in(pristine.data(), ".sst");
  REQUIRE(tables.size() >= 2);
  int refused = 0;
  int reported = 0;
  for (const auto& table : tables) {
    auto name = table.filename().string();
    INFO("flipped byte 10 of " << name);
    temp_dir work;
    auto data = copy_of(pristine.data(), work);
    // Offset 10 is inside the first data block: the bytes RocksDB reads only when a key is asked
    // for, past the checks of open.
    flip_byte(data / name, 10);
    scheduler_fixture f;
    auto s = f.try_start(data);
    if (!s) {
      ++refused;
      INFO(s.err().message);
      CHECK(s.code() == errc::corrupt_event);
      CHECK(contains(s.err().message, name));
      continue;
    }
    f.sched = std::move(*s);
    store::verify_report report;
    REQUIRE(scheduler_testing::log(*f.sched).verify(report).is_ok());
    REQUIRE_FALSE(report.ok());
    bool named = false;
    for (const auto& p : report.problems)
      named = named || (p.kind == store::problem_kind::checksum && contains(p.message, name));
    CHECK(named);
    ++reported;
  }
  // The job streams' table is read by every start-up: at least that one refuses to start.
  CHECK(refused >= 1);
  INFO(refused << " refused, " << reported << " reported by verify");
  CHECK(refused + reported == static_cast<int>(tables.size()));
}

TEST_CASE("a flipped byte in the MANIFEST stops start-up with the file named", "[reliability]") {
  temp_dir tmp;
  make_log(tmp.data());
  auto manifest = damage_manifest(tmp.data());
  scheduler_fixture f;
  auto s = f.try_start(tmp.data());
  REQUIRE_FALSE(s.ok());
  INFO(s.err().message);
  CHECK(s.code() == errc::corrupt_event);
  CHECK(contains(s.err().message, manifest.filename().string()));
}

TEST_CASE("damage found while the log opens points the operator to almanac-replay verify",
          "[reliability]") {
  temp_dir pristine;
  make_log(pristine.data());
  std::vector<std::filesystem::path> damaged;
  {
    temp_dir work;
    auto data = copy_of(pristine.data(), work);
    damage_manifest(data);
    scheduler_fixture f;
    auto s = f.try_start(data);
    REQUIRE_FALSE(s.ok());
    INFO(s.err().message);
    CHECK(contains(s.err().message, "almanac-replay verify"));
  }
  for (const auto& table : files_in(pristine.data(), ".sst")) {
    temp_dir work;
    auto data = copy_of(pristine.data(), work);
    flip_byte(data / table.filename(), 10);
    scheduler_fixture f;
    auto s = f.try_start(data);
    if (s)
      continue; // the table-file test above covers this case
    INFO(s.err().message);
    CHECK(contains(s.err().message, "almanac-replay verify"));
  }
}

} // namespace
} // namespace almanac::reliability
