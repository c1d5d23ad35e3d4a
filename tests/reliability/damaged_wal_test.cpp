// A damaged write-ahead log after kill -9: a byte flipped, a block zeroed, the file cut short.
// RocksDB's point-in-time recovery used to keep what preceded the damage and silently drop the
// rest, acknowledged or not (200 acknowledged creates came back as 20). Now the log refuses to
// open, naming the file and what to do, and changes nothing; a read-only open reports the damage
// (verify); a salvaging open keeps a copy, records the loss as an event and never reuses the
// lost positions. A torn last record, the write a crash cut off before it was acknowledged,
// still opens as before.
//
// The child half appends in a process of its own (this binary re-executed with a hidden tag),
// acknowledges over a pipe, and is killed.
#include "reliability_fixture.hpp"
#include "tests/common/spawn_self.hpp"

#include "store/detail/wal_guard.hpp"
#include "tests/store/store_fixture.hpp"

#include <csignal>
#include <fstream>
#include <map>
#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace almanac::reliability {
namespace {

constexpr std::uint64_t creates = 200;
const instant t0 = from_unix_us(1'772'323'200'000'000); // 2026-03-01T00:00:00Z

event create_event(std::uint64_t i) {
  // A realistic size: a name, an every schedule and an exec target.
  return event{event_envelope{job_id{i}, 1, t0, "user:alice", "", "create"},
               job_created{"damaged-" + std::to_string(i), every_schedule{1h, t0},
                           exec_target{{"/bin/echo", "job", std::to_string(i)}, {}, {}}, {},
                           "user:alice", t0 + 1h}};
}

std::uint64_t mark_of(const std::filesystem::path& dir) {
  store::detail::ack_mark mark;
  REQUIRE(store::detail::read_ack_mark(dir, mark).is_ok());
  return mark.position;
}

// The child: 200 creates, each acknowledged (durability sync), then it waits until the
// acknowledged mark covers them all and says so; then it idles until killed. With
// ALMANAC_REL_TORN it closes (the mark stays at 200), reopens with a mark that will not move
// before the kill, and appends one more create: the record a crash tears before any mark
// covers it.
TEST_CASE("damaged wal child appends creates until killed", "[.damaged_wal_child]") {
  auto* dir = std::getenv("ALMANAC_REL_DIR");
  auto* fd_text = std::getenv("ALMANAC_REL_FD");
  if (!dir || !fd_text)
    return;
  int fd = std::atoi(fd_text);
  store::open_options o;
  o.ack_mark_interval = 20ms;
  std::unique_ptr<store::event_log> log;
  if (!store::event_log::open(dir, o, log).is_ok())
    std::_Exit(3);
  for (std::uint64_t i = 1; i <= creates; ++i)
    if (!log->append(job_id{i}, 0, {create_event(i)}).is_ok())
      std::_Exit(4);
  while (mark_of(dir) < creates)
    std::this_thread::sleep_for(5ms);
  if (std::getenv("ALMANAC_REL_TORN")) {
    if (!log->close().is_ok())
      std::_Exit(6);
    log.reset();
    o.ack_mark_interval = 1h;
    if (!store::event_log::open(dir, o, log).is_ok())
      std::_Exit(7);
    if (!log->append(job_id{creates + 1}, 0, {create_event(creates + 1)}).is_ok())
      std::_Exit(8);
  }
  char done = 'd';
  if (::write(fd, &done, 1) != 1)
    std::_Exit(5);
  for (;;)
    std::this_thread::sleep_for(1s);
}

// Runs the child to the point where 200 creates are acknowledged and marked, then kills it.
void acknowledged_then_killed(const std::filesystem::path& dir, bool torn = false) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::vector<std::string> env{"ALMANAC_REL_DIR=" + dir.string(),
                               "ALMANAC_REL_FD=" + std::to_string(fds[1])};
  if (torn)
    env.push_back("ALMANAC_REL_TORN=1");
  auto child = almanac::test::spawn_self("[.damaged_wal_child]", env, fds[0]);
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  char done = 0;
  bool ready = ::poll(&p, 1, 120'000) == 1 && ::read(fds[0], &done, 1) == 1;
  ::kill(child, SIGKILL);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  ::close(fds[0]);
  REQUIRE(ready);
  CHECK(WIFSIGNALED(wstatus));
}

// Every file of the directory with its bytes: equal snapshots mean a refused open changed nothing.
std::map<std::string, std::string> contents(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator{dir}) {
    auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || name == "almanac.lock" || name.starts_with("LOG"))
      continue;
    std::ifstream in{entry.path(), std::ios::binary};
    out[name] = std::string{std::istreambuf_iterator<char>{in}, {}};
  }
  return out;
}

