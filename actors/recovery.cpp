#include "actors/recovery.hpp"

#include <chrono>

namespace almanac {

namespace {

// One seek per job: slower than the single scan, but it can step over a job whose stream does
// not decode and go on with the others (quarantine).
result<recovered_jobs> recover_one_by_one(const runtime_context& ctx) {
  recovered_jobs out;
  std::vector<job_id> ids;
  auto st = ctx.log->for_each_stream([&](const store::stream_info& info) {
    if (!info.deleted_at && !info.purged)
      ids.push_back(info.job);
    return true;
  });
  if (!st.ok())
    return store::to_error(st);
  out.jobs.reserve(ids.size());
  for (auto id : ids) {
    job_state s;
    std::string warning;
    auto loaded = ctx.log->load_job(id, s, &warning);
    if (!warning.empty()) {
      ++out.snapshot_warnings;
      ctx.say(log_level::warning, warning + "; replayed the stream from the start instead");
    }
    if (!loaded.ok()) {
      auto err = store::to_error(loaded);
      if (!ctx.settings.quarantine_undecodable)
        return fail(err.code, err.message + " (start with quarantine to leave this job out; "
                                            "run almanac-replay verify for a full report)");
      out.quarantined.push_back("job " + to_string(id) + ": " + err.message);
      ctx.say(log_level::error, "quarantined job " + to_string(id) + ": " + err.message);
      continue;
    }
    if (!s.live())
      continue;
    out.events_total += s.seq;
    out.jobs.push_back(std::move(s));
  }
  return out;
}

} // namespace

result<recovered_jobs> recover_jobs(const runtime_context& ctx) {
  auto start = std::chrono::steady_clock::now();
  recovered_jobs out;
  // The fast path: every stream and snapshot in one scan.
  auto st = ctx.log->load_jobs([&](job_state&& s, const std::string& warning) {
    if (!warning.empty()) {
      ++out.snapshot_warnings;
      ctx.say(log_level::warning, warning + "; replayed the stream from the start instead");
    }
    if (s.live()) {
      out.events_total += s.seq;
      out.jobs.push_back(std::move(s));
    }
    return true;
  });
  if (!st.ok()) {
    auto err = store::to_error(st);
    if (!ctx.settings.quarantine_undecodable)
      return fail(err.code, err.message + " (start with quarantine to leave this job out; run "
                                          "almanac-replay verify for a full report)");
    auto slow = recover_one_by_one(ctx);
    if (!slow)
      return slow;
    out = std::move(*slow);
  }
  out.took = std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - start);
  return out;
}

} // namespace almanac
