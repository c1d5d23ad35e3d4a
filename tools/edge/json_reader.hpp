// Request bodies read from JSON at the edge: the HTTP API's POST and PATCH bodies, previews and
// the CLI's --json. The writer of the same objects is json_writer.hpp.
//
// The reader checks shape only: types, required and known fields, the values' own syntax (an
// instant, a duration, a cron expression and its zone, a secret reference), and an every
// interval's range, since a schedule read for POST /api/preview reaches no decide. What a value
// means for a job (a name's length, a target's size and its secret names, policies' ranges) is
// decide's to judge, once, where the command is decided. A shape error is an errc::invalid_input
// (or invalid_schedule / unknown_zone from the schedule module) whose message names the field
// ("schedule.every: '9x' is not a duration"). No CAF.
#pragma once

#include <almanac/job.hpp>
#include <almanac/result.hpp>

#include <nlohmann/json.hpp>

namespace almanac::tools {

using nlohmann::json;

// A POST /api/jobs body: {"name", "schedule", "target", "policies"?}. name, schedule and target
// are required. Errors: invalid_input naming the field; invalid_schedule / unknown_zone from the
// schedule module.
result<job_spec> parse_job_spec(const json& body);

// A PATCH /api/jobs/:id body: any of "name", "schedule", "target", "policies". A "policies"
// object becomes a patch of the fields it names (update_job::policy_changes), merged onto the
// job's policies when the update is decided. Errors as parse_job_spec; an empty object is
// invalid_input.
result<update_job> parse_update(const json& body);

// Parses a "policies" object on top of `base`. Errors as parse_job_spec.
result<job_policies> parse_policies(const json& j, job_policies base = {});

// Parses a "schedule" or a "target" object alone (POST /api/preview, the CLI).
result<schedule> parse_schedule(const json& j);
result<target> parse_target(const json& j);

} // namespace almanac::tools
