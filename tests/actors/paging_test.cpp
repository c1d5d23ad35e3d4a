// Bounded sizes through the admin actor: every list comes in pages walked by cursor, no request
// can ask for more than the largest page, and the job cap refuses creates, never recovery.
#include "runtime_fixture.hpp"

#include "events/codec.hpp"

#include <map>
#include <set>

using namespace almanac;
using namespace almanac::test;

namespace {

std::string id_of(const job_state& s) { return to_string(s.id); }

result<job_state> create_with(runtime_fixture& f, std::string name, std::string payload = {}) {
  return f.create(std::move(name), every_schedule{1h, {}, {}}, {},
                  handler_target{"record", std::move(payload)});
}

// Every page from the first, with `between(page number)` run after each page.
template <class Between>
std::vector<job_state> walk_jobs(runtime_fixture& f, list_request req, Between between,
                                 std::size_t& pages) {
  std::vector<job_state> seen;
  pages = 0;
  for (;;) {
    auto page = f.ask<job_list>(req);
    REQUIRE(page.ok());
    REQUIRE(page->jobs.size() <= (req.limit ? req.limit : default_page_size));
    for (std::size_t i = 1; i < page->jobs.size(); ++i)
      CHECK(page->jobs[i - 1].id < page->jobs[i].id);
    seen.insert(seen.end(), page->jobs.begin(), page->jobs.end());
    ++pages;
    if (page->next_cursor.empty())
      return seen;
    REQUIRE(pages < 1000);
    between(pages, seen);
    req.cursor = page->next_cursor;
  }
}

} // namespace

TEST_CASE("a walk over job pages returns each job that exists throughout exactly once "
          "while others come and go",
          "[actors]") {
  runtime_fixture f;
  std::vector<job_state> original;
  for (int i = 0; i < 240; ++i) {
    auto j = create_with(f, "job-" + std::to_string(i));
    REQUIRE(j.ok());
    original.push_back(*j);
  }
  std::sort(original.begin(), original.end(),
            [](const job_state& a, const job_state& b) { return a.id < b.id; });
  // Between pages: new jobs appear (anywhere in id order, ids are random) and jobs are deleted,
  // some already listed, some not yet reached; halfway the scheduler restarts, so the rest of
  // the walk meets passive jobs (no actor) read from the log, with a cursor from before.
  std::set<job_id> deleted;
  std::set<job_id> deleted_unseen;
  std::set<job_id> created_meanwhile;
  int made = 0;
  auto between = [&](std::size_t page, const std::vector<job_state>& seen) {
    for (int k = 0; k < 4; ++k) {
      auto j = create_with(f, "new-" + std::to_string(made++));
      REQUIRE(j.ok());
      created_meanwhile.insert(j->id);
    }
    for (std::size_t k : {page * 7 % original.size(), original.size() - 1 - page * 3})
      if (deleted.insert(original[k].id).second) {
        REQUIRE(f.ask<job_state>(delete_request{id_of(original[k]), "user:alice", ""}).ok());
        if (std::none_of(seen.begin(), seen.end(),
                         [&](const job_state& s) { return s.id == original[k].id; }))
          deleted_unseen.insert(original[k].id);
      }
    if (page == 3)
      f.restart();
  };
  std::size_t pages = 0;
  auto seen = walk_jobs(f, list_request{"", "", 25, ""}, between, pages);
  CHECK(pages >= 10);

  std::map<job_id, int> times;
  for (const auto& s : seen)
    ++times[s.id];
  for (const auto& [id, n] : times) {
    INFO("job " << to_string(id));
    CHECK(n == 1);
    CHECK(deleted_unseen.count(id) == 0);
  }
  std::size_t survivors = 0;
  for (const auto& s : original) {
    if (deleted.count(s.id))
      continue;
    ++survivors;
    INFO("job " << id_of(s) << " existed throughout");
    CHECK(times.count(s.id) == 1);
  }
  CHECK(survivors > 200);
  CHECK(deleted_unseen.size() > 5);
  for (const auto& [id, n] : times)
    CHECK((std::find_if(original.begin(), original.end(),
                        [&, id = id](const job_state& s) { return s.id == id; })
             != original.end()
           || created_meanwhile.count(id) == 1));
}

TEST_CASE("job pages keep their filters and the last page has no cursor", "[actors]") {
  runtime_fixture f;
  for (int i = 0; i < 30; ++i)
    REQUIRE(create_with(f, (i % 3 == 0 ? "red-" : "blue-") + std::to_string(i)).ok());
  REQUIRE(f.ask<job_state>(pause_request{"red-3", "user:alice", ""}).ok());
  auto none = [](std::size_t, const std::vector<job_state>&) {};
  std::size_t pages = 0;
  auto red = walk_jobs(f, list_request{"", "RED", 4, ""}, none, pages);
  CHECK(red.size() == 10);
  CHECK(pages == 3);
  auto active_red = walk_jobs(f, list_request{"active", "red", 3, ""}, none, pages);
  CHECK(active_red.size() == 9);
  // Exactly one page worth: no cursor, since nothing follows.
  auto exact = f.ask<job_list>(list_request{"", "red", 10, ""});
  REQUIRE(exact.ok());
  CHECK(exact->jobs.size() == 10);
  CHECK(exact->next_cursor.empty());
  // No limit: the default page.
  for (int i = 30; i < 130; ++i)
    REQUIRE(create_with(f, "more-" + std::to_string(i)).ok());
  auto first = f.ask<job_list>(list_request{});
  REQUIRE(first.ok());
  CHECK(first->jobs.size() == default_page_size);
  CHECK_FALSE(first->next_cursor.empty());
}

