// The history projections: the audit trail (who did what to which job, when, why, status before
// and after) and run history (one record per run). Both are folds of the global order of the log,
// written with a checkpoint so they resume after a crash and can be rebuilt from scratch; the
// replay tool folds the same way without writing, to cross-check the daemon's copy. No CAF here.
#pragma once

#include "events/event.hpp"
#include "store/journal.hpp"

#include <almanac/history.hpp>
#include <almanac/job_state.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace almanac {

void to_json(nlohmann::json& j, const audit_entry& e);
void from_json(const nlohmann::json& j, audit_entry& e);
void to_json(nlohmann::json& j, const run_record& r);
void from_json(const nlohmann::json& j, run_record& r);

// Projection names and the checkpoint in the store.
inline constexpr std::string_view audit_projection = "audit";
inline constexpr std::string_view audit_by_job_projection = "audit_by_job";
inline constexpr std::string_view runs_projection = "runs";
inline constexpr std::string_view jobs_projection = "history_jobs";
inline constexpr std::string_view history_checkpoint = "history";

// What one event adds to the history.
struct history_change {
  std::optional<audit_entry> audit;
  std::optional<run_record> run;
};

// Folds events in global order into audit entries and run records. Keeps the name and status of
// each job it has seen and the runs in flight; with a log to read from, it loads what it has not
// seen from the stored projections (after a restart), otherwise it knows only what it folded.
class history_projector {
public:
  explicit history_projector(const store::journal* stored = nullptr) : stored_(stored) {}

  history_change apply(std::uint64_t position, const event& e);

  // Adds the projection writes of `change` (and the job summary it updated) to `batch`.
  void stage(const history_change& change, const event& e, store::projection_batch& batch) const;

private:
  struct job_summary {
    std::string name;
    std::string status;
  };
  job_summary& summary(job_id job);
  std::optional<run_record> take_run(job_id job, std::uint64_t run_id);

  const store::journal* stored_;
  std::unordered_map<job_id, job_summary> jobs_;
  std::unordered_map<job_id, std::vector<run_record>> open_runs_;
};

// Reading the stored projections: newest first, at most `limit`, positions (audit) or run ids
// (runs) below `before` (0: no bound). An unknown job gives an empty list.
store::status read_audit(const store::journal& log, std::optional<job_id> job, std::size_t limit,
                         std::uint64_t before, std::vector<audit_entry>& out);
store::status read_runs(const store::journal& log, job_id job, std::size_t limit,
                        std::vector<run_record>& out, std::uint64_t before = 0);

// Big-endian key helpers shared by the projections.
std::string be_key(std::uint64_t a);
std::string be_key(std::uint64_t a, std::uint64_t b);

} // namespace almanac
