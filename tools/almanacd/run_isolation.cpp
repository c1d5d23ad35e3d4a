#include "tools/almanacd/run_isolation.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace almanac::tools {

namespace {

namespace fs = std::filesystem;

std::string read_small(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (std::size_t{1} << 20))
      break;
  }
  ::close(fd);
  return out;
}

bool write_small(const fs::path& p, std::string_view text) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  auto n = ::write(fd, text.data(), text.size());
  ::close(fd);
  return n == static_cast<ssize_t>(text.size());
}

// Zombies hold their pid until reaped but run nothing: they are not "alive" here.
bool alive(pid_t pid) {
  auto stat = read_small("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= stat.size())
    return false;
  char state = stat[close_paren + 2];
  return state != 'Z' && state != 'X';
}

bool has_marker(pid_t pid, const std::string& instance, const std::string& job,
                const std::string& run) {
  auto env = read_small("/proc/" + std::to_string(pid) + "/environ");
  bool inst = false, j = job.empty(), r = run.empty();
  std::size_t pos = 0;
  while (pos < env.size()) {
    auto end = env.find('\0', pos);
    if (end == std::string::npos)
      end = env.size();
    std::string_view kv{env.data() + pos, end - pos};
    if (kv == "ALMANAC_INSTANCE=" + instance)
      inst = true;
    else if (!job.empty() && kv == "ALMANAC_JOB_ID=" + job)
      j = true;
    else if (!run.empty() && kv == "ALMANAC_RUN_ID=" + run)
      r = true;
    pos = end + 1;
  }
  return inst && j && r;
}

bool populated(const fs::path& cg) {
  auto events = read_small(cg / "cgroup.events");
  return events.find("populated 0") == std::string::npos;
}

// The cgroup2 mount point, from /proc/self/mountinfo (field 5 is the mount point; the fs type
// follows the " - " separator).
fs::path cgroup2_mount() {
  std::ifstream in{"/proc/self/mountinfo"};
  std::string line;
  while (std::getline(in, line)) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos)
      continue;
    std::istringstream tail{line.substr(sep + 3)};
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2")
      continue;
    std::istringstream head{line.substr(0, sep)};
    std::string id, parent, devno, root, mount;
    head >> id >> parent >> devno >> root >> mount;
    if (root == "/")
      return mount;
  }
  return {};
}

// This process's cgroup v2 path ("0::/path" in /proc/self/cgroup).
std::string own_cgroup() {
  std::ifstream in{"/proc/self/cgroup"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0)
      return line.substr(3);
  return {};
}

void sleep_a_bit() { std::this_thread::sleep_for(std::chrono::milliseconds{20}); }

} // namespace

bool is_daemon_resource_errno(int err, bool sockets) {
  switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS:
    case EAGAIN:
      return true;
    case EADDRNOTAVAIL:
      return sockets;
    default:
      return false;
  }
}

std::string data_dir_instance(const fs::path& dir, std::string& why) {
  auto path = dir / "instance-id";
  auto text = read_small(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (text.size() == 16 && text.find_first_not_of("0123456789abcdef") == std::string::npos)
    return text;
  if (!text.empty()) {
    why = path.string() + " does not hold 16 hex digits";
    return {};
  }
  std::random_device rd;
  std::uint64_t id = (std::uint64_t{rd()} << 32) ^ rd();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(id));
  auto tmp = dir / "instance-id.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    why = "cannot create " + tmp.string() + ": " + std::strerror(errno);
    return {};
  }
  std::string line = std::string{hex} + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    why = "cannot write " + path.string() + ": " + std::strerror(errno);
    return {};
  }
  return hex;
}