TEST_CASE("a page of large jobs ends at the page byte bound and the cursor goes on from there",
          "[actors]") {
  runtime_fixture f;
  const std::string payload(30 * 1024, 'x');
  for (int i = 0; i < 80; ++i)
    REQUIRE(create_with(f, "big-" + std::to_string(i), payload).ok());
  auto first = f.ask<job_list>(list_request{"", "", max_page_size, ""});
  REQUIRE(first.ok());
  std::size_t bytes = 0;
  for (const auto& s : first->jobs)
    bytes += encode_state(s).size();
  INFO(first->jobs.size() << " jobs, " << bytes << " bytes");
  // 80 jobs of 30 KiB are 2.4 MB: the page stops after the job that crossed 1 MiB.
  CHECK(first->jobs.size() < 40);
  CHECK(bytes >= max_page_bytes);
  CHECK(bytes < max_page_bytes + 32 * 1024);
  CHECK_FALSE(first->next_cursor.empty());
  std::size_t pages = 0;
  auto none = [](std::size_t, const std::vector<job_state>&) {};
  auto all = walk_jobs(f, list_request{"", "", max_page_size, ""}, none, pages);
  CHECK(all.size() == 80);
  CHECK(pages == 3);
}

TEST_CASE("a bad cursor or a limit over the largest page is refused and reads nothing",
          "[actors]") {
  runtime_fixture f;
  auto job = create_with(f, "one");
  REQUIRE(job.ok());
  auto id = id_of(*job);
  auto jobs_cursor = [&](std::string c) {
    return f.ask<job_list>(list_request{"", "", 10, std::move(c)});
  };
  const std::vector<std::string> bad_cursors{
    "zzz",  "j", "j00000000000000001", "J0000000000000001", "j000000000000000G",
    "j000000000000000A", "a0000000000000001", std::string(5000, 'j')};
  for (const auto& bad : bad_cursors) {
    INFO("cursor " << bad.substr(0, 20));
    auto r = jobs_cursor(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == errc::invalid_input);
    CHECK_THAT(r.err().message, Catch::Contains("cursor"));
    CHECK(r.err().message.size() < 200);
  }
  auto over = f.ask<job_list>(list_request{"", "", max_page_size + 1, ""});
  REQUIRE_FALSE(over.ok());
  CHECK(over.code() == errc::invalid_input);
  CHECK_THAT(over.err().message, Catch::Contains("1000"));
  CHECK(f.ask<audit_page>(audit_request{"", max_page_size + 1, 0, ""}).code()
        == errc::invalid_input);
  CHECK(f.ask<audit_page>(audit_request{id, 10, 0, "j0000000000000001"}).code()
        == errc::invalid_input);
  CHECK(f.ask<run_page>(runs_request{id, max_page_size + 1, ""}).code() == errc::invalid_input);
  CHECK(f.ask<run_page>(runs_request{id, 10, "a0000000000000001"}).code() == errc::invalid_input);
  // A cursor of its own kind is fine, even past the end: an empty last page.
  auto past = jobs_cursor("jffffffffffffffff");
  REQUIRE(past.ok());
  CHECK(past->jobs.empty());
  CHECK(past->next_cursor.empty());
  std::uint64_t position = 0;
  REQUIRE(scheduler_testing::log(*f.sched).highest_position(position).ok());
  CHECK(position == 1);
}

