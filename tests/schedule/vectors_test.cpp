// Every line of tests/data/cron-vectors.tsv (answers of cron-parser and croner where both agree,
// see docs/SCHEDULE_RULES.md) must come out of next_after unchanged.
#include "schedule_fixture.hpp"

#include "schedule/cron.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

namespace {

struct vector_line {
  int line_no = 0;
  std::string expr, zone, from, expected;
  int count = 0;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in{text};
  while (std::getline(in, part, sep))
    out.push_back(part);
  return out;
}

std::vector<vector_line> read_vectors() {
  std::ifstream in{ALMANAC_CRON_VECTORS};
  REQUIRE(in.good());
  std::vector<vector_line> out;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (line.empty() || line[0] == '#')
      continue;
    auto cols = split(line, '\t');
    INFO("line " << no << ": " << line);
    REQUIRE(cols.size() >= 5);
    out.push_back({no, cols[0], cols[1], cols[2], cols[4], std::stoi(cols[3])});
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : ",") + s;
  return out;
}

} // namespace

TEST_CASE("every cron vector gives the expected fires", "[schedule]") {
  auto vectors = read_vectors();
  std::size_t checked = 0;
  std::string failures;
  std::size_t failed = 0;
  for (const auto& v : vectors) {
    ++checked;
    auto c = almanac::make_cron(v.expr, v.zone);
    std::string got;
    if (!c)
      got = "error: " + c.err().message;
    else
      got = join(almanac::test::fires(*c, almanac::test::iso(v.from), v.count));
    if (got != v.expected) {
      ++failed;
      failures += "line " + std::to_string(v.line_no) + ": '" + v.expr + "' " + v.zone
                  + " from " + v.from + "\n  expected " + v.expected + "\n  got      " + got
                  + "\n";
    }
  }
  INFO(failed << " of " << checked << " vectors failed:\n" << failures);
  CHECK(failed == 0);
  CHECK(checked == 1500);
}

TEST_CASE("next_after costs a few microseconds per call", "[.][bench]") {
  // Hidden: run with `almanac_schedule_test "[bench]"`. Mimics recovery: one call per job.
  auto vectors = read_vectors();
  std::vector<std::pair<almanac::schedule, almanac::instant>> jobs;
  for (const auto& v : vectors)
    jobs.emplace_back(*almanac::make_cron(v.expr, v.zone), almanac::test::iso(v.from));
  const int rounds = 200;
  std::size_t fired = 0;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r)
    for (const auto& [s, from] : jobs)
      fired += almanac::next_after(s, from + std::chrono::seconds{r * 3607}).has_value();
  auto elapsed = std::chrono::steady_clock::now() - start;
  auto calls = static_cast<double>(rounds * jobs.size());
  using micros = std::chrono::duration<double, std::micro>;
  auto per_call = micros{elapsed}.count() / calls;
  WARN("next_after: " << per_call << " us per call over " << calls << " calls");
  CHECK(fired == rounds * jobs.size());
}
