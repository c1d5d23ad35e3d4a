// How the daemon keeps every process of a run within reach: each run in its own cgroup v2 when
// the daemon can write one (mode cgroup), otherwise in its own process group plus a marker in its
// environment (mode process_group). Whatever a run leaves behind is killed when the run ends,
// and what a crashed daemon left behind is killed by the next daemon on the same data directory
// before it records RunAbandoned and runs anything again. See docs/RELIABILITY.md.
#pragma once

#include <almanac/time.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace almanac::tools {

// The resource errnos that are the daemon's, never the job's: EMFILE, ENFILE, ENOMEM, ENOBUFS,
// EAGAIN (plus EADDRNOTAVAIL with `sockets`, for the http runner's connects).
bool is_daemon_resource_errno(int err, bool sockets = false);

// A stable id of a data directory: 16 hex digits, created once in DIR/instance-id (0600).
// Children of the daemon carry it as ALMANAC_INSTANCE, and the cgroup parent is named after it.
// Errors throw nothing: returns empty and sets `why` when the file cannot be read or written.
std::string data_dir_instance(const std::filesystem::path& dir, std::string& why);

// The cgroup v2 directory the daemon creates its run cgroups in: <mount><own cgroup>/almanac-ID,
// created if missing, checked writable (cgroup.procs and cgroup.kill present and writable).
// Empty, with the reason in `why`, when there is no writable cgroup2.
std::filesystem::path prepare_cgroup_parent(const std::string& instance, std::string& why);

// Kills every process in a run cgroup (cgroup.kill), waits up to `wait` for it to empty and
// removes it. Returns false when it could not be emptied in time (it is then left in place).
bool kill_and_remove_cgroup(const std::filesystem::path& cg, duration wait);

// The pids listed in a cgroup's cgroup.procs (empty if it cannot be read).
std::vector<pid_t> cgroup_members(const std::filesystem::path& cg);

// Live processes whose environment carries ALMANAC_INSTANCE=instance (and, when given,
// ALMANAC_JOB_ID=job and ALMANAC_RUN_ID=run), other than this process. Zombies are left out.
std::vector<pid_t> marked_processes(const std::string& instance, const std::string& job = {},
                                    const std::string& run = {});

// Sends `sig` to `pid` through a pidfd after checking the environment marker again, so a pid
// reused in between is never hit. Returns true when the signal was sent.
bool signal_marked(pid_t pid, int sig, const std::string& instance);

// What the start-up sweep found and killed.
struct sweep_report {
  std::size_t cgroups = 0;
  std::size_t processes = 0;
  std::size_t survivors = 0;
};

// The start-up sweep: every leftover run cgroup under `cgroup_parent` (if not empty) and every
// process marked with `instance` gets SIGTERM, then SIGKILL after `grace`; the run cgroups are
// removed. Call it while holding the data directory's lock and before the scheduler starts.
sweep_report sweep_leftover_runs(const std::filesystem::path& cgroup_parent,
                                 const std::string& instance, duration grace);

} // namespace almanac::tools