TEST_CASE("the audit trail and the run history page with cursors to the oldest entry",
          "[actors]") {
  runtime_fixture f;
  auto job = create_with(f, "busy");
  REQUIRE(job.ok());
  auto id = id_of(*job);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", "p" + std::to_string(i)}).ok());
    REQUIRE(f.ask<job_state>(resume_request{id, false, "user:alice", ""}).ok());
  }
  for (int i = 0; i < 7; ++i)
    f.fire(id);
  for (std::string job : {id, std::string{}}) {
    INFO("audit of job '" << job << "'");
    auto whole = f.ask<audit_page>(audit_request{job, max_page_size, 0, ""});
    REQUIRE(whole.ok());
    CHECK(whole->next_cursor.empty());
    REQUIRE(whole->entries.size() >= 11);
    std::vector<std::uint64_t> expected;
    for (const auto& e : whole->entries)
      expected.push_back(e.position);
    std::vector<std::uint64_t> walked;
    audit_request req{job, 3, 0, ""};
    for (int pages = 0;; ++pages) {
      REQUIRE(pages < 100);
      auto page = f.ask<audit_page>(req);
      REQUIRE(page.ok());
      CHECK(page->entries.size() <= 3);
      for (const auto& e : page->entries)
        walked.push_back(e.position);
      if (page->next_cursor.empty())
        break;
      // An entry appended between pages is newer than the walk: it does not shift it.
      REQUIRE(f.ask<job_state>(pause_request{id, "user:alice", ""}).ok());
      REQUIRE(f.ask<job_state>(resume_request{id, false, "user:alice", ""}).ok());
      req.cursor = page->next_cursor;
    }
    CHECK(walked == expected);
  }
  f.wait_until([&] { return f.get(id).in_flight.empty(); });
  auto runs_whole = f.ask<run_page>(runs_request{id, max_page_size, ""});
  REQUIRE(runs_whole.ok());
  REQUIRE(runs_whole->runs.size() >= 7);
  std::vector<std::uint64_t> walked;
  runs_request req{id, 2, ""};
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 100);
    auto page = f.ask<run_page>(req);
    REQUIRE(page.ok());
    CHECK(page->runs.size() <= 2);
    for (const auto& r : page->runs)
      walked.push_back(r.run_id);
    if (page->next_cursor.empty())
      break;
    req.cursor = page->next_cursor;
  }
  std::vector<std::uint64_t> expected;
  for (const auto& r : runs_whole->runs)
    expected.push_back(r.run_id);
  CHECK(walked == expected);
}

TEST_CASE("a create at the job cap is refused with limit_exceeded and a delete frees room",
          "[actors]") {
  runtime_fixture f;
  runtime_settings s;
  s.max_jobs = 3;
  f.restart(s);
  for (int i = 0; i < 3; ++i)
    REQUIRE(create_with(f, "j" + std::to_string(i)).ok());
  std::uint64_t before = 0;
  REQUIRE(scheduler_testing::log(*f.sched).highest_position(before).ok());
  auto refused = create_with(f, "one-too-many");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == errc::limit_exceeded);
  CHECK_THAT(refused.err().message, Catch::Contains("cap of 3"));
  std::uint64_t after = 0;
  REQUIRE(scheduler_testing::log(*f.sched).highest_position(after).ok());
  CHECK(after == before);
  CHECK(f.ask<job_state>(get_request{"one-too-many"}).code() == errc::not_found);

  REQUIRE(f.ask<job_state>(delete_request{"j1", "user:alice", ""}).ok());
  REQUIRE(create_with(f, "in-its-place").ok());
  CHECK(create_with(f, "again-too-many").code() == errc::limit_exceeded);
}

TEST_CASE("concurrent creates never overshoot the job cap", "[actors]") {
  runtime_fixture f;
  runtime_settings s;
  s.max_jobs = 5;
  f.restart(s);
  std::atomic<int> ok{0};
  std::atomic<int> capped{0};
  std::vector<std::thread> clients;
  // Creates from 20 clients at once: most arrive while earlier ones wait for their append.
  for (int i = 0; i < 20; ++i)
    clients.emplace_back([&, i] {
      auto r = create_with(f, "c" + std::to_string(i));
      if (r)
        ++ok;
      else if (r.code() == errc::limit_exceeded)
        ++capped;
    });
  for (auto& t : clients)
    t.join();
  CHECK(ok == 5);
  CHECK(capped == 15);
  auto all = f.ask<job_list>(list_request{});
  REQUIRE(all.ok());
  CHECK(all->jobs.size() == 5);
}

TEST_CASE("a log holding more jobs than the cap recovers all of them and refuses only creates",
          "[actors]") {
  runtime_fixture f;
  for (int i = 0; i < 6; ++i)
    REQUIRE(create_with(f, "kept-" + std::to_string(i)).ok());
  runtime_settings s;
  s.max_jobs = 2;
  f.restart(s);
  auto all = f.ask<job_list>(list_request{});
  REQUIRE(all.ok());
  CHECK(all->jobs.size() == 6);
  // Every recovered job still works: it runs and takes commands.
  f.fire("kept-0");
  REQUIRE(f.ask<job_state>(pause_request{"kept-5", "user:alice", ""}).ok());
  CHECK(create_with(f, "new").code() == errc::limit_exceeded);
  for (int i = 1; i < 6; ++i)
    REQUIRE(f.ask<job_state>(delete_request{"kept-" + std::to_string(i), "user:alice", ""}).ok());
  REQUIRE(create_with(f, "new").ok());
  CHECK(create_with(f, "newer").code() == errc::limit_exceeded);
}

TEST_CASE("a scheduler without a job cap is refused at start", "[actors]") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{config_with_types(cfg)};
  scheduler_options opts;
  opts.data_dir = dir.data();
  opts.settings.max_jobs = 0;
  auto s = scheduler::start(sys, std::move(opts));
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == errc::invalid_input);
  CHECK_THAT(s.err().message, Catch::Contains("max_jobs"));
}
