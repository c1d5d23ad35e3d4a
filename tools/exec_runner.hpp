// The daemon's runners for exec and http targets (actors/executor.hpp calls them on a worker
// thread). exec targets start a program directly with posix_spawnp: the argv list is passed as
// is, never through a shell, so `;`, `$(...)` and globs are plain bytes of an argument.
//
// Environment: the child gets the daemon's environment with the target's `env` entries added
// (an entry replaces a variable of the same name), minus the daemon's own secrets
// (ALMANAC_SECRET, ALMANAC_TOKEN), plus the run key, which no other entry can replace:
// ALMANAC_JOB_ID (16 hex digits), ALMANAC_SCHEDULED_FOR (the fire, UTC, as the API writes
// instants: "2026-03-08T07:30:00.250Z") and ALMANAC_RUN_ID (the attempt, decimal). The working
// directory is the target's `cwd`, or the daemon's when empty. stdin is /dev/null; stdout and stderr share one pipe, and the last max_output_tail
// (4 KiB) bytes are kept in the run record. Each run is its own process group, so cancellation
// reaches the children a script started.
#pragma once

#include "actors/executor.hpp"

#include <almanac/time.hpp>

#include <chrono>

namespace almanac::tools {

struct exec_options {
  // Between SIGTERM and SIGKILL when a run is cancelled (timeout or shutdown). Default: 5 s.
  duration kill_grace = std::chrono::seconds{5};
  // How often the runner looks at its context's cancellation flag. Default: 50 ms.
  duration poll_interval = std::chrono::milliseconds{50};
};

// Runs one exec target to completion. Success: exit status 0. Failure errors: "exit status N",
// "killed by signal N (SIGNAME)", "cannot start 'prog': reason", "cancelled: ..." when the
// context was cancelled (the process group got SIGTERM, then SIGKILL after kill_grace).
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
};

// Makes one HTTP request (http:// or https:// URL, method, headers, body). Success: a 2xx
// answer. The answer is streamed and never held whole (see max_response_bytes). Failure errors: "HTTP 500", "request failed: Connection" (httplib's error name),
// "invalid URL ...", "cancelled". The answer's body tail is the run's output tail. Cancellation
// aborts the request in flight. Thread-safe.
run_outcome run_http(const run_context& ctx, const http_options& opts = {});

// run_http bound to `opts`, for executor::set_http_runner.
runner make_http_runner(http_options opts = {});

} // namespace almanac::tools