fs::path prepare_cgroup_parent(const std::string& instance, std::string& why) {
  auto mount = cgroup2_mount();
  if (mount.empty()) {
    why = "no cgroup2 file system is mounted";
    return {};
  }
  auto own = own_cgroup();
  if (own.empty()) {
    why = "/proc/self/cgroup names no cgroup v2 path";
    return {};
  }
  auto base = mount / fs::path{own}.relative_path();
  auto parent = base / ("almanac-" + instance);
  if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
    why = "cannot create " + parent.string() + ": " + std::strerror(errno);
    return {};
  }
  if (::access((parent / "cgroup.procs").c_str(), W_OK) != 0
      || ::access((parent / "cgroup.kill").c_str(), W_OK) != 0) {
    why = parent.string() + " has no writable cgroup.procs and cgroup.kill (Linux 5.14 or later)";
    ::rmdir(parent.c_str());
    return {};
  }
  return parent;
}

std::vector<pid_t> cgroup_members(const fs::path& cg) {
  std::vector<pid_t> out;
  std::istringstream in{read_small(cg / "cgroup.procs")};
  long pid = 0;
  while (in >> pid)
    out.push_back(static_cast<pid_t>(pid));
  return out;
}

bool kill_and_remove_cgroup(const fs::path& cg, duration wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (!populated(cg))
      break;
    write_small(cg / "cgroup.kill", "1");
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    sleep_a_bit();
  }
  while (::rmdir(cg.c_str()) != 0 && errno == EBUSY) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    sleep_a_bit();
  }
  return true;
}

std::vector<pid_t> marked_processes(const std::string& instance, const std::string& job,
                                    const std::string& run) {
  std::vector<pid_t> out;
  if (instance.empty())
    return out;
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return out;
  auto self = ::getpid();
  while (auto* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == self)
      continue;
    if (has_marker(static_cast<pid_t>(pid), instance, job, run) && alive(static_cast<pid_t>(pid)))
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return out;
}

bool signal_marked(pid_t pid, int sig, const std::string& instance) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0)
    return false;
  // The pidfd pins this process: if the marker is still there, the signal reaches it.
  bool sent = has_marker(pid, instance, {}, {})
              && ::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) == 0;
  ::close(fd);
  return sent;
}

sweep_report sweep_leftover_runs(const fs::path& cgroup_parent, const std::string& instance,
                                 duration grace) {
  sweep_report rep;
  std::vector<fs::path> cgroups;
  if (!cgroup_parent.empty()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator{cgroup_parent, ec})
      if (entry.is_directory(ec) && entry.path().filename().string().rfind("run-", 0) == 0)
        cgroups.push_back(entry.path());
  }
  rep.cgroups = cgroups.size();
  // Everyone asked politely first: a run's program may want to clean up.
  std::set<pid_t> seen;
  for (const auto& cg : cgroups)
    for (auto pid : cgroup_members(cg)) {
      ::kill(pid, SIGTERM);
      seen.insert(pid);
    }
  for (auto pid : marked_processes(instance)) {
    if (signal_marked(pid, SIGTERM, instance))
      seen.insert(pid);
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  auto anyone_left = [&] {
    for (const auto& cg : cgroups)
      if (populated(cg))
        return true;
    return !marked_processes(instance).empty();
  };
  while (anyone_left() && std::chrono::steady_clock::now() < deadline)
    sleep_a_bit();
  for (const auto& cg : cgroups) {
    for (auto pid : cgroup_members(cg))
      seen.insert(pid);
    if (!kill_and_remove_cgroup(cg, std::chrono::seconds{10}))
      ++rep.survivors;
  }
  // Repeated until two passes in a row find nobody: a process in the middle of an execve shows
  // an empty environment for an instant.
  auto kill_deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (int quiet = 0; quiet < 2;) {
    auto left = marked_processes(instance);
    if (left.empty()) {
      ++quiet;
    } else {
      quiet = 0;
      if (std::chrono::steady_clock::now() >= kill_deadline) {
        rep.survivors += left.size();
        break;
      }
      for (auto pid : left)
        if (signal_marked(pid, SIGKILL, instance))
          seen.insert(pid);
    }
    sleep_a_bit();
  }
  rep.processes = seen.size();
  return rep;
}

} // namespace almanac::tools
