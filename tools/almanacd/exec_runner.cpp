#include "tools/almanacd/exec_runner.hpp"

#include "tools/almanacd/run_isolation.hpp"
#include "tools/almanacd/run_secrets.hpp"

#include <almanac/time.hpp>

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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace almanac::tools {

namespace {

bool allowed(std::string_view name, const std::vector<std::string>& allow) {
  // The daemon's namespace: its credentials (ALMANAC_SECRET, ALMANAC_TOKEN) and whatever else
  // it is given there, whatever the allow-list says.
  if (name.rfind("ALMANAC_", 0) == 0)
    return false;
  for (const auto& a : allow) {
    if (!a.empty() && a.back() == '*') {
      if (name.substr(0, a.size() - 1) == std::string_view{a}.substr(0, a.size() - 1))
        return true;
    } else if (name == a) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> child_environment(const run_context& ctx, const exec_target& t,
                                           const exec_options& opts,
                                           const std::map<std::string, std::string>& secrets) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    auto eq = kv.find('=');
    if (eq == kv.npos || !allowed(kv.substr(0, eq), opts.env_allow))
      continue;
    env[std::string{kv.substr(0, eq)}] = std::string{kv.substr(eq + 1)};
  }
  for (const auto& [k, v] : t.env)
    env[k] = v;
  for (const auto& [k, v] : secrets)
    env[k] = v;
  // The run key, set last so that neither the daemon's environment nor the target can forge it:
  // an idempotent target keys its effect on (job, scheduled_for).
  env["ALMANAC_JOB_ID"] = to_string(ctx.key.job);
  env["ALMANAC_SCHEDULED_FOR"] = format_instant(ctx.key.scheduled_for);
  env["ALMANAC_RUN_ID"] = std::to_string(ctx.key.run_id);
  // The marker that finds a run's processes once they left its process group.
  if (!opts.instance.empty())
    env["ALMANAC_INSTANCE"] = opts.instance;
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

namespace {

run_outcome daemon_failure(std::string what, int err) {
  run_outcome out{false, std::string{daemon_resource_prefix} + what + ": " + std::strerror(err), {}};
  out.infra = is_daemon_resource_errno(err);
  return out;
}

// Everything of one run: the leader's pid (also its process group) and its cgroup, if any.
// Ending it kills what the leader left behind.
struct run_processes {
  const exec_options& opts;
  std::string job;
  std::string run;
  std::filesystem::path cgroup;
  pid_t pid = 0;

  void signal_all(int sig) const {
    if (pid > 0)
      ::kill(-pid, sig);
    if (!cgroup.empty()) {
      if (sig == SIGKILL)
        kill_cgroup_now();
      else
        for (auto p : cgroup_members(cgroup))
          ::kill(p, sig);
    }
    if (cgroup.empty())
      signal_marked_run(sig);
  }

  // Without a cgroup, a `setsid` child has left the group: its environment still names the run.
  // A process in the middle of an execve shows an empty environment for an instant, and one may
  // fork while it is scanned: the scan is repeated until two passes in a row find nobody.
  void signal_marked_run(int sig) const {
    if (opts.instance.empty())
      return;
    int quiet = 0;
    for (int pass = 0; pass < 100 && quiet < 2; ++pass) {
      auto found = marked_processes(opts.instance, job, run);
      quiet = found.empty() ? quiet + 1 : 0;
      for (auto p : found)
        signal_marked(p, sig, opts.instance);
      if (sig != SIGKILL)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }

  void kill_cgroup_now() const {
    if (int fd = ::open((cgroup / "cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC); fd >= 0) {
      if (::write(fd, "1", 1) < 0) {
        // nop: the cgroup is emptied by kill_and_remove_cgroup below
      }
      ::close(fd);
    }
  }

  // Called while the exited leader is still a zombie, so its pid, which is also the group's id,
  // cannot have been reused by anyone else.
  void kill_leftovers() const {
    if (pid > 0)
      ::kill(-pid, SIGKILL);
    if (!cgroup.empty())
      kill_cgroup_now();
    else
      signal_marked_run(SIGKILL);
  }

  void remove_cgroup() {
    if (!cgroup.empty())
      kill_and_remove_cgroup(cgroup, std::chrono::seconds{10});
    cgroup.clear();
  }
};

// The leader has ended (or the shim failed): true once waitid saw it, without reaping it.
bool leader_ended(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD;
  return info.si_pid == pid;
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    // nop: retry
  }
  return status;
}

// The run itself, once its secrets are resolved; `mask` covers what it reports.
run_outcome run_exec_with(const run_context& ctx, const exec_options& opts, const exec_target* t,
                          const std::map<std::string, std::string>& secrets,
                          const secret_mask& mask) {
  run_processes procs{opts, to_string(ctx.key.job), std::to_string(ctx.key.run_id), {}, 0};
  if (!opts.cgroup_parent.empty()) {
    procs.cgroup = opts.cgroup_parent / ("run-" + procs.job + "-" + procs.run);
    if (::mkdir(procs.cgroup.c_str(), 0755) != 0) {
      int err = errno;
      if (err != EEXIST) {
        auto out = daemon_failure("cannot create the run's cgroup " + procs.cgroup.string(), err);
        // Whatever the cause, the daemon's cgroup tree is not the job's business.
        out.infra = true;
        return out;
      }
      // A cgroup of this very run: left by a daemon that died; start it empty.
      kill_and_remove_cgroup(procs.cgroup, std::chrono::seconds{10});
      if (::mkdir(procs.cgroup.c_str(), 0755) != 0) {
        err = errno;
        auto out = daemon_failure("cannot create the run's cgroup " + procs.cgroup.string(), err);
        out.infra = true;
        return out;
      }
    }
  }
  // On every path out from here, the cgroup goes too.
  struct cgroup_guard {
    run_processes& p;
    ~cgroup_guard() { p.remove_cgroup(); }
  } guard{procs};

  std::vector<std::string> argv_storage;
  bool via_shim = !opts.shim.empty();
  if (via_shim) {
    argv_storage = {opts.shim.string(), std::to_string(::getpid()),
                    procs.cgroup.empty() ? "-" : (procs.cgroup / "cgroup.procs").string(),
                    opts.child_nofile ? std::to_string(opts.child_nofile) : "-", "--"};
  }
  argv_storage.insert(argv_storage.end(), t->argv.begin(), t->argv.end());
  auto argv = c_strings(argv_storage);
  auto env_storage = child_environment(ctx, *t, opts, secrets);
  auto envp = c_strings(env_storage);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    int err = errno;
    return daemon_failure("cannot create a pipe", err);
  }
  fd_guard read_end{fds[0]};
  fd_guard write_end{fds[1]};
  fd_guard report_read;
  fd_guard report_write;
  if (via_shim) {
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      int err = errno;
      return daemon_failure("cannot create a pipe", err);
    }
    report_read.fd = fds[0];
    report_write.fd = fds[1];
  }

  spawn_setup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.fd, 1);
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.fd, 2);
  if (via_shim)
    posix_spawn_file_actions_adddup2(&setup.actions, report_write.fd, 3);
  // Whatever the daemon holds open (the store's files, sockets) stays out of the child.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, via_shim ? 4 : 3);
  if (!t->cwd.empty())
    posix_spawn_file_actions_addchdir_np(&setup.actions, t->cwd.c_str());
  // The daemon blocks its stop signals in all its threads (it waits for them with sigwait);
  // the child must not inherit that mask, or a cancelled run could not be stopped politely.
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&setup.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                                          | POSIX_SPAWN_SETPGROUP);

  auto cannot_start = [&](int err) {
    run_outcome out{false,
                    "cannot start '" + t->argv[0] + "'"
                      + (t->cwd.empty() ? "" : " in '" + t->cwd + "'") + ": " + std::strerror(err),
                    {}};
    if (is_daemon_resource_errno(err)) {
      out.error.insert(0, daemon_resource_prefix);
      out.infra = true;
    }
    return out;
  };
  pid_t pid = 0;
  // glibc's posix_spawn reports the exec's own errno (it runs the exec in a vfork'd child).
  int rc = via_shim ? ::posix_spawn(&pid, argv[0], &setup.actions, &setup.attr, argv.data(),
                                    envp.data())
                    : ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(),
                                     envp.data());
  if (rc != 0)
    return cannot_start(rc);
  procs.pid = pid;
  ::close(write_end.fd);
  write_end.fd = -1;
  if (via_shim) {
    ::close(report_write.fd);
    report_write.fd = -1;
    // End of file: the program is running (the pipe is close-on-exec). Eight bytes: the shim
    // could not go on; it exits right after writing them.
    int msg[2] = {0, 0};
    std::size_t got = 0;
    while (got < sizeof msg) {
      auto n = ::read(report_read.fd, reinterpret_cast<char*>(msg) + got, sizeof msg - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += static_cast<std::size_t>(n);
    }
    if (got == sizeof msg) {
      procs.kill_leftovers();
      reap(pid);
      if (msg[0] == 1) {
        auto out = daemon_failure("cannot join the run's cgroup", msg[1]);
        out.infra = true;
        return out;
      }
      return cannot_start(msg[1]);
    }
  }

  masked_tail tail{mask};
  bool pipe_open = true;
  std::optional<std::chrono::steady_clock::time_point> term_sent;
  bool kill_sent = false;
  auto poll_ms = static_cast<int>(
    std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(opts.poll_interval).count()));
  char buf[8192];
  for (;;) {
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
    if (leader_ended(pid))
      break;
    if (ctx.cancelled()) {
      auto now = std::chrono::steady_clock::now();
      if (!term_sent) {
        procs.signal_all(SIGTERM);
        term_sent = now;
      } else if (!kill_sent && now - *term_sent >= opts.kill_grace) {
        procs.signal_all(SIGKILL);
        kill_sent = true;
      }
    }
  }
  // What the program wrote just before it ended is still in the pipe; take what is there and do
  // not wait for end-of-file (killing the leftovers below closes the pipe anyway).
  while (pipe_open) {
    pollfd p{read_end.fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0)
      break;
    auto n = ::read(read_end.fd, buf, sizeof buf);
    if (n <= 0)
      break;
    tail.append(buf, static_cast<std::size_t>(n));
  }
  procs.kill_leftovers();
  int status = reap(pid);
  procs.remove_cgroup();
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (term_sent)
    return {false, "cancelled: " + describe_status(status), tail.take()};
  return {ok, ok ? std::string{} : describe_status(status), tail.take()};
}

} // namespace

