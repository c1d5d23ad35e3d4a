#include "tools/almanacd/exec_runner.hpp"
#include "tools/almanacd/run_isolation.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace almanac;
using namespace almanac::tools;

namespace {

namespace fs = std::filesystem;

exec_options shim_options() {
  exec_options opts;
  opts.kill_grace = std::chrono::milliseconds{500};
  opts.poll_interval = std::chrono::milliseconds{10};
  opts.shim = ALMANAC_TEST_EXEC_SHIM;
  return opts;
}

run_outcome run(exec_target t, const exec_options& opts, std::uint64_t run_id = 1) {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  run_context ctx{run_key{job_id{0x51}, {}, run_id}, target{std::move(t)}, cancel};
  return run_exec(ctx, opts);
}

exec_target sh(std::string script) { return exec_target{{"sh", "-c", std::move(script)}, {}, {}}; }

std::string random_instance() {
  std::random_device rd;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%08x%08x", rd(), rd());
  return hex;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/tmp/almanac-isolation-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(path); }
};

bool alive(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(in, stat);
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// Polls for up to 10 s: the pid file of a child is written asynchronously.
pid_t read_pid(const fs::path& file) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in{file};
    pid_t pid = 0;
    if (in >> pid && pid > 0)
      return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return 0;
}

// A run that starts a `setsid` child and exits 0 at once.
exec_target leaves_setsid_child(const fs::path& pid_file) {
  return sh("setsid sh -c 'echo $$ >" + pid_file.string()
            + "; exec sleep 1000' & while [ ! -s " + pid_file.string()
            + " ]; do sleep 0.01; done; echo started");
}

// Sets the soft RLIMIT_NOFILE to `limit` and fills every free fd below it; undone on scope exit.
struct fd_table_full {
  rlimit saved{};
  std::vector<int> fds;
  explicit fd_table_full(rlim_t limit) {
    ::getrlimit(RLIMIT_NOFILE, &saved);
    rlimit low = saved;
    low.rlim_cur = limit;
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        break;
      fds.push_back(fd);
    }
  }
  ~fd_table_full() {
    for (int fd : fds)
      ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved);
  }
};

} // namespace

TEST_CASE("resource errnos are the daemon's and the others the job's", "[tools]") {
  for (int err : {EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN})
    CHECK(is_daemon_resource_errno(err));
  for (int err : {ENOENT, EACCES, ENOEXEC, E2BIG, ENOTDIR, EADDRNOTAVAIL})
    CHECK_FALSE(is_daemon_resource_errno(err));
  CHECK(is_daemon_resource_errno(EADDRNOTAVAIL, true));
  CHECK_FALSE(is_daemon_resource_errno(ECONNREFUSED, true));
}

TEST_CASE("an exec run when the daemon is out of file descriptors is an infra outcome", "[tools]") {
  SECTION("spawned directly") {
    exec_options opts;
    run_outcome out;
    {
      fd_table_full full{64};
      REQUIRE_FALSE(full.fds.empty());
      out = run(exec_target{{"true"}, {}, {}}, opts);
    }
    CHECK_FALSE(out.ok);
    CHECK(out.infra);
    CHECK(out.error == "daemon resource: cannot create a pipe: Too many open files");
  }
  SECTION("through the shim") {
    auto opts = shim_options();
    run_outcome out;
    {
      fd_table_full full{64};
      out = run(exec_target{{"true"}, {}, {}}, opts);
    }
    CHECK_FALSE(out.ok);
    CHECK(out.infra);
    CHECK(out.error == "daemon resource: cannot create a pipe: Too many open files");
  }
  SECTION("and the same run succeeds once descriptors are free again") {
    auto out = run(exec_target{{"true"}, {}, {}}, shim_options());
    CHECK(out.ok);
    CHECK_FALSE(out.infra);
  }
}

TEST_CASE("a program that does not exist is the job's failure, not the daemon's", "[tools]") {
  SECTION("spawned directly") {
    auto out = run(exec_target{{"/nonexistent/almanac-no-such-program"}, {}, {}}, exec_options{});
    CHECK_FALSE(out.ok);
    CHECK_FALSE(out.infra);
    CHECK(out.error
          == "cannot start '/nonexistent/almanac-no-such-program': No such file or directory");
  }
  SECTION("through the shim, whose execvp reports the errno") {
    auto out = run(exec_target{{"almanac-no-such-program-on-path"}, {}, {}}, shim_options());
    CHECK_FALSE(out.ok);
    CHECK_FALSE(out.infra);
    CHECK(out.error == "cannot start 'almanac-no-such-program-on-path': No such file or directory");
  }
  SECTION("through the shim, a file that is not executable") {
    temp_dir tmp;
    auto file = tmp.path / "not-executable";
    std::ofstream{file} << "#!/bin/sh\n";
    auto out = run(exec_target{{file.string()}, {}, {}}, shim_options());
    CHECK_FALSE(out.ok);
    CHECK_FALSE(out.infra);
    CHECK(out.error == "cannot start '" + file.string() + "': Permission denied");
  }
  SECTION("through the shim, a working directory that does not exist") {
    auto out = run(exec_target{{"true"}, {}, "/nonexistent/almanac-dir"}, shim_options());
    CHECK_FALSE(out.ok);
    CHECK_FALSE(out.infra);
    CHECK(out.error.find("in '/nonexistent/almanac-dir': No such file") != std::string::npos);
  }
}

