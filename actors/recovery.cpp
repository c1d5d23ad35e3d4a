#include "actors/recovery.hpp"

#include "store/wal_damage.hpp"

#include <almanac/time.hpp>

#include <chrono>

namespace almanac {

namespace {

// One seek per job: slower than the single scan, but it can step over a job whose stream does
// not decode and go on with the others (quarantine).
result<recovered_jobs> recover_one_by_one(const runtime_context& ctx) {
  recovered_jobs out;
  std::vector<job_id> ids;
  auto st = ctx.log->for_each_stream([&](const store::stream_info& info) {
    if (!info.deleted_at && !info.purged && info.job != log_stream)
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

// The log's own stream: the salvages an operator accepted stay visible in health for good.
result<std::vector<std::string>> recover_salvages(const runtime_context& ctx) {
  std::vector<std::string> out;
  auto st = ctx.log->scan_stream(log_stream, 1, store::max_seq, [&](const event& e) {
    if (auto* l = std::get_if<log_salvaged>(&e.body)) {
      store::wal_damage d{l->files, l->reason, l->bytes_dropped, l->kept_through, 0,
                          l->seen_up_to, l->backup};
      out.push_back(format_instant(e.env.recorded_at) + ": " + d.describe());
    }
    return true;
  });
  if (!st.ok())
    return store::to_error(st);
  return out;
}

result<recovered_jobs> recover_jobs(const runtime_context& ctx) {
  auto start = std::chrono::steady_clock::now();
  auto salvages = recover_salvages(ctx);
  if (!salvages)
    return std::move(salvages).err();
  for (const auto& line : *salvages)
    ctx.say(log_level::warning, "this log was salvaged at " + line);
  recovered_jobs out;
  // The fast path: every stream and snapshot in one scan.
  auto st = ctx.log->load_jobs([&](job_state&& s, const std::string& warning) {
    if (!warning.empty()) {
      ++out.snapshot_warnings;
      ctx.say(log_level::warning, warning + "; replayed the stream from the start instead");
    }
    // The log's own stream (log_salvaged) is not a job.
    if (s.live() && s.id != log_stream) {
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
  out.log_salvages = std::move(*salvages);
  out.took = std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - start);
  return out;
}

} // namespace almanac