run_outcome run_exec(const run_context& ctx, const exec_options& opts) {
  auto* t = std::get_if<exec_target>(&ctx.what);
  if (!t)
    return {false, "the exec runner got a target that is not exec", {}};
  if (t->argv.empty())
    return {false, "exec target has an empty argv", {}};
  // Resolved here, at spawn, and nowhere else: the values live as long as this call.
  std::map<std::string, std::string> secrets;
  secret_mask mask;
  for (const auto& [name, ref] : t->secret_env) {
    auto r = resolve_secret(ref, opts.secrets_dir);
    if (!r.ok) {
      run_outcome out{false, "env " + name + ": " + r.error, {}};
      if (r.infra) {
        out.error.insert(0, daemon_resource_prefix);
        out.infra = true;
      }
      return out;
    }
    if (r.value.find('\0') != std::string::npos)
      return {false, "env " + name + ": secret " + to_string(ref)
                       + ": the value holds a NUL byte, which no environment variable can", {}};
    mask.add(r.value);
    secrets[name] = std::move(r.value);
  }
  auto out = run_exec_with(ctx, opts, t, secrets, mask);
  out.error = mask.apply(out.error);
  return out;
}

std::vector<std::string> default_exec_env_allow() {
  return {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_*", "TZ", "TMPDIR"};
}

result<std::vector<std::string>> parse_exec_env_allow(std::string_view text) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (;;) {
    auto comma = text.find(',', from);
    auto entry = std::string{text.substr(from, comma == text.npos ? text.npos : comma - from)};
    entry.erase(0, entry.find_first_not_of(' '));
    entry.erase(entry.find_last_not_of(' ') + 1);
    auto name = std::string_view{entry};
    if (!name.empty() && name.back() == '*')
      name.remove_suffix(1);
    bool ok = entry == "*" || !name.empty();
    for (char c : name)
      ok = ok && (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
    if (!ok)
      return fail(errc::invalid_input, "'" + entry + "' is not a variable name, NAME* or *");
    // A pattern such as A* may stay: the ALMANAC_ variables are dropped whatever matches them.
    if (entry.rfind("ALMANAC_", 0) == 0)
      return fail(errc::invalid_input,
                  "'" + entry + "': the daemon's ALMANAC_ variables are never passed to runs");
    out.push_back(std::move(entry));
    if (comma == text.npos)
      break;
    from = comma + 1;
  }
  return out;
}

runner make_exec_runner(exec_options opts) {
  return [opts](const run_context& ctx) { return run_exec(ctx, opts); };
}

} // namespace almanac::tools