enum class damage { flip_byte, zero_block, cut_half };

const char* name_of(damage d) {
  switch (d) {
    case damage::flip_byte: return "one byte flipped at 10 %";
    case damage::zero_block: return "4 KiB zeroed at 50 %";
    case damage::cut_half: return "the file cut at 50 %";
  }
  return "?";
}

// Damages the live write-ahead log (the only one: 200 creates fit one memtable) and returns it.
std::filesystem::path damage_wal(const std::filesystem::path& dir, damage d) {
  auto wals = files_in(dir, ".log");
  REQUIRE(wals.size() == 1);
  auto wal = wals.back();
  auto size = std::filesystem::file_size(wal);
  REQUIRE(size > 16 * 1024);
  switch (d) {
    case damage::flip_byte: flip_byte(wal, size / 10); break;
    case damage::zero_block: {
      std::fstream f{wal, std::ios::in | std::ios::out | std::ios::binary};
      f.seekp(static_cast<std::streamoff>(size / 2));
      std::string zeros(4096, '\0');
      f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
      REQUIRE(f);
      break;
    }
    case damage::cut_half: std::filesystem::resize_file(wal, size / 2); break;
  }
  return wal;
}

std::uint64_t highest_position(const store::event_log& log) {
  std::uint64_t out = 0;
  REQUIRE(log.highest_position(out).is_ok());
  return out;
}

TEST_CASE("a damaged wal after kill 9 refuses to open and changes nothing", "[reliability]") {
  auto d = GENERATE(damage::flip_byte, damage::zero_block, damage::cut_half);
  INFO(name_of(d));
  temp_dir tmp;
  acknowledged_then_killed(tmp.data());
  auto wal = damage_wal(tmp.data(), d);
  auto before = contents(tmp.data());

  std::unique_ptr<store::event_log> log;
  auto st = store::event_log::open(tmp.data(), {}, log);
  INFO(st.to_string());
  REQUIRE(st.is_corruption());
  // What is damaged and what to run.
  if (d == damage::cut_half)
    CHECK_THAT(st.message(), Catch::Contains("positions up to 200 were acknowledged"));
  else
    CHECK_THAT(st.message(), Catch::Contains(wal.string()));
  CHECK_THAT(st.message(), Catch::Contains("almanac-replay --data " + tmp.data().string()
                                           + " verify"));
  CHECK_THAT(st.message(), Catch::Contains("--salvage"));
  CHECK(contents(tmp.data()) == before);

  // The scheduler refuses the same way, with the error code the daemon reports.
  scheduler_fixture f;
  auto s = f.try_start(tmp.data());
  REQUIRE_FALSE(s.ok());
  CHECK(s.err().code == errc::corrupt_event);
  CHECK(contents(tmp.data()) == before);
}

