// Group commit: concurrent writers share syncs without losing order, conflicts are decided per
// append, async acknowledgements come from the writer thread, and a process killed with kill -9
// keeps every append it saw acknowledged.
#include "store_fixture.hpp"
#include "tests/common/spawn_self.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace almanac::store::test {
namespace {

TEST_CASE("8 concurrent writers keep every stream gap-free and the global order consistent",
          "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  constexpr int writers = 8;
  constexpr int per_writer = 150;
  constexpr std::uint64_t jobs = 4;
  std::atomic<int> conflicts{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < per_writer; ++i) {
        // Writers share streams, so they race for sequences and retry on conflict.
        job_id job{1 + static_cast<std::uint64_t>(w + i) % jobs};
        for (;;) {
          std::uint64_t at = 0;
          if (!log->highest_seq(job, at)) {
            ++failures;
            return;
          }
          auto st = log->append(job, at, make_events(job, at, 1 + i % 3));
          if (st)
            break;
          if (!st.is_conflict()) {
            ++failures;
            return;
          }
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(failures == 0);
  std::uint64_t total = 0;
  for (std::uint64_t j = 1; j <= jobs; ++j) {
    auto events = read_all_of(*log, job_id{j});
    for (std::size_t i = 0; i < events.size(); ++i)
      REQUIRE(events[i].env.seq == i + 1);
    total += events.size();
  }
  std::map<std::uint64_t, std::uint64_t> last_seq;
  std::uint64_t last_position = 0;
  std::uint64_t count = 0;
  REQUIRE(log->read_all(0, [&](std::uint64_t position, const event& e) {
    CHECK(position == last_position + 1);
    last_position = position;
    CHECK(e.env.seq == last_seq[e.env.job.value] + 1);
    last_seq[e.env.job.value] = e.env.seq;
    ++count;
    return true;
  }).is_ok());
  CHECK(count == total);
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
  CHECK(report.events == total);
}

TEST_CASE("append_async decides conflicts per append and acknowledges on the writer thread",
          "[store]") {
  temp_dir tmp;
  auto log = open_log(tmp.data());
  constexpr job_id job{7};
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::pair<int, status>> acks;
  std::vector<std::uint64_t> firsts;
  bool on_caller_thread = false;
  auto caller = std::this_thread::get_id();
  auto done = [&](int tag) {
    return [&, tag](status st, std::uint64_t first) {
      std::lock_guard lock{mtx};
      on_caller_thread = on_caller_thread || std::this_thread::get_id() == caller;
      acks.emplace_back(tag, std::move(st));
      firsts.push_back(first);
      cv.notify_all();
    };
  };
  // Queued back to back, these usually share a group; the outcome is the same either way.
  log->append_async(job, 0, make_events(job, 0, 2), done(1));
  log->append_async(job, 0, make_events(job, 0, 1), done(2));
  log->append_async(job, 2, make_events(job, 2, 1), done(3));
  auto bad = make_events(job, 3, 1);
  bad[0].env.seq = 9;
  log->append_async(job, 3, bad, done(4));
  {
    std::unique_lock lock{mtx};
    REQUIRE(cv.wait_for(lock, std::chrono::seconds{30}, [&] { return acks.size() == 4; }));
  }
  CHECK_FALSE(on_caller_thread);
  std::map<int, status::code> codes;
  for (auto& [tag, st] : acks)
    codes[tag] = st.get_code();
  CHECK(codes[1] == status::code::ok);
  CHECK(codes[2] == status::code::conflict);
  CHECK(codes[3] == status::code::ok);
  CHECK(codes[4] == status::code::invalid_argument);
  CHECK(seqs(read_all_of(*log, job)) == std::vector<std::uint64_t>{1, 2, 3});
  REQUIRE(log->close().is_ok());
  status late;
  log->append_async(job, 3, make_events(job, 3, 1), [&](status st, std::uint64_t) {
    late = std::move(st);
  });
  CHECK(late.get_code() == status::code::unavailable);
}

TEST_CASE("a full queue makes blocking appends wait instead of failing", "[store]") {
  temp_dir tmp;
  open_options opts;
  opts.max_queued_events = 4;
  opts.max_group_events = 2;
  auto log = open_log(tmp.data(), opts);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (std::uint64_t w = 1; w <= 4; ++w)
    threads.emplace_back([&, w] {
      for (std::uint64_t seq = 0; seq < 60; seq += 3)
        if (!log->append(job_id{w}, seq, make_events(job_id{w}, seq, 3)))
          ++failures;
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures == 0);
  for (std::uint64_t w = 1; w <= 4; ++w)
    CHECK(highest(*log, job_id{w}) == 60);
}

// The child half of the kill -9 test: run by the test below in a process of its own (hidden
// from normal runs by the leading dot of its tag).
TEST_CASE("crash child appends and reports each acknowledgement until killed",
          "[.store_crash_child]") {
  auto* dir = std::getenv("ALMANAC_CRASH_DIR");
  auto* fd_text = std::getenv("ALMANAC_CRASH_FD");
  if (!dir || !fd_text)
    return;
  int fd = std::atoi(fd_text);
  auto log = open_log(dir);
  std::vector<std::thread> threads;
  for (std::uint64_t w = 1; w <= 4; ++w)
    threads.emplace_back([&, w] {
      job_id job{w};
      for (std::uint64_t seq = 0; seq < 1'000'000; ++seq) {
        if (!log->append(job, seq, make_events(job, seq, 1)))
          std::_Exit(3);
        // 16 bytes: one write() below PIPE_BUF is atomic, so acknowledgements never interleave.
        std::string ack = detail::stream_key(job, seq + 1);
        if (::write(fd, ack.data(), ack.size()) != 16)
          std::_Exit(4);
      }
    });
  for (auto& t : threads)
    t.join();
}

TEST_CASE("a process killed with kill -9 loses no acknowledged append", "[store]") {
  temp_dir tmp;
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  pid_t child = almanac::test::spawn_self("[.store_crash_child]",
                                          {"ALMANAC_CRASH_DIR=" + tmp.data().string(),
                                           "ALMANAC_CRASH_FD=" + std::to_string(pipe_fds[1])},
                                          pipe_fds[0]);
  ::close(pipe_fds[1]);

  std::vector<std::pair<std::uint64_t, std::uint64_t>> acked; // job, seq
  std::string buffer;
  auto drain = [&](int timeout_ms) {
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0)
      return false;
    char chunk[4096];
    auto n = ::read(pipe_fds[0], chunk, sizeof chunk);
    if (n <= 0)
      return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    while (buffer.size() >= 16) {
      acked.emplace_back(detail::get_u64(buffer), detail::get_u64(buffer, 8));
      buffer.erase(0, 16);
    }
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (acked.size() < 400 && std::chrono::steady_clock::now() < deadline)
    if (!drain(1000))
      break;
  // Killed mid-stream: appends are in flight, some written and not yet acknowledged.
  REQUIRE(::kill(child, SIGKILL) == 0);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  CHECK(WIFSIGNALED(wstatus));
  while (drain(100)) {
  }
  ::close(pipe_fds[0]);
  REQUIRE(acked.size() >= 400);

  auto log = open_log(tmp.data());
  std::map<std::uint64_t, std::uint64_t> highest_acked;
  for (auto& [job, seq] : acked)
    highest_acked[job] = std::max(highest_acked[job], seq);
  for (auto& [job, seq] : highest_acked) {
    INFO("job " << job << " acknowledged up to seq " << seq);
    auto events = read_all_of(*log, job_id{job});
    REQUIRE(events.size() >= seq);
    for (std::size_t i = 0; i < events.size(); ++i)
      REQUIRE(events[i].env.seq == i + 1);
  }
  verify_report report;
  REQUIRE(log->verify(report).is_ok());
  CHECK(report.ok());
}

} // namespace
} // namespace almanac::store::test
