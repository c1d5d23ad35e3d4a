// `almanac-exec`: the shim the exec runner starts in place of a run's program, because
// posix_spawn cannot run prctl or join a cgroup in the child. It ties the run to the daemon and
// then becomes the program (execvp: same pid, so the runner waits for and signals the program
// itself).
//
//   almanac-exec DAEMON_PID CGROUP_PROCS NOFILE -- PROG ARGS...
//
// DAEMON_PID: the daemon's pid; the shim asks for SIGKILL when its parent dies
// (PR_SET_PDEATHSIG) and exits at once if the parent is already another process.
// CGROUP_PROCS: the run's cgroup.procs file to join before anything of the run exists, or "-".
// NOFILE: the soft RLIMIT_NOFILE to restore for the program (the daemon raises its own), or "-".
// Fd 3: a close-on-exec pipe to the runner; when the shim cannot go on it writes two ints, the
// stage (1: joining the cgroup, 2: execvp) and errno, so the runner can tell a missing program
// (the job's failure) from the daemon running out of resources.
// Exit status 125: the daemon was already gone; 126: the cgroup could not be joined; 127: execvp
// failed. Built static, so that the shim itself needs no shared library to start.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

constexpr int report_fd = 3;

[[noreturn]] void report_and_exit(int stage, int err, int status) {
  int msg[2] = {stage, err};
  // One write of 8 bytes to a pipe is atomic; if it fails the runner sees the exit status only.
  if (::write(report_fd, msg, sizeof msg) < 0) {
    // nop
  }
  ::_exit(status);
}

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    auto w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 6 || std::strcmp(argv[4], "--") != 0) {
    static const char usage[] = "usage: almanac-exec DAEMON_PID CGROUP_PROCS NOFILE -- PROG ARGS...\n";
    if (::write(2, usage, sizeof usage - 1) < 0) {
      // nop
    }
    return 2;
  }
  auto daemon = static_cast<pid_t>(std::strtol(argv[1], nullptr, 10));
  // Asked before the check: if the daemon dies between the two, the signal still comes.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != daemon)
    ::_exit(125);
  if (std::strcmp(argv[2], "-") != 0) {
    int fd = ::open(argv[2], O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      report_and_exit(1, errno, 126);
    // "0" moves the writing process; nothing else of the run exists yet.
    if (!write_all(fd, "0", 1))
      report_and_exit(1, errno, 126);
    ::close(fd);
  }
  if (std::strcmp(argv[3], "-") != 0) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
      auto soft = static_cast<rlim_t>(std::strtoull(argv[3], nullptr, 10));
      if (soft < lim.rlim_max)
        lim.rlim_cur = soft;
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
  }
  ::fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  ::execvp(argv[5], argv + 5);
  report_and_exit(2, errno, 127);
}
