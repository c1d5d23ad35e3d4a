// The parts of a job that the operator defines: its id, what a run does (the target) and the
// policies that govern runs. Plain structs; events and commands carry them by value.
#pragma once

#include <almanac/result.hpp>
#include <almanac/schedule.hpp>

#include <almanac/time.hpp>

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace almanac {

// A job's identity: 64 bits, allocated by the supervisor, printed as 16 hex digits. Fixed width so
// the store's key prefix (job id + big-endian sequence) stays fixed width.
struct job_id {
  std::uint64_t value = 0;
  friend auto operator<=>(const job_id&, const job_id&) = default;
};

// "00000000000002a1".
std::string to_string(job_id id);
// Accepts exactly 16 hex digits (case-insensitive). Errors: invalid_input.
result<job_id> parse_job_id(std::string_view text);

// A C++ callable or actor that the embedding application registered under `name`.
struct handler_target {
  std::string name;
  std::string payload;
  friend bool operator==(const handler_target&, const handler_target&) = default;
};

// Where a secret value of a target (an environment variable, an HTTP header) comes from. The job
// holds only this reference; the value is read when a run is spawned and never stored, shown or
// logged (docs/SECURITY.md, "Secrets in jobs").
enum class secret_source : std::uint8_t {
  env = 0,  // the daemon's environment variable `name` (never one of the daemon's ALMANAC_*)
  file = 1, // the file `name` in the daemon's secrets directory (DATA/secrets, 0700; files 0600)
};

struct secret_ref {
  secret_source source = secret_source::env;
  std::string name;
  friend bool operator==(const secret_ref&, const secret_ref&) = default;
};

// "from_env:NAME" or "from_file:NAME": how the API, the CLI and every error name a reference.
std::string to_string(const secret_ref& r);

// A secret reference's name: 1..255 bytes; for env a variable name ([A-Za-z_][A-Za-z0-9_]*) outside
// the daemon's ALMANAC_ namespace; for file no '/', not "." or "..", no control character.
inline constexpr std::size_t max_secret_name_length = 255;

// A program run by the daemon: argv (never through a shell), environment, working directory.
// `secret_env` adds variables whose values are read at spawn from a secret reference; a name is
// in `env` or in `secret_env`, never both.
struct exec_target {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd;
  std::map<std::string, secret_ref> secret_env = {};
  friend bool operator==(const exec_target&, const exec_target&) = default;
};

// An HTTP request made by the daemon; a 2xx answer is success. `secret_headers` as secret_env.
struct http_target {
  std::string method = "POST";
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body;
  std::map<std::string, secret_ref> secret_headers = {};
  friend bool operator==(const http_target&, const http_target&) = default;
};

using target = std::variant<handler_target, exec_target, http_target>;

// What happens to fires missed while the scheduler was down (or far too late).
enum class misfire_policy : std::uint8_t {
  fire_once = 0, // one run soon, then on schedule (default)
  skip = 1,      // RunSkipped{misfire}, then the next future fire
  catch_up = 2,  // each missed fire, up to catch_up_limit, then on schedule
};

// What happens when a fire comes due while a run is still in flight.
enum class overlap_policy : std::uint8_t {
  skip = 0,       // RunSkipped{overlap} (default)
  buffer_one = 1, // remember one fire; it runs as soon as the current run ends
  allow = 2,      // run concurrently
};

struct job_policies {
  misfire_policy misfire = misfire_policy::fire_once;
  // For catch_up: at most this many missed fires are run. Default: 10.
  std::uint32_t catch_up_limit = 10;
  overlap_policy overlap = overlap_policy::skip;
  // Consecutive failed runs that make the job failed. Default (nullopt): 10, or 3 for `at` jobs.
  std::optional<std::uint32_t> max_consecutive_errors;
  // Delay before retrying after the k-th consecutive failure; the last step repeats.
  // Empty: the default ladder 30s, 60s, 5m, 15m, 60m.
  std::vector<duration> backoff;
  // A run past this is cancelled where the target allows and recorded failed("timeout").
  // Zero: no timeout.
  duration timeout{};
  // Each fire is delayed by a deterministic amount in [0, jitter), derived from the job id and
  // the scheduled instant, and bounded by the gap to the next fire. Zero: none.
  duration jitter{};
  // A fire later than this long after its scheduled instant is a misfire. Default: 60 s.
  duration misfire_grace = std::chrono::seconds{60};
  // No fire after this instant: the job completes instead.
  std::optional<instant> end_at;
  // The job completes after this many successful or failed scheduled runs.
  std::optional<std::uint64_t> max_runs;
  // Jobs sharing a non-empty group never run at the same time.
  std::string group;
  // After its first successful run the job completes and is deleted.
  bool delete_after_run = false;
  friend bool operator==(const job_policies&, const job_policies&) = default;
};

// Why a run started.
enum class run_trigger : std::uint8_t { timer = 0, manual = 1, catch_up = 2, retry = 3 };

// "timer", "manual", "catch_up", "retry": the names in JSON, the audit trail and run history.
std::string_view to_string(run_trigger t);

// What an update changes: each field that is set replaces the job's; the rest stays.
struct update_job {
  std::optional<std::string> name;
  std::optional<schedule> sched;
  std::optional<target> what;
  std::optional<job_policies> policies;
};

// Limits checked when a job is created or updated.
inline constexpr std::size_t max_name_length = 200;
inline constexpr std::size_t max_payload_bytes = 32 * 1024;

// The size a target occupies in the log, compared with max_payload_bytes.
std::size_t payload_size(const target& t);

// Checks name length (1..200), payload size (<= 32 KiB), target fields (argv non-empty, URL
// present), policies (backoff steps > 0, timeout >= 0). Errors: invalid_input naming the field.
result<void> validate_name(const std::string& name);
result<void> validate_target(const target& t);
result<void> validate_policies(const job_policies& p);

} // namespace almanac

template <>
struct std::hash<almanac::job_id> {
  std::size_t operator()(almanac::job_id id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value);
  }
};
