// Job names stay unique case-insensitively under any interleaving of creates and renames, across
// restarts; a log that already holds two live jobs of one name is reported, not shadowed.
#include "runtime_fixture.hpp"

#include "events/decide.hpp"
#include "events/evolve.hpp"

#include <cstdio>
#include <memory>
#include <set>
#include <sys/wait.h>

using namespace almanac;
using namespace almanac::test;

namespace {

std::string id_of(const job_state& s) { return to_string(s.id); }

update_request rename(const std::string& job, std::string name) {
  update_job changes;
  changes.name = std::move(name);
  return update_request{job, std::move(changes), "user:alice", ""};
}

create_request create_named(std::string name) {
  return create_request{job_spec{std::move(name), every_schedule{1h, {}, {}},
                                 handler_target{"record", ""}, {}},
                        "user:bob", ""};
}

using admin_request = std::variant<update_request, create_request>;

// Sends every request before any reply can come back, each from its own actor, so the
// supervisor has them all in its mailbox while the first is still being appended; then collects
// the replies in request order.
std::vector<result<job_state>> ask_at_once(runtime_fixture& f, std::vector<admin_request> reqs) {
  std::vector<std::optional<result<job_state>>> out(reqs.size());
  {
    auto admin = caf::actor_cast<caf::actor>(f.sched->admin());
    std::vector<std::unique_ptr<caf::scoped_actor>> selves;
    using handle = decltype(std::declval<caf::scoped_actor&>()->request(
      admin, std::chrono::seconds{10}, std::declval<update_request>()));
    std::vector<handle> handles;
    for (auto& r : reqs) {
      selves.push_back(std::make_unique<caf::scoped_actor>(f.sys));
      auto& self = *selves.back();
      std::visit([&](auto& req) { handles.push_back(self->request(admin, 10s, std::move(req))); },
                 r);
    }
    for (std::size_t i = 0; i < handles.size(); ++i)
      handles[i].receive([&](job_state& s) { out[i].emplace(std::move(s)); },
                         [&](caf::error& e) { out[i].emplace(from_caf_error(e)); });
  }
  std::vector<result<job_state>> replies;
  for (auto& r : out) {
    REQUIRE(r.has_value());
    replies.push_back(std::move(*r));
  }
  return replies;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every live job's name resolves to that job, and no two share a name.
void check_names_unique(runtime_fixture& f) {
  auto all = f.ask<job_list>(list_request{"", "", 0});
  REQUIRE(all.ok());
  std::set<std::string> seen;
  for (const auto& s : all->jobs) {
    INFO("job " << id_of(s) << " named " << s.name);
    CHECK(seen.insert(lower(s.name)).second);
    CHECK(f.get(s.name).id == s.id);
  }
}

// Writes a job's creation straight to the log, as a scheduler from before renames reserved their
// name could have left it.
void write_old_create(runtime_fixture& f, job_id id, const std::string& name, instant when) {
  job_state empty;
  auto events = decide(empty,
                       command{create_job{id, name, every_schedule{1h, {}, {}},
                                          handler_target{"record", ""}, {}},
                               "user:old", ""},
                       when);
  REQUIRE(events.ok());
  REQUIRE(scheduler_testing::log(*f.sched).append(id, 0, *events).ok());
}

} // namespace

TEST_CASE("ten concurrent renames to one name let exactly one through, also after a restart", "[actors]") {
  runtime_fixture f;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto job = f.create("job" + std::to_string(i), every_schedule{1h, {}, {}});
    REQUIRE(job.ok());
    ids.push_back(id_of(*job));
  }
  std::vector<admin_request> renames;
  for (int i = 0; i < 10; ++i)
    renames.push_back(rename(ids[static_cast<std::size_t>(i)], i % 2 ? "Target" : "TARGET"));
  auto replies = ask_at_once(f, std::move(renames));
  std::vector<job_id> winners;
  for (auto& r : replies) {
    if (r)
      winners.push_back(r->id);
    else
      CHECK(r.code() == errc::name_taken);
  }
  REQUIRE(winners.size() == 1);
  CHECK(f.get("target").id == winners.front());
  check_names_unique(f);
  f.restart();
  CHECK(f.get("target").id == winners.front());
  check_names_unique(f);
}

TEST_CASE("a rename racing a create of the same name lets exactly one through", "[actors]") {
  runtime_fixture f;
  auto job = f.create("first", every_schedule{1h, {}, {}});
  REQUIRE(job.ok());
  bool rename_first = GENERATE(true, false);
  INFO("the rename is sent first: " << rename_first);
  std::vector<admin_request> reqs;
  if (rename_first)
    reqs = {rename(id_of(*job), "shared"), create_named("SHARED")};
  else
    reqs = {create_named("SHARED"), rename(id_of(*job), "shared")};
  auto replies = ask_at_once(f, std::move(reqs));
  REQUIRE(replies.size() == 2);
  CHECK((replies[0].ok() + replies[1].ok()) == 1);
  for (auto& r : replies)
    if (!r)
      CHECK(r.code() == errc::name_taken);
  check_names_unique(f);
  f.restart();
  check_names_unique(f);
  auto shared = f.get("shared");
  CHECK(shared.id == (replies[0].ok() ? replies[0]->id : replies[1]->id));
}

