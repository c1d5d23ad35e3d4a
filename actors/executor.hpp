// Executors run a job's target off the actors' threads. The job actor submits a run once its
// RunStarted is durable; the executor calls the target's runner on a worker thread and reports
// the outcome through a callback (which the job actor turns into a run_finished command).
// Runners are chosen by target kind: C++ handlers registered by name (embedding), and the
// daemon's exec and http runners.
#pragma once

#include <almanac/job.hpp>
#include <almanac/options.hpp>
#include <almanac/run.hpp>
#include <almanac/time.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace almanac {

// Called once per submitted run, on a worker thread.
using run_callback = std::function<void(run_key, run_outcome, duration took)>;

class executor {
public:
  explicit executor(executor_options options = {});
  virtual ~executor();
  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  // Registers a C++ handler for handler targets named `name`, replacing any earlier one.
  // Thread-safe.
  void register_handler(std::string name, handler fn);

  // Sets the runner of exec or http targets (the daemon's). Thread-safe.
  void set_exec_runner(runner fn);
  void set_http_runner(runner fn);

  // Queues a run; `done` is called exactly once, also when no runner exists for the target (a
  // failed run naming what is missing). Runs that have not started when the executor stops are
  // never reported: they stay in flight in the log, and recovery records them RunAbandoned and
  // runs them again (at-least-once), instead of counting a failure nobody caused.
  // Virtual, as cancel, so a test can take the runs itself and report them when it says.
  virtual void submit(run_key key, target what, run_callback done);

  // Asks a run to stop (its context reports cancelled). Its outcome is still reported, failed
  // with `reason` (the first one given) when the run stopped because of it.
  virtual void cancel(job_id job, std::uint64_t run_id, std::string reason = "cancelled");

  // Runs queued or executing now.
  std::size_t pending() const;

  // Stops taking runs, drops what is queued (unreported), waits up to `grace` for runs in
  // progress, then asks the rest to stop (cancelled) and never reports their outcomes: like
  // queued runs they stay in flight in the log, are recorded RunAbandoned at the next start and
  // run again, instead of counting as failures of their jobs.
  // Returns the number of runs still executing when the grace period ended.
  std::size_t stop(duration grace);

private:
  struct task;
  void work();
  runner find_runner(const target& what);

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::shared_ptr<task>> queue_;
  std::vector<std::shared_ptr<task>> running_;
  std::unordered_map<std::string, handler> handlers_;
  runner exec_runner_;
  runner http_runner_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace almanac