TEST_CASE("verify of a damaged wal reports the damage and the lost positions", "[reliability]") {
  auto d = GENERATE(damage::flip_byte, damage::zero_block, damage::cut_half);
  INFO(name_of(d));
  temp_dir tmp;
  acknowledged_then_killed(tmp.data());
  damage_wal(tmp.data(), d);
  auto before = contents(tmp.data());
  {
    store::open_options o;
    o.mode = store::open_mode::read_only;
    o.salvage = true;
    auto log = store::test::open_log(tmp.data(), o);
    REQUIRE(log->wal_damage_found());
    auto& damage = *log->wal_damage_found();
    CHECK(damage.kept_through < creates);
    CHECK(damage.seen_up_to == creates);
    CHECK(damage.acknowledged_through == creates);
    store::verify_report report;
    REQUIRE(log->verify(report).is_ok());
    REQUIRE_FALSE(report.ok());
    CHECK(report.problems.front().kind == store::problem_kind::wal_damage);
    CHECK(report.problems.front().position == damage.kept_through + 1);
    CHECK_THAT(report.problems.front().message,
               Catch::Contains("positions " + std::to_string(damage.kept_through + 1) + " to "
                               + std::to_string(creates) + " are lost"));
  }
  CHECK(contents(tmp.data()) == before);
}

TEST_CASE("a salvaged wal keeps a copy, records the loss and never reuses its positions",
          "[reliability]") {
  auto d = GENERATE(damage::flip_byte, damage::zero_block, damage::cut_half);
  INFO(name_of(d));
  temp_dir tmp;
  acknowledged_then_killed(tmp.data());
  auto wal = damage_wal(tmp.data(), d);
  auto damaged_bytes = contents(tmp.data())[wal.filename().string()];

  std::uint64_t kept = 0;
  std::filesystem::path backup;
  {
    store::open_options o;
    o.salvage = true;
    o.salvage_at = t0 + 2h;
    auto log = store::test::open_log(tmp.data(), o);
    REQUIRE(log->wal_damage_found());
    const auto& damage = *log->wal_damage_found();
    kept = damage.kept_through;
    CHECK(kept < creates);
    CHECK(damage.seen_up_to == creates);
    backup = damage.backup;
    // The damaged file, byte for byte, beside the rest of what a copy needs to open.
    REQUIRE(std::filesystem::is_directory(backup));
    CHECK(contents(backup)[wal.filename().string()] == damaged_bytes);
    // The loss is an event of the log's own stream, at the first position after the lost ones.
    auto salvages = store::test::read_all_of(*log, log_stream);
    REQUIRE(salvages.size() == 1);
    auto* l = std::get_if<log_salvaged>(&salvages[0].body);
    REQUIRE(l);
    CHECK(l->kept_through == kept);
    CHECK(l->seen_up_to == creates);
    CHECK(l->backup == backup.string());
    CHECK(salvages[0].env.recorded_at == t0 + 2h);
    CHECK(highest_position(*log) == creates + 1);
    // New appends go after it: a lost position is never handed out again.
    std::uint64_t first = 0;
    REQUIRE(log->append(job_id{1000}, 0, {create_event(1000)}, &first).is_ok());
    CHECK(first == creates + 2);
  }
  // The next start opens without --salvage: the loss is permanent and on record.
  auto log = store::test::open_log(tmp.data());
  CHECK_FALSE(log->wal_damage_found());
  CHECK(store::test::read_all_of(*log, log_stream).size() == 1);
  CHECK(highest_position(*log) == creates + 2);
  store::verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
  // The backup opens on its own and still holds what reads back of the damaged log.
  store::open_options ro;
  ro.mode = store::open_mode::read_only;
  ro.salvage = true;
  auto copy = store::test::open_log(backup, ro);
  CHECK(highest_position(*copy) == kept);
}

