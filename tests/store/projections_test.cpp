// Projections, against both journal backends: entries and checkpoint written atomically, scans
// by prefix both ways over keys ordered as unsigned bytes, drop.
#include "journal_backends.hpp"

#include <algorithm>

namespace almanac::store::test {
namespace {

std::vector<std::string> keys(const std::vector<projection_row>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows)
    out.push_back(r.key);
  return out;
}

std::vector<std::string> scanned(const journal& log, std::string_view projection,
                                 const projection_scan& scan) {
  std::vector<projection_row> rows;
  auto st = log.scan_projection(projection, scan, rows);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return keys(rows);
}

TEMPLATE_TEST_CASE("projection entries land with their checkpoint and scan by prefix",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto& log = b.log();
  std::uint64_t checkpoint = 99;
  REQUIRE(log.read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 0);

  projection_batch batch;
  for (auto key : {"a/1", "a/2", "a/3", "b/1", "a/4"})
    batch.put("audit", key, std::string{"v"} + key);
  batch.put("runs", "a/9", "other projection");
  batch.checkpoint("audit", 17);
  REQUIRE(log.write_projections(batch).is_ok());
  REQUIRE(log.read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 17);
  REQUIRE(log.read_checkpoint("runs", checkpoint).is_ok());
  CHECK(checkpoint == 0);

  std::vector<projection_row> rows;
  REQUIRE(log.scan_projection("audit", {"a/", "", scan_direction::forward, 10}, rows).is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/1", "a/2", "a/3", "a/4"});
  CHECK(rows[0].value == "va/1");
  rows.clear();
  REQUIRE(log.scan_projection("audit", {"a/", "", scan_direction::backward, 2}, rows).is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/4", "a/3"});
  rows.clear();
  REQUIRE(log.scan_projection("audit", {"a/", "a/3", scan_direction::backward, 10}, rows).is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/3", "a/2", "a/1"});
  rows.clear();
  REQUIRE(log.scan_projection("audit", {"a/", "a/2", scan_direction::forward, 2}, rows).is_ok());
  CHECK(keys(rows) == std::vector<std::string>{"a/2", "a/3"});
  rows.clear();
  REQUIRE(log.scan_projection("audit", {"", "", scan_direction::forward, 100}, rows).is_ok());
  CHECK(rows.size() == 5);

  std::string value;
  REQUIRE(log.get_projection("runs", "a/9", value).is_ok());
  CHECK(value == "other projection");
  auto missing = log.get_projection("runs", "a/1", value);
  CHECK(missing.is_not_found());
  CHECK(missing.message().find("a/1") != std::string::npos);

  SECTION("erase removes one entry") {
    projection_batch erase;
    erase.erase("audit", "a/2");
    erase.checkpoint("audit", 18);
    REQUIRE(log.write_projections(erase).is_ok());
    rows.clear();
    REQUIRE(log.scan_projection("audit", {"a/", "", scan_direction::forward, 10}, rows).is_ok());
    CHECK(keys(rows) == std::vector<std::string>{"a/1", "a/3", "a/4"});
    REQUIRE(log.read_checkpoint("audit", checkpoint).is_ok());
    CHECK(checkpoint == 18);
  }
  SECTION("drop removes entries and checkpoint of one projection only") {
    REQUIRE(log.drop_projection("audit").is_ok());
    rows.clear();
    REQUIRE(log.scan_projection("audit", {"", "", scan_direction::forward, 10}, rows).is_ok());
    CHECK(rows.empty());
    REQUIRE(log.read_checkpoint("audit", checkpoint).is_ok());
    CHECK(checkpoint == 0);
    REQUIRE(log.get_projection("runs", "a/9", value).is_ok());
  }
  SECTION("names that are empty or too long are refused") {
    projection_batch bad;
    bad.put("", "k", "v");
    CHECK(log.write_projections(bad).get_code() == status::code::invalid_argument);
    CHECK(log.drop_projection(std::string(201, 'x')).get_code() == status::code::invalid_argument);
    CHECK(log.read_checkpoint("", checkpoint).get_code() == status::code::invalid_argument);
    CHECK(log.get_projection(std::string(201, 'x'), "k", value).get_code()
          == status::code::invalid_argument);
    CHECK(log.scan_projection("", {}, rows).get_code() == status::code::invalid_argument);
  }
}

TEMPLATE_TEST_CASE("a batch with one bad name writes none of its entries or checkpoints",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto& log = b.log();
  projection_batch batch;
  batch.put("audit", "k1", "v1");
  batch.checkpoint("audit", 5);
  batch.put(std::string(201, 'x'), "k2", "v2");
  auto st = log.write_projections(batch);
  CHECK(st.get_code() == status::code::invalid_argument);
  CHECK(st.message().find("201") != std::string::npos);
  std::string value;
  CHECK(log.get_projection("audit", "k1", value).is_not_found());
  std::uint64_t checkpoint = 99;
  REQUIRE(log.read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 0);
}

TEMPLATE_TEST_CASE("within one batch the last write to a key and to a checkpoint wins",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto& log = b.log();
  projection_batch first;
  first.put("runs", "kept", "old");
  first.put("runs", "erased", "old");
  REQUIRE(log.write_projections(first).is_ok());

  projection_batch batch;
  batch.put("runs", "kept", "new");
  batch.erase("runs", "kept");
  batch.put("runs", "kept", "newest");
  batch.erase("runs", "erased");
  batch.put("runs", "fresh", "1");
  batch.erase("runs", "fresh");
  batch.erase("runs", "never-there");
  batch.checkpoint("runs", 3);
  batch.checkpoint("runs", 9);
  REQUIRE(log.write_projections(batch).is_ok());
  std::string value;
  REQUIRE(log.get_projection("runs", "kept", value).is_ok());
  CHECK(value == "newest");
  CHECK(log.get_projection("runs", "erased", value).is_not_found());
  CHECK(log.get_projection("runs", "fresh", value).is_not_found());
  std::uint64_t checkpoint = 0;
  REQUIRE(log.read_checkpoint("runs", checkpoint).is_ok());
  CHECK(checkpoint == 9);
  CHECK(scanned(log, "runs", {}) == std::vector<std::string>{"kept"});
  // An empty batch changes nothing.
  REQUIRE(log.write_projections(projection_batch{}).is_ok());
  REQUIRE(log.read_checkpoint("runs", checkpoint).is_ok());
  CHECK(checkpoint == 9);
}

TEMPLATE_TEST_CASE("projection keys sort as unsigned bytes including 0x00 and 0xff",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto& log = b.log();
  using namespace std::string_literals;
  // Sorted bytewise: a shorter key before its extensions, 0x00 lowest, 0xff highest.
  const std::vector<std::string> sorted{"\x00"s,     "\x00\x00"s, "\x00\xff"s,    "\x01"s,
                                        "\x7f"s,     "\x80"s,     "\xfe\xff"s,    "\xff"s,
                                        "\xff\x00"s, "\xff\xff"s, "\xff\xff\xff"s};
  projection_batch batch;
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it)
    batch.put("bin", *it, "v" + *it);
  // A neighbouring projection whose entries must never show up in "bin"'s scans.
  batch.put("bin2", ""s, "x");
  batch.put("bin2", "\x00"s, "x");
  batch.put("bim", "\xff\xff\xff\xff"s, "x");
  REQUIRE(log.write_projections(batch).is_ok());

  CHECK(scanned(log, "bin", {"", "", scan_direction::forward, 100}) == sorted);
  auto reversed = std::vector<std::string>(sorted.rbegin(), sorted.rend());
  CHECK(scanned(log, "bin", {"", "", scan_direction::backward, 100}) == reversed);
  CHECK(scanned(log, "bin", {"\xff"s, "", scan_direction::forward, 100})
        == std::vector<std::string>{"\xff"s, "\xff\x00"s, "\xff\xff"s, "\xff\xff\xff"s});
  CHECK(scanned(log, "bin", {"\xff\xff"s, "", scan_direction::backward, 100})
        == std::vector<std::string>{"\xff\xff\xff"s, "\xff\xff"s});
  CHECK(scanned(log, "bin", {"\x00"s, "", scan_direction::forward, 100})
        == std::vector<std::string>{"\x00"s, "\x00\x00"s, "\x00\xff"s});
  CHECK(scanned(log, "bin", {"\x00"s, "\x00\x80"s, scan_direction::backward, 100})
        == std::vector<std::string>{"\x00\x00"s, "\x00"s});
  CHECK(scanned(log, "bin", {"", "\x80"s, scan_direction::forward, 3})
        == std::vector<std::string>{"\x80"s, "\xfe\xff"s, "\xff"s});
  CHECK(scanned(log, "bin", {"", "\xfe"s, scan_direction::backward, 2})
        == std::vector<std::string>{"\x80"s, "\x7f"s});
  // `from` outside the prefix: before it starts a forward scan at its first key, after it a
  // backward scan at its last; the other way round there is nothing.
  CHECK(scanned(log, "bin", {"\xff"s, "\x01"s, scan_direction::forward, 1})
        == std::vector<std::string>{"\xff"s});
  CHECK(scanned(log, "bin", {"\x00"s, "\x7f"s, scan_direction::backward, 1})
        == std::vector<std::string>{"\x00\xff"s});
  CHECK(scanned(log, "bin", {"\x00"s, "\x7f"s, scan_direction::forward, 10}).empty());
  CHECK(scanned(log, "bin", {"\xff"s, "\x01"s, scan_direction::backward, 10}).empty());
  CHECK(scanned(log, "bin", {"", "", scan_direction::forward, 0}).empty());
  std::string value;
  REQUIRE(log.get_projection("bin", "\x00"s, value).is_ok());
  CHECK(value == "v\x00"s);
  auto missing = log.get_projection("bin", "\x00\x01"s, value);
  CHECK(missing.is_not_found());
  CHECK(missing.message().find("0x0001") != std::string::npos);
}

TEMPLATE_TEST_CASE("a scan longer than one fetch returns every entry once in order",
                   "[store][journal]", rocksdb_backend, postgres_backend) {
  TestType b;
  auto& log = b.log();
  projection_batch batch;
  std::vector<std::string> all;
  for (std::uint64_t i = 1; i <= 2500; ++i) {
    all.push_back(detail::u64_key(i));
    batch.put("history", all.back(), std::to_string(i));
  }
  batch.checkpoint("history", 2500);
  REQUIRE(log.write_projections(batch).is_ok());
  CHECK(scanned(log, "history", {"", "", scan_direction::forward, 5000}) == all);
  auto first = scanned(log, "history", {"", "", scan_direction::forward, 2100});
  CHECK(first == std::vector<std::string>(all.begin(), all.begin() + 2100));
  auto back =
    scanned(log, "history", {"", detail::u64_key(2200), scan_direction::backward, max_count});
  REQUIRE(back.size() == 2200);
  CHECK(back.front() == detail::u64_key(2200));
  CHECK(back.back() == detail::u64_key(1));
  CHECK(std::is_sorted(back.rbegin(), back.rend()));
}

TEMPLATE_TEST_CASE("projections and checkpoints survive reopen", "[store][journal]",
                   rocksdb_backend, postgres_backend) {
  TestType b;
  {
    projection_batch batch;
    batch.put("history", detail::u64_key(2), "second");
    batch.put("history", detail::u64_key(10), "tenth");
    batch.checkpoint("history", 10);
    REQUIRE(b.log().write_projections(batch).is_ok());
  }
  REQUIRE(b.reopen().is_ok());
  auto& log = b.log();
  std::uint64_t checkpoint = 0;
  REQUIRE(log.read_checkpoint("history", checkpoint).is_ok());
  CHECK(checkpoint == 10);
  std::vector<projection_row> rows;
  REQUIRE(log.scan_projection("history", {"", "", scan_direction::backward, 1}, rows).is_ok());
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].value == "tenth");
}

TEST_CASE("a projection batch the server refuses leaves entries and checkpoint unchanged",
          "[store][postgres]") {
  postgres_backend b;
  auto& log = b.log();
  projection_batch batch;
  batch.put("audit", "k", "old");
  batch.checkpoint("audit", 1);
  REQUIRE(log.write_projections(batch).is_ok());
  // A constraint only the checkpoint breaks: the statement fails after the entries' part ran.
  almanac::test::pg_cluster::exec(
    b.conninfo, "ALTER TABLE almanac_checkpoints ADD CONSTRAINT small CHECK (position < 1000)");
  projection_batch refused;
  refused.put("audit", "k", "new");
  refused.put("audit", "k2", "new");
  refused.erase("audit", "k");
  refused.checkpoint("audit", 5000);
  auto st = log.write_projections(refused);
  INFO(st.to_string());
  CHECK_FALSE(st.is_ok());
  std::string value;
  REQUIRE(log.get_projection("audit", "k", value).is_ok());
  CHECK(value == "old");
  CHECK(log.get_projection("audit", "k2", value).is_not_found());
  std::uint64_t checkpoint = 0;
  REQUIRE(log.read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 1);
  CHECK(almanac::test::pg_cluster::query(b.conninfo, "SELECT count(*) FROM almanac_projections")
        == "1");
}

TEST_CASE("projections written through one pg_log are read through another on the same database",
          "[store][postgres]") {
  postgres_backend b;
  auto other = postgres_backend::open_pg(b.conninfo);
  projection_batch batch;
  batch.put("audit", "k", "v");
  batch.checkpoint("audit", 7);
  REQUIRE(b.log().write_projections(batch).is_ok());
  std::uint64_t checkpoint = 0;
  REQUIRE(other->read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 7);
  REQUIRE(other->drop_projection("audit").is_ok());
  std::string value;
  CHECK(b.log().get_projection("audit", "k", value).is_not_found());
  REQUIRE(b.log().read_checkpoint("audit", checkpoint).is_ok());
  CHECK(checkpoint == 0);
}

} // namespace
} // namespace almanac::store::test
