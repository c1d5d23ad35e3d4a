// A crash tears the tail of the write-ahead log: the last record was being written when the
// process died, so the file ends in the middle of it. RocksDB's default recovery mode (point in
// time, which store/ keeps) then stops at the last whole record. This proves, through the whole
// scheduler, that the torn record can only be one that nobody was told about: every action a
// caller saw acknowledged (fsync'd before the reply) is in the log and in the recovered state.
//
// The child half runs in a process of its own (re-executing this binary with a hidden tag),
// acknowledges admin actions over a pipe, appends a few more without telling, and is killed.
#include "reliability_fixture.hpp"
#include "tests/common/spawn_self.hpp"

#include <csignal>
#include <cstring>
#include <map>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace almanac::reliability {
namespace {

constexpr std::uint32_t jobs = 3;
constexpr int acked_actions = 240;
constexpr int unacked_tail = 6;
// What an acknowledgement reports: which job, which action, and the sequence it got.
enum : std::uint32_t { act_create = 0, act_pause = 1, act_resume = 2, act_tail_done = 99 };

struct ack {
  std::uint32_t job = 0;
  std::uint32_t action = 0;
  std::uint64_t seq = 0;
};
static_assert(sizeof(ack) == 16);

std::string job_name(std::uint32_t i) { return "torn-" + std::to_string(i); }

// The child: runs until killed. Every reply it gets is durable (durability sync).
TEST_CASE("torn wal child acknowledges admin actions until killed", "[.reliability_wal_child]") {
  auto* dir = std::getenv("ALMANAC_REL_DIR");
  auto* fd_text = std::getenv("ALMANAC_REL_FD");
  if (!dir || !fd_text)
    return;
  int fd = std::atoi(fd_text);
  auto report = [fd](ack a) {
    // 16 bytes, below PIPE_BUF: one write() is atomic.
    if (::write(fd, &a, sizeof a) != sizeof a)
      std::_Exit(4);
  };
  scheduler_fixture f;
  auto s = f.try_start(dir);
  if (!s)
    std::_Exit(3);
  f.sched = std::move(*s);
  for (std::uint32_t i = 0; i < jobs; ++i) {
    auto r = f.create(job_name(i), every_schedule{1h, f.clk.now()});
    if (!r)
      std::_Exit(5);
    report({i, act_create, r->seq});
  }
  auto act = [&](int n) -> std::pair<std::uint32_t, job_state> {
    auto i = static_cast<std::uint32_t>(n) % jobs;
    // Each job alternates: pause, resume, pause, ...
    bool pause = (n / jobs) % 2 == 0;
    auto r = pause ? f.ask<job_state>(pause_request{job_name(i), "user:torn", ""})
                   : f.ask<job_state>(resume_request{job_name(i), false, "user:torn", ""});
    if (!r)
      std::_Exit(6);
    return {pause ? act_pause : act_resume, *r};
  };
  int n = 0;
  for (; n < acked_actions; ++n) {
    auto [what, state] = act(n);
    report({static_cast<std::uint32_t>(n) % jobs, what, state.seq});
  }
  // Appended and durable, never acknowledged: the crash tears one of these, never the above.
  for (; n < acked_actions + unacked_tail; ++n)
    act(n);
  report({0, act_tail_done, 0});
  for (;;)
    std::this_thread::sleep_for(1s);
}

pid_t spawn_child(const std::filesystem::path& dir, int write_fd, int read_fd) {
  return almanac::test::spawn_self("[.reliability_wal_child]",
                                   {"ALMANAC_REL_DIR=" + dir.string(),
                                    "ALMANAC_REL_FD=" + std::to_string(write_fd)},
                                   read_fd);
}

TEST_CASE("a torn wal tail after kill 9 keeps every acknowledged admin action",
          "[reliability]") {
  auto torn_bytes = GENERATE(1, 7, 33);
  INFO("the newest WAL file loses its last " << torn_bytes << " bytes");
  temp_dir tmp;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  auto child = spawn_child(tmp.data(), fds[1], fds[0]);
  ::close(fds[1]);

  std::vector<ack> acks;
  bool tail_done = false;
  std::string buffer;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!tail_done && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0)
      continue;
    char chunk[4096];
    auto got = ::read(fds[0], chunk, sizeof chunk);
    if (got <= 0)
      break; // the child died: the REQUIREs below say so
    buffer.append(chunk, static_cast<std::size_t>(got));
    while (buffer.size() >= sizeof(ack)) {
      ack a;
      std::memcpy(&a, buffer.data(), sizeof a);
      buffer.erase(0, sizeof a);
      if (a.action == act_tail_done)
        tail_done = true;
      else
        acks.push_back(a);
    }
  }
  ::kill(child, SIGKILL);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  ::close(fds[0]);
  REQUIRE(tail_done);
  REQUIRE(acks.size() == jobs + acked_actions);
  CHECK(WIFSIGNALED(wstatus));

  // The torn tail: the newest WAL file ends in the middle of its last record.
  auto wals = files_in(tmp.data(), ".log");
  REQUIRE_FALSE(wals.empty());
  auto wal = wals.back();
  auto size = std::filesystem::file_size(wal);
  INFO("WAL " << wal.filename().string() << " of " << size << " bytes");
  REQUIRE(size > 64);
  std::filesystem::resize_file(wal, size - static_cast<std::uintmax_t>(torn_bytes));
  // A record a real crash tears was never synced, so the acknowledged mark (written after the
  // syncs it covers, once a second) cannot cover it. This test tears a synced record in its
  // stead, which a mark written late in the run may cover: remove the mark, as a crash before
  // its first write would have left the directory.
  std::filesystem::remove(tmp.data() / "ACKNOWLEDGED");

  scheduler_fixture f;
  auto s = f.try_start(tmp.data());
  if (!s)
    FAIL("the scheduler refused the torn WAL: " << s.err().message);
  f.sched = std::move(*s);
  std::map<std::uint32_t, std::vector<event>> streams;
  for (std::uint32_t i = 0; i < jobs; ++i) {
    auto state = f.ask<job_state>(get_request{job_name(i)});
    REQUIRE(state.ok());
    REQUIRE(scheduler_testing::log(*f.sched).read_stream(state->id, 1, streams[i]).is_ok());
    CHECK(streams[i].size() == state->seq);
  }
  for (const auto& a : acks) {
    INFO("job " << a.job << " action " << a.action << " acknowledged at seq " << a.seq);
    auto& events = streams[a.job];
    REQUIRE(events.size() >= a.seq);
    const auto& body = events[a.seq - 1].body;
    switch (a.action) {
      case act_create: CHECK(std::holds_alternative<job_created>(body)); break;
      case act_pause: CHECK(std::holds_alternative<job_paused>(body)); break;
      case act_resume: CHECK(std::holds_alternative<job_resumed>(body)); break;
      default: FAIL("unknown action");
    }
  }
  store::verify_report report;
  REQUIRE(scheduler_testing::log(*f.sched).verify(report).is_ok());
  CHECK(report.ok());
  // And it goes on: the recovered scheduler appends where the log ends.
  auto first = f.ask<job_state>(get_request{job_name(0)});
  REQUIRE(first.ok());
  auto next = first->status == job_status::paused
                ? f.ask<job_state>(resume_request{job_name(0), false, "user:bob", ""})
                : f.ask<job_state>(pause_request{job_name(0), "user:bob", ""});
  REQUIRE(next.ok());
  CHECK(next->seq == first->seq + 1);
}

} // namespace
} // namespace almanac::reliability
