// The one seam between the runtime's actors and the storage of jobs: what the job actors and the
// supervisor really ask of a log. Job actors append their events (with the sequence they expect)
// and save snapshots; an actor spawned for a passivated job, and the log reader, load a job's
// state (snapshot + tail). An id ever used is never used again because its stream exists: a
// create's append expecting sequence 0 is refused with conflict. Implemented over either backend
// of the store's journal (journal_job_log: RocksDB or PostgreSQL) and in memory (memory_job_log,
// for tests). Every call is thread-safe.
#pragma once

#include "events/event.hpp"
#include "store/status.hpp"

#include <almanac/job_state.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace almanac {

namespace store {
class journal;
} // namespace store

class job_log {
public:
  // Called exactly once per append, with the outcome and the first event's global position.
  // May be called on the calling thread (before append returns) or on another thread.
  using append_callback = std::function<void(store::status, std::uint64_t first_position)>;

  virtual ~job_log() = default;

  // Appends `events` (envelopes filled by decide: sequences expected_seq + 1, ...) to `job`'s
  // stream if its highest sequence is `expected_seq`, durably, without blocking the caller.
  // Errors (through `done`): conflict (stale expected_seq, nothing written; a stream whose events
  // were purged keeps its highest sequence, so a create under a used id is refused too),
  // io_error, no_space, unavailable (closed).
  virtual void append(job_id job, std::uint64_t expected_seq, std::vector<event> events,
                      append_callback done) = 0;

  // The job's state: its latest snapshot plus the events after it. A job never written gives an
  // empty state (seq 0) and ok. Errors: corruption, unknown_event, io_error. Blocks: never call
  // it on the supervisor's thread.
  virtual store::status load(job_id job, job_state& out) const = 0;

  // Saves `state` as the job's snapshot (load then starts from it).
  virtual store::status save_snapshot(job_id job, const job_state& state) = 0;
};

// The job log over a journal (store/journal.hpp), which must outlive it.
class journal_job_log final : public job_log {
public:
  explicit journal_job_log(store::journal& log) : log_(log) {}

  void append(job_id job, std::uint64_t expected_seq, std::vector<event> events,
              append_callback done) override;
  store::status load(job_id job, job_state& out) const override;
  store::status save_snapshot(job_id job, const job_state& state) override;

private:
  store::journal& log_;
};

} // namespace almanac
