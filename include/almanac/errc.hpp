// The one error enum of Almanac. Each code names a situation, and its comment says what the
// caller should do about it. tools/ maps each code to an HTTP status and a CLI exit code; actors/
// registers it as a CAF error category ("almanac").
#pragma once

#include <cstdint>
#include <string_view>

namespace almanac {

enum class errc : std::uint8_t {
  // Not an error. Kept at zero so a CAF error of this category is never "none".
  none = 0,
  // A schedule does not parse or never fires: fix the input (HTTP 400).
  invalid_schedule,
  // An IANA zone name the system tzdata does not know: fix the input (HTTP 400).
  unknown_zone,
  // Any other malformed input (name length, payload size, bad field): fix the input (HTTP 400).
  invalid_input,
  // No job with that id or name: check the id (HTTP 404).
  not_found,
  // Another live job has that name (case-insensitive): pick another name (HTTP 409).
  name_taken,
  // The job is failed and plain resume is refused: pass force to revive it (HTTP 409).
  failed_needs_force,
  // The command does not apply to the job's status: change the job's state first (HTTP 409).
  refused_status,
  // An optimistic-concurrency check failed (stale expected sequence): re-read and retry (HTTP 409).
  conflict,
  // The event log could not be written or read (I/O error, disk full): retry later, check the
  // disk (HTTP 503).
  storage_error,
  // The log holds an event type this build does not know: upgrade, or quarantine the job.
  unknown_event,
  // Stored bytes do not decode (corruption, truncation): run `almanac-replay verify`.
  corrupt_event,
  // The data was written by a newer format version: upgrade Almanac.
  newer_format,
  // The system is shutting down or a component is unavailable: retry later (HTTP 503).
  unavailable,
  // The caller did not prove who it is (admin secret, bearer token): pass the right credential
  // (HTTP 401).
  unauthorized,
  // A configured size limit is reached (the job cap, runtime_settings::max_jobs): delete jobs or
  // raise the limit (HTTP 507). Nothing was changed.
  limit_exceeded,
};

// The code's stable name ("not_found"), used in JSON errors and logs.
constexpr std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::none: return "none";
    case errc::invalid_schedule: return "invalid_schedule";
    case errc::unknown_zone: return "unknown_zone";
    case errc::invalid_input: return "invalid_input";
    case errc::not_found: return "not_found";
    case errc::name_taken: return "name_taken";
    case errc::failed_needs_force: return "failed_needs_force";
    case errc::refused_status: return "refused_status";
    case errc::conflict: return "conflict";
    case errc::storage_error: return "storage_error";
    case errc::unknown_event: return "unknown_event";
    case errc::corrupt_event: return "corrupt_event";
    case errc::newer_format: return "newer_format";
    case errc::unavailable: return "unavailable";
    case errc::unauthorized: return "unauthorized";
    case errc::limit_exceeded: return "limit_exceeded";
  }
  return "unknown";
}

} // namespace almanac
