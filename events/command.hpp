// What can be asked of a job. Commands are imperative plain structs; `decide` (decide.hpp) turns
// a command into events or a refusal. A command carries who is acting and an optional note; both
// end up in the envelope of every event it produces, and so in the audit trail.
#pragma once

#include <almanac/job.hpp>
#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace almanac {

// Creates the job. `id` is allocated by the caller (the supervisor).
struct create_job {
  job_id id;
  std::string name;
  schedule sched;
  target what;
  job_policies policies;
};

struct pause_job {};

// Plain resume only resumes paused jobs; force also revives failed ones.
struct resume_job {
  bool force = false;
};

// Runs the job now, outside its schedule. Only for active jobs.
struct run_now {};

struct delete_job {};

// The supervisor's timer fired for the fire scheduled at `scheduled_for`.
struct due {
  instant scheduled_for{};
};

// A run's target returned (or timed out). `took` is its wall time.
struct run_finished {
  std::uint64_t run_id = 0;
  bool ok = false;
  std::string error;
  duration took{};
  std::string output_tail;
  // The daemon's own resources failed, not the target (see run_outcome::infra): the run is
  // retried and the job's consecutive errors stay as they are.
  bool infra = false;
};

// The run `run_id` was still running when the supervisor checked it against the job's timeout at
// `at`: it is recorded failed now, with the reason "timeout", and counts as the job's error like
// any failed run. The executor is asked to stop it; its late outcome is refused (no longer in
// flight).
struct time_out_run {
  std::uint64_t run_id = 0;
  instant at{};
};

// Recovery: every run still in flight in the log was cut off by a crash or a stop.
struct abandon_in_flight {
  std::string reason = "scheduler restarted";
};

using command_body = std::variant<create_job, update_job, pause_job, resume_job, run_now,
                                  delete_job, due, run_finished, time_out_run,
                                  abandon_in_flight>;

struct command {
  command_body body;
  // "system", "timer", "user:NAME", "node:ID".
  std::string actor = "system";
  std::string note;
};

// The command's name in logs and audit entries ("resume:force" for a forced resume).
std::string command_name(const command_body& body);

// The longest actor and note a command may carry: both go into every event it produces.
inline constexpr std::size_t max_actor_bytes = 200;
inline constexpr std::size_t max_note_bytes = 4096;

// Refuses (invalid_input) an actor or note that is too long, not valid UTF-8, or holds control
// characters (a note may hold newlines and tabs): they reach operators' terminals through the
// audit trail.
result<void> validate_envelope(const command& cmd);

} // namespace almanac
