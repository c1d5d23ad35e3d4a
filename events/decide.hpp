// The rules of a job, in one place: `decide` answers a command with the events it causes, or a
// refusal. Pure: no I/O, no clock (`now` is a parameter), no randomness (jitter derives from the
// job id and the scheduled instant). The semantics are those of the scheduler Almanac replaces,
// with its defects fixed; see the issue "Foundation" and docs/STATE_MACHINE.md.
#pragma once

#include "events/command.hpp"
#include "events/event.hpp"

#include <almanac/job_state.hpp>
#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <vector>

namespace almanac {

// Returns the events `cmd` causes in `state` at `now`, with envelopes filled (job id, sequence
// numbers continuing state.seq, recorded_at = now, actor and note from the command), or a refusal:
//   invalid_schedule / unknown_zone / invalid_input: bad create or update input;
//   not_found: the job does not exist (or is deleted);
//   failed_needs_force: plain resume of a failed job;
//   refused_status: the command does not apply in the job's status (the message names it);
//   conflict: a create for an id that exists, a run_finished or time_out_run for a run not in
//   flight, or a time_out_run before the run reached the job's timeout.
// Never returns an empty event list on success.
result<std::vector<event>> decide(const job_state& state, const command& cmd, instant now);

// The instant the supervisor should wake this job: next_run_at plus its deterministic jitter,
// bounded by the gap to the following fire. nullopt when the job has no next run.
std::optional<instant> wake_at(const job_state& s);

// The reason a run stopped by its timeout fails with: "timeout: still running after 30s".
std::string timeout_reason(duration limit);

// The default backoff ladder: 30s, 60s, 5m, 15m, 60m (the last step repeats).
const std::vector<duration>& default_backoff();

// The retry delays after runs the daemon could not carry out for want of its own resources
// (run_finished::infra), by how many in a row: 1s, 5s, 30s, then 60s for as long as it lasts.
// A retry never waits past the job's next regular fire.
const std::vector<duration>& infra_retry_ladder();

} // namespace almanac
