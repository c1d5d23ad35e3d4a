// A full disk, for real: the data directory lives on a 4 MiB tmpfs mounted by the test (it needs
// root, or CAP_SYS_ADMIN; without it the test fails and says so rather than passing unseen).
// While the disk is full every change is refused with storage_error and a message that says
// why, and nothing is half applied: the job's state and the log stay exactly as they were. Once
// space returns, the same scheduler takes changes again, without a restart.
//
// The scenario runs in a child process (this binary re-executed with a hidden tag), because a
// full disk could abort it. Every refusal is storage_error naming the cause ("No space left on
// device"), nothing is half applied, RocksDB's info LOG does not go to the full disk, every write
// passes the store's write gate (which resumes the database before the next write), and the
// memtable budget is one the disk can hold: with RocksDB's defaults the WAL preallocates ~70 MiB
// and RocksDB wants 64 MiB free before it clears a "no space" error, so a small disk never
// filled, or never recovered.
#include "reliability_fixture.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace almanac::reliability {
namespace {

// A tmpfs mounted on a fresh directory for the life of the object.
class small_disk {
public:
  explicit small_disk(const std::filesystem::path& where) : where_(where) {
    if (::mount("tmpfs", where.c_str(), "tmpfs", 0, "size=4m,mode=0755") != 0)
      FAIL("cannot mount a 4 MiB tmpfs on " << where.string() << ": " << std::strerror(errno)
                                            << " (this test needs root or CAP_SYS_ADMIN)");
    mounted_ = true;
  }
  ~small_disk() {
    if (mounted_)
      ::umount2(where_.c_str(), MNT_DETACH);
  }
  small_disk(const small_disk&) = delete;
  small_disk& operator=(const small_disk&) = delete;

private:
  std::filesystem::path where_;
  bool mounted_ = false;
};

// Writes zeros into `file` until the file system has no byte left.
void fill(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  std::vector<char> block(4096, 0);
  for (;;) {
    auto n = ::write(fd, block.data(), block.size());
    if (n < 0) {
      REQUIRE(errno == ENOSPC);
      break;
    }
    if (n == 0)
      break;
  }
  // The last partial block: fill byte by byte so that not even a small WAL record fits.
  while (::write(fd, block.data(), 1) == 1) {
  }
  ::close(fd);
}

TEST_CASE("disk full child refuses changes and continues once space returns",
          "[.reliability_disk_full_child]") {
  scheduler_fixture f;
  auto mount_point = f.dir.path() / "disk";
  std::filesystem::create_directory(mount_point);
  small_disk disk{mount_point};
  auto data = mount_point / "data";
  // A memtable budget the disk can hold: it bounds the WAL's preallocation and the free space
  // RocksDB wants back before it clears the "no space" error (64 MiB each by default).
  f.memtable_bytes = std::size_t{1} << 20;
  {
    auto s = f.try_start(data);
    if (!s)
      FAIL("scheduler did not start on the tmpfs: " << s.err().message);
    f.sched = std::move(*s);
  }
  auto keep = f.created("keep", every_schedule{1h, f.clk.now()});
  auto filler = mount_point / "filler";
  fill(filler);

  // The WAL's last page has room for a few more records even on a full disk: change the job
  // until an append needs a page the disk does not have, checking each refusal as it comes.
  std::optional<error> refusal;
  auto state = keep;
  for (int i = 0; i < 5000 && !refusal; ++i) {
    std::uint64_t position = 0;
    REQUIRE(scheduler_testing::log(*f.sched).highest_position(position).is_ok());
    auto r = state.status == job_status::active
               ? f.ask<job_state>(pause_request{"keep", "user:alice", ""})
               : f.ask<job_state>(resume_request{"keep", false, "user:alice", ""});
    if (r) {
      state = *r;
      continue;
    }
    refusal = std::move(r).err();
    // Nothing half applied: the job's state and the log's end are where they were.
    auto now = f.ask<job_state>(get_request{"keep"});
    REQUIRE(now.ok());
    CHECK(now->seq == state.seq);
    CHECK(now->status == state.status);
    std::uint64_t after = 0;
    REQUIRE(scheduler_testing::log(*f.sched).highest_position(after).is_ok());
    CHECK(after == position);
  }
  REQUIRE(refusal);
  INFO(refusal->message);
  CHECK(refusal->code == errc::storage_error);
  CHECK_THAT(refusal->message, Catch::Contains("space", Catch::CaseSensitive::No));

  // Still full: a create is refused too, and leaves no job and no event behind.
  auto before = fingerprint(scheduler_testing::log(*f.sched));
  auto created = f.create("new-job", every_schedule{1h, f.clk.now()});
  REQUIRE_FALSE(created.ok());
  INFO(created.err().message);
  CHECK(created.code() == errc::storage_error);
  CHECK_THAT(created.err().message, Catch::Contains("space", Catch::CaseSensitive::No));
  CHECK(f.ask<job_state>(get_request{"new-job"}).code() == errc::not_found);
  auto list = f.ask<job_list>(list_request{});
  REQUIRE(list.ok());
  CHECK(list->jobs.size() == 1);
  CHECK(fingerprint(scheduler_testing::log(*f.sched)) == before);

  // Space returns: the same scheduler takes changes again. RocksDB's recovery from a full disk
  // runs in the background, so retry for a bounded while.
  std::filesystem::remove(filler);
  result<job_state> resumed = fail(errc::storage_error, "not tried");
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!resumed.ok() && std::chrono::steady_clock::now() < deadline) {
    resumed = state.status == job_status::active
                ? f.ask<job_state>(pause_request{"keep", "user:alice", ""})
                : f.ask<job_state>(resume_request{"keep", false, "user:alice", ""});
    if (!resumed.ok())
      std::this_thread::sleep_for(200ms);
  }
  INFO((resumed.ok() ? std::string{"ok"} : resumed.err().message));
  REQUIRE(resumed.ok());
  CHECK(resumed->seq == state.seq + 1);
  CHECK(f.create("new-job", every_schedule{1h, f.clk.now()}).ok());
  CHECK(fingerprint(scheduler_testing::log(*f.sched)).events.size() == before.events.size() + 2);
  f.stop();
}

TEST_CASE("a full disk refuses changes cleanly and the scheduler continues once space returns",
          "[reliability]") {
  temp_dir tmp;
  auto report = tmp.path() / "child-report.txt";
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string tag = "[.reliability_disk_full_child]";
  std::string out_flag = "-o";
  std::string out_path = report.string();
  char* argv[] = {self.data(), tag.data(), out_flag.data(), out_path.data(), nullptr};
  pid_t child = 0;
  REQUIRE(::posix_spawn(&child, self.c_str(), nullptr, nullptr, argv, environ) == 0);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  std::ifstream in{report};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  INFO("the child's report:\n" << text);
  if (WIFSIGNALED(wstatus))
    FAIL("the child died of signal " << WTERMSIG(wstatus));
  CHECK(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
}

} // namespace
} // namespace almanac::reliability