TEST_CASE("a rename frees its old name and a refused rename frees the name it asked for", "[actors]") {
  runtime_fixture f;
  auto job = f.create("old", every_schedule{1h, {}, {}});
  REQUIRE(job.ok());
  REQUIRE(f.ask<job_state>(rename(id_of(*job), "new")).ok());
  CHECK(f.create("OLD", every_schedule{1h, {}, {}}).ok());
  CHECK(f.create("New", every_schedule{1h, {}, {}}).code() == errc::name_taken);
  // A change of case of its own name is no clash.
  CHECK(f.ask<job_state>(rename(id_of(*job), "NEW")).ok());
  CHECK(f.get("new").name == "NEW");
  auto once = f.create("once", at_schedule{f.clk.now() + 1min});
  REQUIRE(once.ok());
  REQUIRE(f.fire(id_of(*once)).status == job_status::completed);
  CHECK(f.ask<job_state>(rename(id_of(*once), "wanted")).code() == errc::refused_status);
  CHECK(f.create("wanted", every_schedule{1h, {}, {}}).ok());
  check_names_unique(f);
}

TEST_CASE("two live jobs of one name in an old log are reported and the older keeps the name", "[actors]") {
  runtime_fixture f;
  // The younger job has the lower id, so the older one keeps the name by its creation, not by
  // the order the log lists them in.
  job_id older{0x2000}, younger{0x1000};
  write_old_create(f, older, "Twin", f.clk.now());
  write_old_create(f, younger, "twin", f.clk.now() + 1s);
  f.restart();
  CHECK(f.get("TWIN").id == older);
  // Recovery (which the answer above waited for) named both.
  CHECK(f.said_all({to_string(older), to_string(younger), "both named"}));
  CHECK(f.get(to_string(younger)).id == younger);
  CHECK(f.create("twin", every_schedule{1h, {}, {}}).code() == errc::name_taken);
  SECTION("renaming the younger ends the clash") {
    REQUIRE(f.ask<job_state>(rename(to_string(younger), "twin-2")).ok());
    CHECK(f.get("twin").id == older);
    CHECK(f.get("twin-2").id == younger);
    check_names_unique(f);
  }
  SECTION("deleting the older hands the name to the younger") {
    REQUIRE(f.ask<job_state>(delete_request{to_string(older), "user:alice", ""}).ok());
    CHECK(f.get("twin").id == younger);
    CHECK(f.create("twin", every_schedule{1h, {}, {}}).code() == errc::name_taken);
  }
  SECTION("deleting the younger leaves the name with the older") {
    REQUIRE(f.ask<job_state>(delete_request{to_string(younger), "user:alice", ""}).ok());
    CHECK(f.get("twin").id == older);
    check_names_unique(f);
  }
}

namespace {

struct command_output {
  int exit_code = -1;
  std::string text;
};

command_output run_command(const std::string& line) {
  command_output out;
  auto* pipe = ::popen((line + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, pipe))
    out.text.append(buf, n);
  auto status = ::pclose(pipe);
  if (WIFEXITED(status))
    out.exit_code = WEXITSTATUS(status);
  return out;
}

command_output replay_verify(runtime_fixture& f) {
  return run_command(std::string{ALMANAC_REPLAY_BIN} + " --data '" + f.dir.data().string() +
                     "' verify");
}

} // namespace

TEST_CASE("replay verify reports live jobs sharing a name and deleted jobs with runs left open", "[actors]") {
  runtime_fixture f;
  // Today's scheduler leaves neither, after a delete during a run and a clashing rename.
  f.sched->register_handler("hang", [](const run_context& ctx) {
    while (!ctx.cancelled())
      std::this_thread::sleep_for(1ms);
  });
  auto held = f.create("held", every_schedule{1h, {}, {}}, {}, handler_target{"hang", ""});
  REQUIRE(held.ok());
  auto other = f.create("other", every_schedule{1h, {}, {}});
  REQUIRE(other.ok());
  CHECK(f.ask<job_state>(rename(id_of(*other), "HELD")).code() == errc::name_taken);
  REQUIRE(f.fire(id_of(*held), false).in_flight.size() == 1);
  REQUIRE(f.ask<job_state>(delete_request{id_of(*held), "user:alice", ""}).ok());
  f.sched->stop(5s);
  f.sched.reset();
  auto clean = replay_verify(f);
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  f.start();

  // What older schedulers left: twins, and a job deleted with its run still in flight.
  job_id a{0x3000}, b{0x3001}, gone{0x3002};
  write_old_create(f, a, "Dup", f.clk.now());
  write_old_create(f, b, "DUP", f.clk.now());
  write_old_create(f, gone, "gone", f.clk.now());
  {
    job_state s;
    REQUIRE(scheduler_testing::log(*f.sched).load_job(gone, s).ok());
    auto when = *s.next_run_at;
    auto started = decide(s, command{due{when}, "timer", ""}, when);
    REQUIRE(started.ok());
    REQUIRE(std::holds_alternative<run_started>(started->back().body));
    for (const auto& e : *started)
      s = evolve(std::move(s), e);
    // An old delete: JobDeleted alone, the run left open.
    std::vector<event> events = *started;
    events.push_back(event{event_envelope{gone, s.seq + 1, when, "user:old", "", "delete"},
                           job_deleted{}});
    REQUIRE(scheduler_testing::log(*f.sched).append(gone, 1, events).ok());
  }
  f.sched->stop(5s);
  f.sched.reset();
  auto bad = replay_verify(f);
  INFO(bad.text);
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.text, Catch::Contains("duplicate_name") && Catch::Contains(to_string(a))
                         && Catch::Contains(to_string(b)));
  CHECK_THAT(bad.text, Catch::Contains("open_run: job " + to_string(gone)));
}
