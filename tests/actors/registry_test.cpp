#include "actors/registry.hpp"

#include <almanac/time.hpp>

#include <catch2/catch.hpp>

using namespace almanac;
using namespace std::chrono_literals;

namespace {

const instant t0 = *parse_instant("2026-01-01T00:00:00Z");

job_summary job(std::uint64_t id, std::string name, instant created_at = t0) {
  job_summary j;
  j.id = job_id{id};
  j.name = std::move(name);
  j.created_at = created_at;
  return j;
}

} // namespace

TEST_CASE("the registry resolves a job by id or by name case-insensitively", "[actors]") {
  registry reg{10};
  CHECK_FALSE(reg.add(job(1, "Nightly-Backup"), t0));
  struct row {
    std::string text;
    std::optional<std::uint64_t> id;
    errc code;
  };
  auto rows = std::vector<row>{
    {to_string(job_id{1}), 1, {}},
    {"Nightly-Backup", 1, {}},
    {"nightly-backup", 1, {}},
    {"NIGHTLY-BACKUP", 1, {}},
    {"nightly", std::nullopt, errc::not_found},
    {to_string(job_id{2}), std::nullopt, errc::not_found},
    {"", std::nullopt, errc::invalid_input},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    auto got = reg.resolve(r.text);
    if (r.id) {
      REQUIRE(got);
      CHECK(got->value == *r.id);
    } else {
      REQUIRE_FALSE(got);
      CHECK(got.err().code == r.code);
    }
  }
}

TEST_CASE("the registry resolves the id of a deleted job for history only", "[actors]") {
  registry reg{10};
  reg.add(job(1, "a"), t0);
  auto gone = job(1, "a");
  gone.deleted = true;
  reg.update(gone, t0);
  CHECK_FALSE(reg.contains(job_id{1}));
  CHECK_FALSE(reg.resolve(to_string(job_id{1})));
  auto h = reg.resolve_history(to_string(job_id{1}));
  REQUIRE(h);
  CHECK(*h == job_id{1});
  CHECK_FALSE(reg.resolve_history("a"));
  // The name is free again.
  CHECK(reg.begin_create("A"));
}

TEST_CASE("a name reserved by a pending create cannot be taken twice", "[actors]") {
  registry reg{10};
  REQUIRE(reg.begin_create("report"));
  SECTION("by another create, whatever its case") {
    auto again = reg.begin_create("REPORT");
    REQUIRE_FALSE(again);
    CHECK(again.err().code == errc::name_taken);
  }
  SECTION("by a rename") {
    reg.add(job(2, "other"), t0);
    auto r = reg.begin_rename(job_id{2}, "Report");
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::name_taken);
  }
  SECTION("until the create ends") {
    reg.end_create("report");
    CHECK(reg.begin_create("report"));
  }
}

TEST_CASE("a name held by a live job or reserved by a rename cannot be taken", "[actors]") {
  registry reg{10};
  reg.add(job(1, "alpha"), t0);
  reg.add(job(2, "beta"), t0);
  CHECK(reg.begin_create("Alpha").err().code == errc::name_taken);
  CHECK(reg.begin_rename(job_id{2}, "ALPHA").err().code == errc::name_taken);
  // A job may change the case of its own name.
  REQUIRE(reg.begin_rename(job_id{1}, "ALPHA"));
  // While that rename is in flight nobody else may take the name.
  CHECK(reg.begin_rename(job_id{2}, "alpha").err().code == errc::name_taken);
  reg.end_rename("ALPHA");
  REQUIRE(reg.begin_rename(job_id{2}, "gamma"));
  CHECK(reg.begin_create("gamma").err().code == errc::name_taken);
  // The rename becomes durable: the job's summary carries the new name.
  reg.update(job(2, "gamma"), t0);
  reg.end_rename("gamma");
  CHECK(reg.resolve("GAMMA").value() == job_id{2});
  CHECK_FALSE(reg.resolve("beta"));
  CHECK(reg.begin_create("beta"));
}

TEST_CASE("the job cap counts pending creates", "[actors]") {
  registry reg{3};
  reg.add(job(1, "one"), t0);
  REQUIRE(reg.begin_create("two"));
  REQUIRE(reg.begin_create("three"));
  CHECK(reg.creates_pending() == 2);
  auto over = reg.begin_create("four");
  REQUIRE_FALSE(over);
  CHECK(over.err().code == errc::limit_exceeded);
  // A refused create frees its place.
  reg.end_create("three");
  REQUIRE(reg.begin_create("four"));
  // A create that succeeds turns its reservation into a live job: still at the cap.
  reg.end_create("two");
  reg.add(job(2, "two"), t0);
  CHECK(reg.begin_create("five").err().code == errc::limit_exceeded);
}

TEST_CASE("of twins the one created first keeps the name and the other takes it over", "[actors]") {
  registry reg{10};
  // Recovered in any order: the later one is registered first.
  CHECK_FALSE(reg.add(job(7, "dup", t0 + 1h), t0));
  auto warning = reg.add(job(3, "DUP", t0), t0);
  REQUIRE(warning);
  CHECK(warning->find("created first") != std::string::npos);
  CHECK(reg.resolve("dup").value() == job_id{3});
  // The twin answers by id.
  CHECK(reg.resolve(to_string(job_id{7})).value() == job_id{7});
  // The holder is deleted: the twin takes the name over.
  auto gone = job(3, "DUP");
  gone.deleted = true;
  auto lines = reg.update(gone, t0);
  REQUIRE(lines.size() == 1);
  CHECK(reg.resolve("dup").value() == job_id{7});
}

TEST_CASE("a twin renamed away leaves the name with its holder", "[actors]") {
  registry reg{10};
  reg.add(job(1, "same", t0), t0);
  reg.add(job(2, "same", t0 + 1s), t0);
  reg.update(job(2, "different"), t0);
  CHECK(reg.resolve("same").value() == job_id{1});
  CHECK(reg.resolve("different").value() == job_id{2});
  // No twin left: deleting the holder frees the name.
  auto gone = job(1, "same");
  gone.deleted = true;
  CHECK(reg.update(gone, t0).empty());
  CHECK_FALSE(reg.holder("same"));
}

TEST_CASE("the registry records when a job was last active", "[actors]") {
  registry reg{10};
  reg.add(job(1, "a"), t0);
  CHECK(reg.find(job_id{1})->active == t0);
  reg.touch(job_id{1}, t0 + 5s);
  CHECK(reg.find(job_id{1})->active == t0 + 5s);
  reg.update(job(1, "a"), t0 + 9s);
  CHECK(reg.find(job_id{1})->active == t0 + 9s);
  // The creation instant stays what the job was registered with.
  CHECK(reg.find(job_id{1})->job.created_at == t0);
  reg.touch(job_id{2}, t0);
  CHECK_FALSE(reg.find(job_id{2}));
}
