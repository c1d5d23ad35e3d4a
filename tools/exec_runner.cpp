#include "tools/exec_runner.hpp"

#include "schedule/time_text.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace almanac::tools {

namespace {

// Keeps the last max_output_tail bytes of everything appended, without holding more than twice
// that, whatever a chatty program prints.
class tail_buffer {
public:
  void append(const char* data, std::size_t n) {
    buf_.append(data, n);
    if (buf_.size() > 2 * max_output_tail)
      buf_.erase(0, buf_.size() - max_output_tail);
  }
  std::string take() { return output_tail(buf_); }

private:
  std::string buf_;
};

std::vector<std::string> child_environment(const run_context& ctx, const exec_target& t) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    auto eq = kv.find('=');
    if (eq == kv.npos)
      continue;
    env[std::string{kv.substr(0, eq)}] = std::string{kv.substr(eq + 1)};
  }
  // The daemon's credentials are not the job's business.
  env.erase("ALMANAC_SECRET");
  env.erase("ALMANAC_TOKEN");
  for (const auto& [k, v] : t.env)
    env[k] = v;
  // The run key, set last so that neither the daemon's environment nor the target can forge it:
  // an idempotent target keys its effect on (job, scheduled_for).
  env["ALMANAC_JOB_ID"] = to_string(ctx.key.job);
  env["ALMANAC_SCHEDULED_FOR"] = format_instant(ctx.key.scheduled_for);
  env["ALMANAC_RUN_ID"] = std::to_string(ctx.key.run_id);
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env)
    out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string{" (SIG"} + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

// Frees posix_spawn's attribute objects on every path out of run_exec.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_setup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
};

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

run_outcome run_exec(const run_context& ctx, const exec_options& opts) {
  auto* t = std::get_if<exec_target>(&ctx.what);
  if (!t)
    return {false, "the exec runner got a target that is not exec", {}};
  if (t->argv.empty())
    return {false, "exec target has an empty argv", {}};
  auto argv_storage = t->argv;
  auto argv = c_strings(argv_storage);
  auto env_storage = child_environment(ctx, *t);
  auto envp = c_strings(env_storage);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {false, std::string{"cannot create a pipe: "} + std::strerror(errno), {}};
  fd_guard read_end{fds[0]};
  fd_guard write_end{fds[1]};

  spawn_setup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&setup.actions, fds[1], 2);
  // Whatever the daemon holds open (the store's files, sockets) stays out of the child.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  if (!t->cwd.empty())
    posix_spawn_file_actions_addchdir_np(&setup.actions, t->cwd.c_str());
  // The daemon blocks SIGTERM and SIGINT in all its threads (it waits for them with sigwait);
  // the child must not inherit that mask, or a cancelled run could not be stopped politely.
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD, SIGQUIT})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&setup.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                                          | POSIX_SPAWN_SETPGROUP);

  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0)
    return {false,
            "cannot start '" + t->argv[0] + "'" + (t->cwd.empty() ? "" : " in '" + t->cwd + "'")
              + ": " + std::strerror(rc),
            {}};
  ::close(write_end.fd);
  write_end.fd = -1;

  tail_buffer tail;
  bool pipe_open = true;
  bool exited = false;
  int status = 0;
  std::optional<std::chrono::steady_clock::time_point> term_sent;
  bool kill_sent = false;
  auto poll_ms = static_cast<int>(
    std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(opts.poll_interval).count()));
  char buf[8192];
  while (!exited) {
    if (pipe_open) {
      pollfd p{read_end.fd, POLLIN, 0};
      if (::poll(&p, 1, poll_ms) > 0) {
        auto n = ::read(read_end.fd, buf, sizeof buf);
        if (n > 0)
          tail.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
          pipe_open = false;
      }
    } else {
      std::this_thread::sleep_for(opts.poll_interval);
    }
    auto w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno == ECHILD))
      exited = true;
    if (exited)
      break;
    if (ctx.cancelled()) {
      auto now = std::chrono::steady_clock::now();
      if (!term_sent) {
        ::kill(-pid, SIGTERM);
        term_sent = now;
      } else if (!kill_sent && now - *term_sent >= opts.kill_grace) {
        ::kill(-pid, SIGKILL);
        kill_sent = true;
      }
    }
  }
  // What the program wrote just before it ended is still in the pipe; its own children may hold
  // the pipe open for longer, so take what is there and do not wait for end-of-file.
  while (pipe_open) {
    pollfd p{read_end.fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0)
      break;
    auto n = ::read(read_end.fd, buf, sizeof buf);
    if (n <= 0)
      break;
    tail.append(buf, static_cast<std::size_t>(n));
  }
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (term_sent)
    return {false, "cancelled: " + describe_status(status), tail.take()};
  return {ok, ok ? std::string{} : describe_status(status), tail.take()};
}

runner make_exec_runner(exec_options opts) {
  return [opts](const run_context& ctx) { return run_exec(ctx, opts); };
}

} // namespace almanac::tools
