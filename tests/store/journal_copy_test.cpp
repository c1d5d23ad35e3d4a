// Copying a log between backends (store/journal_copy.hpp), both ways: the copy's global order
// and events equal the source's, purged streams are left out, a stream that cannot be copied is
// refused by name, and compare_journals finds what differs.
#include "journal_backends.hpp"

#include "store/journal_copy.hpp"

#include "events/codec.hpp"

#include <algorithm>
#include <random>

namespace almanac::store::test {
namespace {

struct rocksdb_to_postgres {
  rocksdb_backend source;
  postgres_backend destination;
};

struct postgres_to_rocksdb {
  postgres_backend source;
  rocksdb_backend destination;
};

// (position, job/seq, encoded event) of the whole global order.
std::vector<std::tuple<std::uint64_t, std::string, std::string>> global_of(const journal& log) {
  std::vector<std::tuple<std::uint64_t, std::string, std::string>> out;
  must(log.read_all(1, [&](std::uint64_t position, const event& e) {
    out.emplace_back(position, to_string(e.env.job) + "/" + std::to_string(e.env.seq),
                     encode_event(e));
    return true;
  }));
  return out;
}

std::vector<std::string> differences_of(const journal& a, const journal& b) {
  std::vector<std::string> out;
  must(compare_journals(a, b, out));
  return out;
}

TEMPLATE_TEST_CASE("a copy holds every event in the source's global order, one append an event",
                   "[store][postgres]", rocksdb_to_postgres, postgres_to_rocksdb) {
  TestType t;
  auto& from = t.source.log();
  auto& to = t.destination.log();
  // 40 jobs, 15 rounds, each round appending one event to every job in a shuffled order: the
  // global order interleaves the streams, and only the writers' queue order can keep it.
  std::vector<job_id> jobs;
  for (std::uint64_t i = 1; i <= 40; ++i)
    jobs.push_back(job_id{i * 0x1001});
  std::mt19937 rng{7};
  for (std::uint64_t round = 0; round < 15; ++round) {
    std::shuffle(jobs.begin(), jobs.end(), rng);
    for (auto j : jobs)
      must(from.append(j, round, make_events(j, round, 1)));
  }
  // Two-event appends too, and a job created last with the top bit set.
  must(from.append(jobs[0], 15, make_events(jobs[0], 15, 2)));
  must(from.append(job_id{0x8000000000000001}, 0, make_events(job_id{0x8000000000000001}, 0, 3)));
  journal_copy_options opts;
  opts.max_append_events = 1;
  std::uint64_t seen = 0;
  opts.on_event = [&](std::uint64_t n) { seen = n; };
  journal_copy_result result;
  must(copy_journal(from, to, opts, result));
  CHECK(result.streams == 41);
  CHECK(result.events == 40 * 15 + 2 + 3);
  CHECK(seen == result.events);
  CHECK(global_of(to) == global_of(from));
  CHECK(differences_of(from, to).empty());
  verify_report report;
  must(to.verify(report));
  CHECK(report.problems.empty());
  job_state a, b;
  must(from.load_job(jobs[0], a));
  must(to.load_job(jobs[0], b));
  CHECK(b.seq == 17);
  CHECK(encode_state(a) == encode_state(b));
}

TEMPLATE_TEST_CASE("a copy with a window of one event and long appends gives the same log",
                   "[store][postgres]", rocksdb_to_postgres, postgres_to_rocksdb) {
  TestType t;
  auto& from = t.source.log();
  for (std::uint64_t i = 0; i < 5; ++i) {
    must(from.append(job_id{1}, i * 7, make_events(job_id{1}, i * 7, 7)));
    must(from.append(job_id{2}, i, make_events(job_id{2}, i, 1)));
  }
  journal_copy_options opts;
  opts.window_events = 1;
  journal_copy_result result;
  must(copy_journal(from, t.destination.log(), opts, result));
  CHECK(result.events == 40);
  CHECK(global_of(t.destination.log()) == global_of(from));
}

TEMPLATE_TEST_CASE("a copy leaves purged streams out and numbers its positions densely",
                   "[store][postgres]", rocksdb_to_postgres, postgres_to_rocksdb) {
  TestType t;
  auto& from = t.source.log();
  job_id kept{1}, gone{2}, later{3};
  must(from.append(kept, 0, make_events(kept, 0, 2)));
  must(from.append(gone, 0, make_events(gone, 0, 2)));
  must(from.append(gone, 2, {make_event(gone, 3, job_deleted{}, t0)}));
  must(from.append(later, 0, make_events(later, 0, 2)));
  std::uint64_t purged = 0;
  must(from.purge_deleted(t0 + default_retention, default_retention, &purged));
  REQUIRE(purged == 1);
  journal_copy_result result;
  must(copy_journal(from, t.destination.log(), {}, result));
  CHECK(result.streams == 2);
  CHECK(result.events == 4);
  auto& to = t.destination.log();
  std::vector<std::uint64_t> listed;
  must(to.for_each_stream([&](const stream_info& s) {
    listed.push_back(s.job.value);
    return true;
  }));
  CHECK(listed == std::vector<std::uint64_t>{1, 3});
  // The source's positions 3 to 5 went with the purge; the copy has no hole.
  CHECK(position_of(from) == 7);
  CHECK(position_of(to) == 4);
  auto g = global_of(to);
  REQUIRE(g.size() == 4);
  CHECK(std::get<0>(g[2]) == 3);
  CHECK(std::get<1>(g[2]) == to_string(later) + "/1");
  CHECK(differences_of(from, to).empty());
}

TEMPLATE_TEST_CASE("a stream appended to after its purge is refused by name and the copy stops",
                   "[store][postgres]", rocksdb_to_postgres, postgres_to_rocksdb) {
  TestType t;
  auto& from = t.source.log();
  job_id gone{2};
  must(from.append(job_id{1}, 0, make_events(job_id{1}, 0, 1)));
  must(from.append(gone, 0, {make_event(gone, 1, job_deleted{}, t0)}));
  must(from.purge_deleted(t0 + default_retention, default_retention));
  must(from.append(gone, 1, make_events(gone, 1, 1)));
  journal_copy_result result;
  auto st = copy_journal(from, t.destination.log(), {}, result);
  INFO(st.to_string());
  CHECK(st.get_code() == status::code::invalid_argument);
  CHECK(st.message().find("job " + to_string(gone) + ": at position 3 seq 2 follows seq 0") == 0);
}

TEMPLATE_TEST_CASE("a copy into a log that is not empty fails with the first conflict",
                   "[store][postgres]", rocksdb_to_postgres, postgres_to_rocksdb) {
  TestType t;
  auto& from = t.source.log();
  for (std::uint64_t j = 1; j <= 3; ++j)
    must(from.append(job_id{j}, 0, make_events(job_id{j}, 0, 3)));
  must(t.destination.log().append(job_id{2}, 0, make_events(job_id{2}, 0, 1)));
  journal_copy_result result;
  auto st = copy_journal(from, t.destination.log(), {}, result);
  INFO(st.to_string());
  CHECK(st.is_conflict());
  auto differences = differences_of(from, t.destination.log());
  CHECK_FALSE(differences.empty());
}

TEMPLATE_TEST_CASE("compare_journals names a missing stream, a shorter stream and another order",
                   "[store][postgres]", rocksdb_to_postgres, postgres_to_rocksdb) {
  TestType t;
  auto& a = t.source.log();
  auto& b = t.destination.log();
  must(a.append(job_id{1}, 0, make_events(job_id{1}, 0, 2)));
  must(a.append(job_id{2}, 0, make_events(job_id{2}, 0, 1)));
  must(a.append(job_id{3}, 0, make_events(job_id{3}, 0, 1)));
  // b: job 2 before job 1, job 1 one event short, no job 3.
  must(b.append(job_id{2}, 0, make_events(job_id{2}, 0, 1)));
  must(b.append(job_id{1}, 0, make_events(job_id{1}, 0, 1)));
  auto d = differences_of(a, b);
  INFO(::Catch::Detail::stringify(d));
  REQUIRE(d.size() == 5);
  CHECK(d[0] == "job " + to_string(job_id{1}) + ": highest seq 2 in the source, 1 in the copy");
  CHECK(d[1] == "job " + to_string(job_id{3}) + " (highest seq 1) is only in the source");
  CHECK(d[2].find("event 1 of the global order (source position 1, copy position 1): job "
                  + to_string(job_id{1}) + " seq 1 in the source, job " + to_string(job_id{2}))
        == 0);
  CHECK(d[3].find("event 2 of the global order") == 0);
  CHECK(d[4] == "the global order of the copy ends after 2 events; the other goes on");
}

TEMPLATE_TEST_CASE("compare_journals finds an event whose bytes differ", "[store][postgres]",
                   rocksdb_to_postgres, postgres_to_rocksdb) {
  TestType t;
  auto& a = t.source.log();
  auto& b = t.destination.log();
  must(a.append(job_id{1}, 0, make_events(job_id{1}, 0, 2)));
  auto other = make_events(job_id{1}, 0, 2);
  other[1].env.note = "another note";
  must(b.append(job_id{1}, 0, other));
  auto d = differences_of(a, b);
  REQUIRE(d.size() == 1);
  CHECK(d[0]
        == "event 2 of the global order (source position 2, copy position 2): job "
             + to_string(job_id{1}) + " seq 2: the event's bytes differ");
}

} // namespace
} // namespace almanac::store::test
