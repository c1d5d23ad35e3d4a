// The event log: Almanac's system of record. One RocksDB database per data directory holds every
// job's stream of events (key: job id + big-endian sequence), a global order of all events
// (position -> event, for projections and the replay tool), snapshots of job states, projections
// with their checkpoints, and metadata (format version, deletions, purged streams).
//
// Appends are atomic, optimistically concurrent (expected sequence) and durable when
// acknowledged. A single group-commit writer thread gathers whatever appends are queued into one
// WriteBatch and one fsync, so concurrent writers share the cost of the sync; job actors use
// append_async() and never block. See docs/BENCHMARKS.md for the figures.
//
// It is the RocksDB backend of the journal contract (store/journal.hpp, docs/STORAGE.md); what
// the contract does not cover yet (secondary opens, maintenance, salvage) is here only.
#pragma once

#include "store/journal.hpp"
#include "store/open_options.hpp"
#include "store/projection_batch.hpp"
#include "store/status.hpp"
#include "store/verify_report.hpp"
#include "store/wal_damage.hpp"

#include "events/event.hpp"

#include <almanac/job_state.hpp>
#include <almanac/time.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace almanac::store {

// Creates `dir` and each missing parent with mode 0700, leaving the mode of every directory
// that exists alone. Errors: io_error naming the directory.
status make_data_directory(const std::filesystem::path& dir);

class event_log : public journal {
public:
  // Runs on the group-commit writer thread once the append is durable (or refused); see
  // journal::append_callback.
  using journal::append_callback;

  // Opens (read_write: creates) the log in `dir`. Errors:
  //   io_error "data directory X is in use by another process" when another read-write instance
  //   holds the directory (this process included);
  //   newer_format when the directory was written by a newer format version;
  //   corruption naming the damaged write-ahead log file (or the cut: "the log ends at position
  //   P but positions up to H were acknowledged") and what to run, unless opts.salvage;
  //   io_error / corruption from RocksDB (missing directory for read_only and secondary).
  static status open(const std::filesystem::path& dir, const open_options& opts,
                     std::unique_ptr<event_log>& out);

  // Closes the log (see close()).
  ~event_log() override;

  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  // Stops accepting appends (they fail with unavailable), writes and acknowledges everything
  // already queued, stops the writer and closes RocksDB. Idempotent; the first call's status.
  status close() override;

  // -- appending -------------------------------------------------------------------------------

  // journal::append: one atomic WriteBatch, durable per open_options::sync; waits for room when
  // max_queued_events are queued. Errors as append_async.
  using journal::append;

  // Appends without blocking: encodes on the calling thread, queues, and returns. `done` runs
  // on the writer thread when the append is durable or refused; always exactly once (on the
  // calling thread, with unavailable, if the log is closed). Never waits for room: the queue may
  // grow past max_queued_events, so the caller bounds its own in-flight appends (a job actor has
  // at most one). Errors (to `done`): conflict (expected_seq is stale, nothing written);
  // invalid_argument (no events, wrong job id or sequences, read-only instance); unavailable
  // (closed); io_error, no_space. Thread-safe.
  void append_async(job_id job, std::uint64_t expected_seq, std::vector<event> events,
                    append_callback done) override;

  // -- reading ---------------------------------------------------------------------------------

