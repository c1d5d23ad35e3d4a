// The daemon's runners for exec and http targets (actors/executor.hpp calls them on a worker
// thread). exec targets start a program directly with posix_spawnp (or through the shim, which
// execvp's it): the argv list is passed as is, never through a shell, so `;`, `$(...)` and
// globs are plain bytes of an argument.
//
// Environment: the child gets the variables of the daemon's environment that `env_allow` names
// (never an ALMANAC_ one: the daemon's credentials live there), then the target's `env` entries
// and its `secret_env` values (an entry replaces a variable of the same name), plus the run key,
// which no other entry can replace:
// ALMANAC_JOB_ID (16 hex digits), ALMANAC_SCHEDULED_FOR (the fire, UTC, as the API writes
// instants: "2026-03-08T07:30:00.250Z") and ALMANAC_RUN_ID (the attempt, decimal), and with
// `instance` ALMANAC_INSTANCE (the data directory's id, which finds the run's processes). The
// working directory is the target's `cwd`, or the daemon's when empty. stdin is /dev/null;
// stdout and stderr share one pipe, and the last max_output_tail (4 KiB) bytes are kept in the
// run record.
//
// A run is all of its processes: each run is its own process group, and with `cgroup_parent` its
// own cgroup v2 too (run_isolation.hpp). Cancellation signals all of them; when the program
// exits, whatever it left behind (background jobs, `setsid` children) is killed before the run
// counts as finished. With `shim` the program is started through almanac-exec, which dies with
// the daemon (PR_SET_PDEATHSIG) and tells a missing program from a daemon out of resources.
#pragma once

#include <almanac/run.hpp>

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace almanac::tools {

// The daemon's variables a run inherits by default: what programs need to find programs, their
// user's home and the locale and time zone (PATH, HOME, USER, LOGNAME, SHELL, LANG, LC_*, TZ,
// TMPDIR). Anything else (cloud credentials, agent sockets, the service manager's variables)
// stays with the daemon unless the operator names it.
std::vector<std::string> default_exec_env_allow();

// "PATH,HOME,LC_*" or "*": entries are variable names or a name prefix ending in '*'; "*" alone
// inherits everything (still without ALMANAC_*). Errors: invalid_input naming the entry (empty,
// not a name, or ALMANAC_*, which is never passed on).
result<std::vector<std::string>> parse_exec_env_allow(std::string_view text);

struct exec_options {
  // Between SIGTERM and SIGKILL when a run is cancelled (timeout or shutdown). Default: 5 s.
  duration kill_grace = std::chrono::seconds{5};
  // How often the runner looks at its context's cancellation flag. Default: 50 ms.
  duration poll_interval = std::chrono::milliseconds{50};
  // The almanac-exec shim (tools/almanac_exec.cpp). Empty: the program is spawned directly and
  // does not die with the daemon (embedders, tests). Default: empty.
  std::filesystem::path shim;
  // Where each run gets its cgroup (prepare_cgroup_parent). Empty: process groups only, and what
  // leaves the group (`setsid`) is found by its environment marker. Default: empty.
  std::filesystem::path cgroup_parent;
  // The marker every run carries as ALMANAC_INSTANCE (data_dir_instance). Empty: no marker, and
  // a `setsid` child outside a cgroup is out of reach. Default: empty.
  std::string instance;
  // The soft RLIMIT_NOFILE the program gets (the daemon raises its own); needs `shim`.
  // 0: the daemon's. Default: 0.
  std::uint64_t child_nofile = 0;
  // The daemon's variables a run inherits (parse_exec_env_allow's entries). Default:
  // default_exec_env_allow().
  std::vector<std::string> env_allow = default_exec_env_allow();
  // Where from_file secret references are read (the daemon's DATA/secrets). Empty: such a
  // reference fails the run. Default: empty.
  std::filesystem::path secrets_dir;
};

// What run_exec calls its daemon resource errors: "daemon resource: " + what failed.
inline constexpr std::string_view daemon_resource_prefix = "daemon resource: ";

// Runs one exec target to completion. Success: exit status 0. Failure errors: "exit status N",
// "killed by signal N (SIGNAME)", "cannot start 'prog': reason", "cancelled: ..." when the
// context was cancelled (the run's processes got SIGTERM, then SIGKILL after kill_grace).
// When the daemon's own resources fail (pipe, spawn, cgroup, or the program's execvp with
// EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN) the outcome has infra = true and the error
// "daemon resource: cannot create a pipe: Too many open files"; ENOENT, EACCES and ENOEXEC
// stay the job's failure.
// A secret reference that cannot be resolved fails the run, naming the reference ("secret
// from_file:db: ..."; infra only when reading it ran into the daemon's resource limits); resolved
// values are masked ("***") in the output tail and the error.
// Thread-safe: every call is independent. A non-exec target is a failed run.
run_outcome run_exec(const run_context& ctx, const exec_options& opts = {});

// run_exec bound to `opts`, for executor::set_exec_runner.
runner make_exec_runner(exec_options opts = {});

struct http_options {
  // Default: 10 s to connect, 60 s to read the answer, 60 s to send the request.
  duration connect_timeout = std::chrono::seconds{10};
  duration read_timeout = std::chrono::seconds{60};
  duration write_timeout = std::chrono::seconds{60};
  // Bytes of the answer's body read at most, after decompression; only the last
  // max_output_tail are kept. Past it the runner stops reading: the run's outcome follows the
  // status, and the tail says the answer was cut. Default: 16 MiB.
  std::size_t max_response_bytes = std::size_t{16} << 20;
  // As exec_options::secrets_dir, for from_file header references. Default: empty.
  std::filesystem::path secrets_dir;
};

// Makes one HTTP request (http:// or https:// URL, method, headers, body). Success: a 2xx
// answer. The answer is streamed and never held whole (see max_response_bytes). Failure errors: "HTTP 500", "request failed: Connection" (httplib's error name),
// "invalid URL ...", "cancelled", "secret from_env:NAME: ..." (as run_exec; a resolved value
// holding CR, LF or NUL is refused, as no header may). The answer's body tail, with secret values
// masked, is the run's output tail. Cancellation
// aborts the request in flight. Thread-safe.
run_outcome run_http(const run_context& ctx, const http_options& opts = {});

// run_http bound to `opts`, for executor::set_http_runner.
runner make_http_runner(http_options opts = {});

} // namespace almanac::tools
