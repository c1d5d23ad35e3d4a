// The JSON form of Almanac's objects on the way out: the HTTP API, `almanac --json` and
// `almanac-replay` all print through this one writer, so a job, an audit entry or a run looks the
// same whichever tool printed it. Instants are ISO-8601 UTC strings (or null), durations are
// strings like "90s" (<almanac/time.hpp>), statuses and policies are their stable names. The
// reader of request bodies is json_reader.hpp. No CAF: the replay tool prints through it too.
#pragma once

#include <almanac/history.hpp>
#include <almanac/job.hpp>
#include <almanac/job_state.hpp>
#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <nlohmann/json.hpp>

#include <optional>

namespace almanac::tools {

using nlohmann::json;

// {"kind": "at", "at": ISO} | {"kind": "every", "every": DUR, "anchor": ISO, "mode":
// "grid"|"after_run_end"} | {"kind": "cron", "cron": EXPR, "tz": ZONE}.
json schedule_to_json(const schedule& s);
// {"kind": "exec", "argv", "env", "cwd"} | {"kind": "http", "method", "url", "headers", "body"} |
// {"kind": "handler", "name", "payload"}. A value of "env" or "headers" is a string or a secret
// reference, {"from_env": NAME} or {"from_file": NAME}: a reference is written back as given, and
// its value is never in any JSON.
json target_to_json(const target& t);
// Every field of job_policies by name; unset optionals are null.
json policies_to_json(const job_policies& p);

// The job object: id, name, status, schedule, target, policies, next_run_at (ISO or null),
// consecutive_errors, max_consecutive_errors (effective), last_error, last_run (null or
// {run_id, outcome "succeeded"|"failed", error, started_at, finished_at}), created_at,
// created_by, updated_at, seq, runs_started, runs_in_flight ([{run_id, scheduled_for,
// started_at, trigger}]), queued_fire.
json job_to_json(const job_state& s);

// An audit entry: position, at, job_id, job_name, action, from_status, to_status, actor, note,
// detail.
json audit_to_json(const audit_entry& e);

// A run record: job_id, run_id, scheduled_for, started_at, finished_at (null while running),
// trigger, outcome, error, duration_ms, output_tail.
json run_to_json(const run_record& r);

// {"error": code name, "message": text}.
json error_to_json(const error& err);

// ISO-8601 UTC, or null for nullopt.
json instant_or_null(const std::optional<instant>& t);

} // namespace almanac::tools
