// The JSON form of Almanac's objects at the edge: the HTTP API, `almanac --json` and
// `almanac-replay` all speak through this one codec, so a job, an event or an audit entry looks
// the same whichever tool printed it. Instants are ISO-8601 UTC strings (or null), durations are
// strings like "90s" (<almanac/time.hpp>), statuses and policies are their stable names.
//
// Parsing is strict: an unknown field, a wrong type or a malformed value is an
// errc::invalid_input (or invalid_schedule / unknown_zone) whose message names the field
// ("schedule.every: '9x' is not a duration").
#pragma once

#include <almanac/job.hpp>

#include <almanac/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>

namespace almanac {
struct job_spec;
struct job_state;
struct update_job;
struct event;
struct audit_entry;
struct run_record;
struct health_report;
} // namespace almanac

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

// A POST /api/jobs body: {"name", "schedule", "target", "policies"?}. name, schedule and target
// are required. Errors: invalid_input naming the field; invalid_schedule / unknown_zone from the
// schedule module.
result<job_spec> parse_job_spec(const json& body);

// A PATCH /api/jobs/:id body: any of "name", "schedule", "target", "policies". A partial
// "policies" object changes only the fields it names, on top of `current` (the job's policies
// now). Errors as parse_job_spec; an empty object is invalid_input.
result<update_job> parse_update(const json& body, const job_policies& current);

// Parses a "policies" object on top of `base`. Errors as parse_job_spec.
result<job_policies> parse_policies(const json& j, job_policies base = {});

// Parses a "schedule" or a "target" object alone (POST /api/preview, the CLI).
result<schedule> parse_schedule(const json& j);
result<target> parse_target(const json& j);

// One event of the log: position, seq, job_id, type (its stable name, "JobRevived"),
// recorded_at, actor, note, cause, then the event's own fields by name (cleared_errors,
// next_run_at, run_id, error, ...). Durations are strings ("1.5s" style), instants ISO or null.
json event_to_json(std::uint64_t position, const event& e);

// An audit entry: position, at, job_id, job_name, action, from_status, to_status, actor, note,
// detail.
json audit_to_json(const audit_entry& e);

// A run record: job_id, run_id, scheduled_for, started_at, finished_at (null while running),
// trigger, outcome, error, duration_ms, output_tail.
json run_to_json(const run_record& r);

// The health report: jobs by status, erroring, runs in flight, fleet alert, quarantined jobs.
json health_to_json(const health_report& h);

// {"error": code name, "message": text}.
json error_to_json(const error& err);

// ISO-8601 UTC, or null for nullopt.
json instant_or_null(const std::optional<instant>& t);

} // namespace almanac::tools
