// The facts of a job's life. Each event is a past-tense struct; an `event` is one of them plus
// its envelope (which job, which sequence, when, who, why). A job's state is the fold of its
// events (evolve.hpp); the log stores them through the codec (codec.hpp), where each type has a
// fixed tag and name that never change when a C++ type is renamed.
#pragma once

#include <almanac/job.hpp>

#include <almanac/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace almanac {

// Why a fire did not run.
enum class skip_reason : std::uint8_t { overlap = 0, misfire = 1, paused = 2 };

struct job_created {
  std::string name;
  schedule sched;
  target what;
  job_policies policies;
  std::string created_by;
  // The first fire (never null for a new job).
  std::optional<instant> next_run_at;
};

// Only the fields that changed are set.
struct job_updated {
  std::optional<std::string> name;
  std::optional<schedule> sched;
  std::optional<target> what;
  std::optional<job_policies> policies;
  // The next fire after the change (unchanged when the schedule did not change).
  std::optional<instant> next_run_at;
};

struct job_paused {};

struct job_resumed {
  std::optional<instant> next_run_at;
};

struct job_revived {
  // How many consecutive errors the revival cleared.
  std::uint32_t cleared_errors = 0;
  std::optional<instant> next_run_at;
};

struct run_started {
  std::uint64_t run_id = 0;
  instant scheduled_for{};
  run_trigger trigger = run_trigger::timer;
  // The job's next fire once this run has started (null while an after_run_end or `at` run is
  // in flight).
  std::optional<instant> next_run_at;
};

struct run_succeeded {
  std::uint64_t run_id = 0;
  duration took{};
  std::string output_tail;
  std::optional<instant> next_run_at;
};

struct run_failed {
  std::uint64_t run_id = 0;
  std::string error;
  // The job's consecutive failures after this run (unchanged for manual runs).
  std::uint32_t consecutive_errors = 0;
  std::optional<instant> next_run_at;
  duration took{};
  std::string output_tail;
};

struct run_skipped {
  instant scheduled_for{};
  skip_reason reason = skip_reason::overlap;
  std::optional<instant> next_run_at;
};

// A fire deferred by overlap=buffer_one: it runs as soon as the run in flight ends.
struct run_queued {
  instant scheduled_for{};
  std::optional<instant> next_run_at;
};

struct run_abandoned {
  std::uint64_t run_id = 0;
  std::string reason;
  // Set when the abandoned run must be tried again (an `at` job's only run, or the retry of a
  // run the daemon could not carry out).
  std::optional<instant> next_run_at;
  // Runs in a row the daemon could not carry out for want of its own resources (file
  // descriptors, memory, processes), this one included; 0 for a run cut off by a crash or a stop.
  // Never the job's failure: it sets the retry delay and nothing else.
  std::uint32_t infra_failures = 0;
};

struct job_failed {
  std::uint32_t consecutive_errors = 0;
  std::string last_error;
};

struct job_completed {};

struct job_deleted {};

// The log's own stream (job id 0, never a job) records that an operator started the daemon on a
// damaged write-ahead log and accepted the loss (almanacd --salvage): what was dropped, and
// where the damaged files were copied before anything changed. Global positions
// kept_through + 1 .. seen_up_to are lost for good and are never reused.
struct log_salvaged {
  // The damaged write-ahead log files and what RocksDB found wrong with them.
  std::string files;
  std::string reason;
  std::uint64_t bytes_dropped = 0;
  // The last global position recovered.
  std::uint64_t kept_through = 0;
  // The highest position seen in the damaged files or acknowledged before the crash.
  std::uint64_t seen_up_to = 0;
  // The directory holding the copy of the damaged files.
  std::string backup;
};

using event_body =
  std::variant<job_created, job_updated, job_paused, job_resumed, job_revived, run_started,
               run_succeeded, run_failed, run_skipped, run_queued, run_abandoned, job_failed,
               job_completed, job_deleted, log_salvaged>;

// The stream of the log's own events (log_salvaged): never a job's id.
inline constexpr job_id log_stream{0};

// Who acted: "system", "timer", "user:NAME", "node:ID".
struct event_envelope {
  job_id job;
  // Position in the job's own stream, from 1, without gaps.
  std::uint64_t seq = 0;
  instant recorded_at{};
  std::string actor;
  std::string note;
  // The command that caused the event ("resume:force", "due", "run_finished"): the audit trail
  // tells a plain resume from a forced one by it, even when both produce JobResumed.
  std::string cause;
};

struct event {
  event_envelope env;
  event_body body;
};

// "overlap", "misfire", "paused": the names in JSON, the audit trail and run history.
std::string_view to_string(skip_reason r);

// The event's stable name on disk and in tools ("JobRevived").
std::string_view event_name(const event_body& body);

} // namespace almanac