TEST_CASE("a salvaged start shows the loss in health and the audit trail", "[reliability]") {
  temp_dir tmp;
  acknowledged_then_killed(tmp.data());
  damage_wal(tmp.data(), damage::flip_byte);
  scheduler_fixture f;
  auto started = [&] {
    scheduler_options opts;
    opts.data_dir = tmp.data();
    opts.clk = &f.clk;
    opts.salvage = true;
    return scheduler::start(f.sys, std::move(opts));
  }();
  if (!started)
    FAIL("salvage start: " << started.err().message);
  f.sched = std::move(*started);
  auto health = f.ask<health_report>(health_request{});
  REQUIRE(health.ok());
  REQUIRE(health->log_salvages.size() == 1);
  CHECK_THAT(health->log_salvages[0], Catch::Contains("are lost"));
  // The jobs that read back, and nothing for the log's own stream.
  REQUIRE(scheduler_testing::log(*f.sched).wal_damage_found());
  CHECK(health->active == scheduler_testing::log(*f.sched).wal_damage_found()->kept_through);
  f.stop();
  // Still shown after a restart without --salvage.
  auto again = f.try_start(tmp.data());
  if (!again)
    FAIL("restart: " << again.err().message);
  f.sched = std::move(*again);
  health = f.ask<health_report>(health_request{});
  REQUIRE(health.ok());
  CHECK(health->log_salvages.size() == 1);
  std::vector<audit_entry> audit;
  for (int i = 0; i < 500 && audit.empty(); ++i) {
    audit.clear();
    REQUIRE(read_audit(scheduler_testing::log(*f.sched), log_stream, 10, 0, audit).is_ok());
    if (audit.empty())
      std::this_thread::sleep_for(10ms); // the projector folds the log on its own thread
  }
  REQUIRE(audit.size() == 1);
  CHECK(audit[0].action == "salvage");
  CHECK_THAT(audit[0].detail, Catch::Contains("lost"));
}

TEST_CASE("a torn last record that was never acknowledged still opens", "[reliability]") {
  auto torn_bytes = GENERATE(1, 3, 40);
  INFO("the last record loses its last " << torn_bytes << " bytes");
  temp_dir tmp;
  acknowledged_then_killed(tmp.data(), true);
  REQUIRE(mark_of(tmp.data()) == creates);
  auto wals = files_in(tmp.data(), ".log");
  REQUIRE_FALSE(wals.empty());
  auto wal = wals.back();
  auto size = std::filesystem::file_size(wal);
  REQUIRE(size > 64);
  std::filesystem::resize_file(wal, size - static_cast<std::uintmax_t>(torn_bytes));

  auto log = store::test::open_log(tmp.data());
  CHECK_FALSE(log->wal_damage_found());
  CHECK(highest_position(*log) == creates);
  CHECK(store::test::read_all_of(*log, job_id{creates + 1}).empty());
  store::verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
}

TEST_CASE("an acknowledged mark that does not parse refuses the open until it is removed",
          "[reliability]") {
  temp_dir tmp;
  {
    auto log = store::test::open_log(tmp.data());
    REQUIRE(log->append(job_id{1}, 0, {create_event(1)}).is_ok());
  }
  auto mark = tmp.data() / "ACKNOWLEDGED";
  REQUIRE(mark_of(tmp.data()) == 1);
  // Garbage, a torn number, a position whose check does not match, an unknown state.
  auto text = GENERATE(as<std::string>{}, "\xff\xfe garbage", "almanac acknowledged 12",
                       "almanac acknowledged 12 99 clean", "almanac acknowledged 1 18446744073709551614 odd");
  INFO(text);
  std::ofstream{mark, std::ios::trunc} << text;
  std::unique_ptr<store::event_log> log;
  auto st = store::event_log::open(tmp.data(), {}, log);
  REQUIRE(st.is_corruption());
  CHECK_THAT(st.message(), Catch::Contains(mark.string())
                             && Catch::Contains("is not an acknowledged mark: remove it"));
  std::filesystem::remove(mark);
  auto reopened = store::test::open_log(tmp.data());
  CHECK(store::test::read_all_of(*reopened, job_id{1}).size() == 1);
}

} // namespace
} // namespace almanac::reliability