  // The events of `job` with from_seq <= seq <= to_seq, at most `max_count` of them, in sequence
  // order, appended to `out`. from > to or max_count 0 gives nothing; an unknown job gives
  // nothing. Errors: corruption (an event does not decode or its envelope contradicts its key,
  // the message names job and seq), io_error. Thread-safe.
  status read_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                     std::uint64_t max_count, std::vector<event>& out) const override;
  using journal::read_stream;

  // Streaming form of read_stream: calls `fn` per event until it returns false.
  status scan_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                     const std::function<bool(const event&)>& fn) const override;

  // Every event from global position `from_position` on, in commit order, until `fn` returns
  // false. Streams through an iterator: memory stays bounded whatever the log's size. Sees a
  // consistent view as of the call (never half an append). Errors as read_stream.
  status
  read_all(std::uint64_t from_position,
           const std::function<bool(std::uint64_t position, const event&)>& fn) const override;

  // The highest sequence ever appended to `job`: 0 for an unknown job; never goes backwards,
  // also after purge and reopen.
  status highest_seq(job_id job, std::uint64_t& out) const override;

  // The highest global position ever assigned (0 for an empty log); never goes backwards.
  status highest_position(std::uint64_t& out) const override;

  // Every job the log knows, in job id order, with its highest sequence, until `fn` returns
  // false. Costs one seek per stream, not one read per event: recovery enumerates jobs with it.
  status for_each_stream(const std::function<bool(const stream_info&)>& fn) const override;

  // -- snapshots -------------------------------------------------------------------------------

  // Stores `state` as `job`'s latest snapshot at state.seq and drops older ones. Written to the
  // WAL without fsync: a snapshot lost in a crash only makes recovery replay more. Errors:
  // invalid_argument (state.id != job, state.seq == 0 or beyond the stream's highest seq).
  status save_snapshot(job_id job, const job_state& state) override;

  // The latest snapshot of `job`. A snapshot that does not decode, or whose id or seq contradict
  // its key, is not an error: `out.state` stays empty and `out.warning` says why.
  status load_latest_snapshot(job_id job, loaded_snapshot& out) const override;

  // Recovery of one job: the latest usable snapshot (or an empty state) plus every later event,
  // folded with evolve(). `warning` (optional) receives a snapshot warning. Errors as
  // read_stream. An unknown job gives an empty state with seq 0.
  using journal::load_job;

  // Recovery of every job in one pass, in job id order: for each stream, its latest usable
  // snapshot plus the later events, folded with evolve(), then `fn(state, warning)` until it
  // returns false. Two iterators walk the snapshots and the streams side by side, so the cost is
  // that of a scan, not of a seek per job. Purged streams are not visited. Errors as
  // read_stream (the first corrupt event stops the walk).
  status
  load_jobs(const std::function<bool(job_state&&, const std::string& warning)>& fn) const override;

  // -- projections -----------------------------------------------------------------------------

  // Applies every put, erase and checkpoint of `batch` atomically (one WriteBatch, synced per
  // open_options::sync). Errors: invalid_argument (a name empty or longer than 200 bytes).
  status write_projections(const projection_batch& batch) override;

  // The checkpoint of `projection`: 0 when it has none.
  status read_checkpoint(std::string_view projection, std::uint64_t& position) const override;

  // One entry. Errors: not_found.
  status get_projection(std::string_view projection, std::string_view key,
                        std::string& value) const override;

  // The entries `scan` selects, appended to `out`.
  status scan_projection(std::string_view projection, const projection_scan& scan,
                         std::vector<projection_row>& out) const override;

  // Removes every entry and the checkpoint of `projection`, so it can be rebuilt from position 1.
  status drop_projection(std::string_view projection) override;

  // -- integrity and retention -----------------------------------------------------------------

  // Verifies every table file's checksums, then walks every stream and the global index: gaps,
  // undecodable events, envelope/key mismatches, global entries that point nowhere or contradict
  // a stream's order, stream events missing from the global index. Problems go to `out`; the
  // status is an error only when the walk itself could not run. Slow: reads everything.
  status verify(verify_report& out) const override;

  // Purges the streams, snapshots and global entries of every job whose job_deleted event was
  // recorded at or before now - retention. Their highest sequence and the highest position stay.
  // `purged` (optional) receives the number of streams purged. Not for read-only instances.
  status purge_deleted(instant now, duration retention = default_retention,
                       std::uint64_t* purged = nullptr) override;

  // -- maintenance -----------------------------------------------------------------------------

  // Secondary instances: reads what the writer has written since. Errors: invalid_argument in
  // other modes.
  status catch_up();

  // Writes memtables to table files (tests and tools; RocksDB does it by itself otherwise).
  status flush();

  // Flushes, then compacts every column family down to its last level: what a long-running log
  // looks like, and what reclaims the space of purged streams at once. Slow; tools and benches.
  status compact();

  // The group-commit writer's work so far: one synced write per group (0 for read-only opens).
  struct write_stats {
    std::uint64_t group_writes = 0;
    // Time spent in the writes, fsync included.
    duration write_time{};
  };
  write_stats stats() const noexcept;
  journal_health health() const override;

  // What open found wrong with the write-ahead log and accepted (open_options::salvage): empty
  // after a clean open. verify() reports it too.
  const std::optional<wal_damage>& wal_damage_found() const noexcept;

  const std::filesystem::path& directory() const noexcept;
  open_mode mode() const noexcept;

  struct impl;

private:
  explicit event_log(std::unique_ptr<impl> p);

  // Waits on the group-commit writer's queue (open_options::max_queued_events).
  void wait_for_room(std::size_t events) override;

  status scan_stream_moving(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                            const std::function<bool(event&&)>& fn) const;

  std::unique_ptr<impl> impl_;
};

} // namespace almanac::store
