// Where the log is: a directory or a postgresql:// URI, opened by one function, and shown in
// logs and health without its password.
#include "store/open_journal.hpp"

#include "journal_backends.hpp"

#include <catch2/catch.hpp>

namespace almanac::store::test {
namespace {

using almanac::test::pg_cluster;

TEST_CASE("a store location is shown without its password or other parameters", "[store]") {
  CHECK(describe_location("postgresql://alice:s3cret@db.example:5433/almanac?sslmode=require")
        == "postgresql://alice@db.example:5433/almanac");
  CHECK(describe_location("postgres://db.example/almanac") == "postgresql://db.example/almanac");
  CHECK(describe_location("postgresql://almanac:s3cret@/log?host=/tmp/pg-1&port=5432")
        == "postgresql://almanac@%2Ftmp%2Fpg-1:5432/log");
  CHECK(describe_location("/var/lib/almanac") == "/var/lib/almanac");
  // libpq cannot parse it: nothing of it is shown, a password may be anywhere in it.
  auto bad = describe_location("postgresql://alice:s3cret@db.example:notaport/x?bogus=1");
  CHECK(bad.find("s3cret") == std::string::npos);
}

TEST_CASE("a password in a store URI is found wherever libpq would take it from", "[store]") {
  CHECK(uri_has_password("postgresql://alice:s3cret@db.example/almanac"));
  CHECK(uri_has_password("postgresql://alice@db.example/almanac?password=s3cret"));
  CHECK_FALSE(uri_has_password("postgresql://alice@db.example/almanac"));
  CHECK_FALSE(uri_has_password("/var/lib/almanac"));
}

TEST_CASE("open_journal opens either backend by its location", "[store][postgres]") {
  almanac::test::temp_dir dir;
  std::unique_ptr<journal> log;
  must(open_journal((dir.path() / "log").string(), open_options{}, log));
  CHECK(log->health().backend == "rocksdb");
  must(log->close());
  auto conninfo = pg_cluster::shared().create_database();
  auto db = conninfo.substr(conninfo.rfind('=') + 1);
  auto uri = "postgresql://almanac@/" + db + "?host=" + pg_cluster::shared().directory();
  std::unique_ptr<journal> pg;
  must(open_journal(uri, open_options{}, pg));
  auto h = pg->health();
  CHECK(h.backend == "postgresql");
  CHECK(h.connected);
  // A secondary is RocksDB's alone, refused before anything is opened.
  open_options secondary;
  secondary.mode = open_mode::secondary;
  std::unique_ptr<journal> refused;
  CHECK(open_journal(uri, secondary, refused).get_code() == status::code::invalid_argument);
  CHECK_FALSE(refused);
}

} // namespace
} // namespace almanac::store::test