TEST_CASE("the shim gives the program the soft file limit the daemon started with", "[tools]") {
  auto opts = shim_options();
  opts.child_nofile = 123;
  auto out = run(sh("ulimit -n"), opts);
  CHECK(out.ok);
  CHECK(out.output_tail == "123\n");
}

TEST_CASE("the shim exits at once when the daemon it names is not its parent", "[tools]") {
  // The parent here is this test process; naming pid 1 says the daemon is already gone.
  auto out = run(exec_target{{ALMANAC_TEST_EXEC_SHIM, "1", "-", "-", "--", "true"}, {}, {}},
                 exec_options{});
  CHECK_FALSE(out.ok);
  CHECK(out.error == "exit status 125");
}

TEST_CASE("a setsid child a run leaves behind is killed when the run ends", "[tools]") {
  temp_dir tmp;
  auto pid_file = tmp.path / "child";
  SECTION("in process-group mode, found by the instance marker") {
    auto opts = shim_options();
    opts.instance = random_instance();
    auto out = run(leaves_setsid_child(pid_file), opts);
    CHECK(out.ok);
    auto child = read_pid(pid_file);
    REQUIRE(child > 0);
    CHECK_FALSE(alive(child));
    CHECK(marked_processes(opts.instance).empty());
  }
  SECTION("in cgroup mode, which also removes the run's cgroup") {
    auto opts = shim_options();
    opts.instance = random_instance();
    std::string why;
    opts.cgroup_parent = prepare_cgroup_parent(opts.instance, why);
    if (opts.cgroup_parent.empty()) {
      // Only root (or a delegated cgroup) can do this; as root with cgroup2 mounted it must work.
      CHECK(::geteuid() != 0);
      WARN("no cgroup mode here: " << why);
      return;
    }
    auto out = run(leaves_setsid_child(pid_file), opts, 7);
    auto child = read_pid(pid_file);
    CHECK(out.ok);
    REQUIRE(child > 0);
    CHECK_FALSE(alive(child));
    CHECK_FALSE(fs::exists(opts.cgroup_parent / "run-0000000000000051-7"));
    CHECK(::rmdir(opts.cgroup_parent.c_str()) == 0);
  }
}

TEST_CASE("the start-up sweep kills marked processes and leftover run cgroups", "[tools]") {
  auto instance = random_instance();
  std::string why;
  auto parent = prepare_cgroup_parent(instance, why);
  temp_dir tmp;
  // A leftover "run": a process with the marker, started outside any runner, that ignores TERM.
  auto script = "trap '' TERM; echo $$ >" + (tmp.path / "pid").string()
                + "; while :; do sleep 0.05; done";
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setsid();
    std::string marker = "ALMANAC_INSTANCE=" + instance;
    char* envp[] = {marker.data(), nullptr};
    ::execle("/bin/sh", "sh", "-c", script.c_str(), nullptr, envp);
    ::_exit(127);
  }
  REQUIRE(read_pid(tmp.path / "pid") == pid);
  if (!parent.empty()) {
    ::mkdir((parent / "run-00000000000000aa-1").c_str(), 0755);
  }
  auto rep = sweep_leftover_runs(parent, instance, std::chrono::milliseconds{300});
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  // The shell and, at times, its sleep.
  CHECK(rep.processes >= 1);
  CHECK(rep.survivors == 0);
  if (!parent.empty()) {
    CHECK(rep.cgroups == 1);
    CHECK_FALSE(fs::exists(parent / "run-00000000000000aa-1"));
    CHECK(::rmdir(parent.c_str()) == 0);
  }
}

TEST_CASE("a data directory keeps its instance id", "[tools]") {
  temp_dir tmp;
  std::string why;
  auto first = data_dir_instance(tmp.path, why);
  CHECK(why.empty());
  CHECK(first.size() == 16);
  CHECK(data_dir_instance(tmp.path, why) == first);
  std::ofstream{tmp.path / "instance-id"} << "not hex\n";
  CHECK(data_dir_instance(tmp.path, why).empty());
  CHECK(why.find("16 hex digits") != std::string::npos);
}

TEST_CASE("an http run when the daemon is out of file descriptors is an infra outcome", "[tools]") {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  http_target t;
  t.method = "GET";
  t.url = "http://127.0.0.1:1/x";
  run_context ctx{run_key{}, target{t}, cancel};
  run_outcome out;
  {
    fd_table_full full{64};
    out = run_http(ctx);
  }
  CHECK_FALSE(out.ok);
  CHECK(out.infra);
  CHECK(out.error == "daemon resource: cannot open a connection: Too many open files");
  // With descriptors free again the same target is the target's failure (nothing listens).
  auto refused = run_http(ctx);
  CHECK_FALSE(refused.infra);
  CHECK(refused.error.find("request failed") == 0);
}

TEST_CASE("a target cannot replace the instance marker of its run", "[tools]") {
  auto opts = shim_options();
  opts.instance = random_instance();
  exec_target t = sh("printf '%s' \"$ALMANAC_INSTANCE\"; env | grep -c '^ALMANAC_INSTANCE='");
  t.env["ALMANAC_INSTANCE"] = "forged";
  auto out = run(t, opts);
  CHECK(out.ok);
  CHECK(out.output_tail == opts.instance + "1\n");
}
