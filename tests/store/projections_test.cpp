// Projections: entries and checkpoint written atomically, scans by prefix both ways, drop.
#include "store_fixture.hpp"

namespace almanac::store::test {
namespace {

std::vector<std::string> keys(const std::vector<projection_row>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows)
    out.push_back(r.key);
  return out;
}

TEST_CASE("projection entries land with their checkpoint and scan by prefix", "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  std::uint64_t checkpoint = 99;
  REQUIRE(log->read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 0);

  projection_batch batch;
  for (auto key : {"a/1", "a/2", "a/3", "b/1", "a/4"})
    batch.put("audit", key, std::string{"v"} + key);
  batch.put("runs", "a/9", "other projection");
  batch.checkpoint("audit", 17);
  REQUIRE(log->write_projections(batch).is_ok());
  REQUIRE(log->read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 17);
  REQUIRE(log->read_checkpoint("runs", checkpoint).is_ok());
  CHECK(checkpoint == 0);

  std::vector<projection_row> rows;
  REQUIRE(log->scan_projection("audit", {"a/", "", scan_direction::forward, 10}, rows).is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/1", "a/2", "a/3", "a/4"});
  CHECK(rows[0].value == "va/1");
  rows.clear();
  REQUIRE(log->scan_projection("audit", {"a/", "", scan_direction::backward, 2}, rows).is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/4", "a/3"});
  rows.clear();
  REQUIRE(log->scan_projection("audit", {"a/", "a/3", scan_direction::backward, 10}, rows)
            .is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/3", "a/2", "a/1"});
  rows.clear();
  REQUIRE(log->scan_projection("audit", {"a/", "a/2", scan_direction::forward, 2}, rows)
            .is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/2", "a/3"});
  rows.clear();
  REQUIRE(log->scan_projection("audit", {"", "", scan_direction::forward, 100}, rows).is_ok());
  CHECK(rows.size() == 5);

  std::string value;
  REQUIRE(log->get_projection("runs", "a/9", value).is_ok());
  CHECK(value == "other projection");
  auto missing = log->get_projection("runs", "a/1", value);
  CHECK(missing.is_not_found());
  CHECK(missing.message().find("a/1") != std::string::npos);

  SECTION("erase removes one entry") {
    projection_batch erase;
    erase.erase("audit", "a/2");
    erase.checkpoint("audit", 18);
    REQUIRE(log->write_projections(erase).is_ok());
    rows.clear();
    REQUIRE(log->scan_projection("audit", {"a/", "", scan_direction::forward, 10}, rows).is_ok());
    CHECK(keys(rows) == std::vector<std::string>{"a/1", "a/3", "a/4"});
  }
  SECTION("drop removes entries and checkpoint of one projection only") {
    REQUIRE(log->drop_projection("audit").is_ok());
    rows.clear();
    REQUIRE(log->scan_projection("audit", {"", "", scan_direction::forward, 10}, rows).is_ok());
    CHECK(rows.empty());
    REQUIRE(log->read_checkpoint("audit", checkpoint).is_ok());
    CHECK(checkpoint == 0);
    REQUIRE(log->get_projection("runs", "a/9", value).is_ok());
  }
  SECTION("names that are empty or too long are refused") {
    projection_batch bad;
    bad.put("", "k", "v");
    CHECK(log->write_projections(bad).get_code() == status::code::invalid_argument);
    CHECK(log->drop_projection(std::string(201, 'x')).get_code()
          == status::code::invalid_argument);
  }
}

TEST_CASE("projections and checkpoints survive reopen", "[store]") {
  temp_dir tmp;
  {
    auto log = open_log(tmp.data());
    projection_batch batch;
    batch.put("history", detail::u64_key(2), "second");
    batch.put("history", detail::u64_key(10), "tenth");
    batch.checkpoint("history", 10);
    REQUIRE(log->write_projections(batch).is_ok());
  }
  auto log = open_log(tmp.data());
  std::uint64_t checkpoint = 0;
  REQUIRE(log->read_checkpoint("history", checkpoint).is_ok());
  CHECK(checkpoint == 10);
  std::vector<projection_row> rows;
  REQUIRE(log->scan_projection("history", {"", "", scan_direction::backward, 1}, rows).is_ok());
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].value == "tenth");
}

} // namespace
} // namespace almanac::store::test
