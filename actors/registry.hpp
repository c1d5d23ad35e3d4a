// The supervisor's registry: one entry per live job (a summary, also for a passivated job that
// has no actor), names unique case-insensitively, and the job cap. Plain data, no actors: the
// supervisor asks it, and it never touches the log.
//
// Names: each lowercased name maps to the one live job that resolves by it. A name being created
// or renamed to is reserved until the change is durable or refused, so two changes in flight can
// never both take it. A log written before renames were reserved may hold several live jobs of
// one name ("twins"): the one created first keeps the name, the others answer by id only until
// one of them is renamed or deleted.
#pragma once

#include "actors/job_summary.hpp"

#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace almanac {

struct registry_entry {
  job_summary job;
  // When the runtime last routed to or heard from the job (passivation, injected clock).
  instant active{};
};

class registry {
public:
  // `max_jobs`: the most live jobs, pending creates included (see runtime_settings::max_jobs).
  explicit registry(std::uint64_t max_jobs = UINT64_MAX) : max_jobs_(max_jobs) {}

  // -- creates and renames ------------------------------------------------------------------

  // Reserves `name` for a create and counts it against the cap until end_create.
  // Errors: limit_exceeded at the cap (live jobs plus pending creates); name_taken when a live
  // job holds the name or a create or rename in flight reserved it.
  result<void> begin_create(std::string_view name);
  void end_create(std::string_view name);

  // Reserves `name` for a rename of `job` until end_rename. The job's own name may be reserved
  // (a change of case). Errors: name_taken when another job holds it or it is reserved.
  result<void> begin_rename(job_id job, std::string_view name);
  void end_rename(std::string_view name);

  // -- entries --------------------------------------------------------------------------------

  // Registers a job (recovered, respawned or just created). Returns a warning for the operator
  // when another live job already carries the name (twins; the one created first keeps it).
  std::optional<std::string> add(job_summary job, instant now);

  // Applies a job's latest summary: a rename moves its name, a deletion removes the entry.
  // Returns lines for the operator (a twin taking over a name). Unknown jobs are ignored.
  std::vector<std::string> update(const job_summary& job, instant now);

  registry_entry* find(job_id id);
  const registry_entry* find(job_id id) const;
  bool contains(job_id id) const { return entries_.count(id) > 0; }
  std::size_t size() const noexcept { return entries_.size(); }
  std::uint64_t creates_pending() const noexcept { return creates_pending_; }
  const std::unordered_map<job_id, registry_entry>& entries() const noexcept { return entries_; }

  // Records that the runtime routed to or heard from the job at `now`.
  void touch(job_id id, instant now);

  // -- lookups --------------------------------------------------------------------------------

  // A live job by id (16 hex digits) or name (case-insensitive).
  // Errors: invalid_input for an empty text, not_found otherwise.
  result<job_id> resolve(std::string_view text) const;

  // Like resolve, but the id of a deleted job resolves too (its history outlives it).
  result<job_id> resolve_history(std::string_view text) const;

  // The job that `name` resolves to, if any.
  std::optional<job_id> holder(std::string_view name) const;

private:
  std::optional<std::string> claim_name(const std::string& name, job_id id, instant created_at);
  std::optional<std::string> release_name(const std::string& name, job_id id);

  std::uint64_t max_jobs_;
  std::unordered_map<job_id, registry_entry> entries_;
  std::unordered_map<std::string, job_id> names_;
  std::unordered_set<std::string> names_pending_;
  std::uint64_t creates_pending_ = 0;
  std::unordered_map<std::string, std::vector<job_id>> twins_;
};

// `s` in lower case (ASCII): the key of a name.
std::string lower(std::string_view s);

} // namespace almanac
