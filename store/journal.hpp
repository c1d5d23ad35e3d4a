// The journal: the log contract the runtime uses, with two backends. `event_log` keeps every
// job's stream in RocksDB (one data directory, one process); `pg_log` (store/postgres/) keeps it
// in a PostgreSQL database that several processes may share. The same contract tests run against
// both, errors included: a stale expected sequence is `conflict` and writes nothing; an event
// that does not decode is refused naming its job and sequence; a newer format is refused.
//
// Projections with their checkpoints, retention (purge_deleted) and verify() are in the
// contract too. Not in it yet (RocksDB-only, on event_log): catch_up(), flush()/compact(), write
// stats and the write-ahead-log salvage. docs/STORAGE.md says what each backend guarantees.
#pragma once

#include "store/projection_batch.hpp"
#include "store/status.hpp"
#include "store/verify_report.hpp"

#include "events/event.hpp"

#include <almanac/job_state.hpp>
#include <almanac/time.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace almanac::store {

inline constexpr std::uint64_t max_seq = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint64_t max_count = std::numeric_limits<std::uint64_t>::max();

// How long a deleted job's stream is kept before purge_deleted() may remove it. Default: 30 days.
inline constexpr duration default_retention = std::chrono::hours{24 * 30};

// One stream, as listed by for_each_stream().
struct stream_info {
  job_id job;
  // The highest sequence ever appended; kept when the stream is purged.
  std::uint64_t highest_seq = 0;
  // When the job's job_deleted event was recorded; nullopt for a job not deleted.
  std::optional<instant> deleted_at;
  // The events are gone (retention); only highest_seq remains.
  bool purged = false;
};

// What load_latest_snapshot() found. `state` is empty when there is no snapshot or it could not
// be used; then `warning` says why if it was unusable ("snapshot of job X at seq 12 does not
// decode: ..."), and the caller replays the stream from the start.
struct loaded_snapshot {
  std::optional<job_state> state;
  std::string warning;
};

// A stored snapshot of `job` at `seq` as load_latest_snapshot reports it: the decoded state, or
// a warning when the bytes do not decode or name another job or sequence. Both backends use it,
// so their warnings read alike.
void check_snapshot(job_id job, std::uint64_t seq, std::string_view bytes, loaded_snapshot& out);

class journal;

// What save_snapshot refuses before writing, the same for both backends: a state of another job
// than `job`, at seq 0, or beyond the stream's highest seq (read from `log`). Errors:
// invalid_argument naming the job; the errors of highest_seq.
status check_snapshot_to_save(const journal& log, job_id job, const job_state& state);

// What health and /metrics show about the storage: which backend, whether it is reachable, and
// the group-commit writer's work so far.
struct journal_health {
  // "rocksdb" or "postgresql".
  std::string backend;
  // PostgreSQL: whether the writer's last attempt reached the server (false from a lost
  // connection until the next append succeeds). RocksDB: always true.
  bool connected = true;
  // Committed group writes (RocksDB: synced WriteBatches; PostgreSQL: transactions).
  std::uint64_t group_writes = 0;
  // Time spent in those writes, fsync and round trips included.
  duration write_time{};
  // PostgreSQL: connections lost and made again since open (0 for RocksDB).
  std::uint64_t connection_losses = 0;
  std::uint64_t reconnects = 0;
  // The last storage failure's message ("" when none since open); never holds a password.
  std::string last_error;
  // Events queued for the writer and not yet taken into a group.
  std::uint64_t queued_events = 0;
  // Blocking appends waiting for room in that queue (backpressure) right now.
  std::uint64_t appends_waiting = 0;
};

class journal {
public:
  // Runs on the backend's writer thread once the append is durable (or refused). On ok,
  // `first_position` is the global position of the first event; the others follow contiguously.
  // Must not block for long, and must not call the blocking append().
  using append_callback = std::function<void(status, std::uint64_t first_position)>;

  virtual ~journal() = default;

  // Stops accepting appends (they fail with unavailable), finishes and acknowledges everything
  // already queued, and releases the storage. Idempotent; the first call's status.
  virtual status close() = 0;

  // The storage's state now. Thread-safe and cheap: it reads counters, never the storage.
  virtual journal_health health() const = 0;

  // -- appending -------------------------------------------------------------------------------

  // Appends `events` to `job`'s stream if its highest sequence is `expected_seq`, atomically,
  // and returns once durable. The events' envelopes must already carry `job` and the sequences
  // expected_seq + 1, expected_seq + 2, ... (as decide() fills them). Errors: conflict
  // (expected_seq is stale, nothing written, the message names the job); invalid_argument (no
  // events, wrong job id or sequences, read-only instance); unavailable (closed, or the storage
  // is unreachable); io_error, no_space. `first_position` (optional) receives the first global
  // position. Backpressure: while the backend's queue holds its bound of events
  // (open_options / pg_options::max_queued_events), waits for room before queueing. Built on
  // append_async, so both backends behave alike. Thread-safe.
  status append(job_id job, std::uint64_t expected_seq, const std::vector<event>& events,
                std::uint64_t* first_position = nullptr);

  // The same, without blocking: `done` runs on the writer thread when the append is durable or
  // refused; always exactly once (on the calling thread, with unavailable, if closed). Never
  // waits for room: the queue may grow past its bound, so the caller bounds its own appends in
  // flight (a job actor has at most one). Thread-safe.
  virtual void append_async(job_id job, std::uint64_t expected_seq, std::vector<event> events,
                            append_callback done) = 0;

  // -- reading ---------------------------------------------------------------------------------

  // The events of `job` with from_seq <= seq <= to_seq, at most `max_count` of them, in sequence
  // order, appended to `out`. from > to or max_count 0 gives nothing; an unknown job gives
  // nothing. Errors: corruption, unknown_event, newer_format (an event does not decode or its
  // envelope contradicts its key; the message names job and seq), io_error. Thread-safe.
  virtual status read_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                             std::uint64_t max_count, std::vector<event>& out) const = 0;
  status read_stream(job_id job, std::uint64_t from_seq, std::vector<event>& out) const {
    return read_stream(job, from_seq, max_seq, max_count, out);
  }

  // Streaming form of read_stream: calls `fn` per event until it returns false.
  virtual status scan_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                             const std::function<bool(const event&)>& fn) const = 0;

  // Every event from global position `from_position` on, in commit order, until `fn` returns
  // false. Positions are dense: an event that commits later never gets a lower position than
  // one already readable, so a reader that resumes from its last position + 1 misses nothing.
  // Sees the log as of the call (never half an append). Errors as read_stream.
  virtual status
  read_all(std::uint64_t from_position,
           const std::function<bool(std::uint64_t position, const event&)>& fn) const = 0;

  // The highest sequence ever appended to `job`: 0 for an unknown job; never goes backwards.
  virtual status highest_seq(job_id job, std::uint64_t& out) const = 0;

  // The highest global position ever assigned (0 for an empty log); never goes backwards.
  virtual status highest_position(std::uint64_t& out) const = 0;

  // Every job the log knows, in job id order (unsigned), with its highest sequence, until `fn`
  // returns false.
  virtual status for_each_stream(const std::function<bool(const stream_info&)>& fn) const = 0;

  // -- snapshots and recovery ------------------------------------------------------------------

  // Stores `state` as `job`'s latest snapshot at state.seq and drops older ones. Not synced: a
  // snapshot lost in a crash only makes recovery replay more. Errors: invalid_argument
  // (state.id != job, state.seq == 0 or beyond the stream's highest seq).
  virtual status save_snapshot(job_id job, const job_state& state) = 0;

  // The latest snapshot of `job`. A snapshot that does not decode, or whose id or seq contradict
  // its key, is not an error: `out.state` stays empty and `out.warning` says why.
  virtual status load_latest_snapshot(job_id job, loaded_snapshot& out) const = 0;

  // Recovery of one job: the latest usable snapshot (or an empty state) plus every later event,
  // folded with evolve(). `warning` (optional) receives a snapshot warning. Errors as
  // read_stream. An unknown job gives an empty state with seq 0. The same for every backend:
  // load_latest_snapshot, then scan_stream.
  status load_job(job_id job, job_state& out, std::string* warning = nullptr) const;

  // Recovery of every job, in job id order: for each stream, its latest usable snapshot plus the
  // later events, folded with evolve(), then `fn(state, warning)` until it returns false. Purged
  // streams are not visited. Errors as read_stream (the first corrupt event stops the walk).
  virtual status
  load_jobs(const std::function<bool(job_state&&, const std::string& warning)>& fn) const = 0;

  // -- projections -----------------------------------------------------------------------------

  // Applies every put, erase and checkpoint of `batch` atomically: after a crash a projection
  // is exactly as of its checkpoint. Within a batch the last write to a key (or to a
  // projection's checkpoint) wins. Errors: invalid_argument (a name empty or longer than
  // max_projection_name bytes; nothing is written), unavailable (closed, or unreachable).
  virtual status write_projections(const projection_batch& batch) = 0;

  // The checkpoint of `projection`: 0 when it has none.
  virtual status read_checkpoint(std::string_view projection, std::uint64_t& position) const = 0;

  // One entry. Errors: not_found (the message names projection and key).
  virtual status get_projection(std::string_view projection, std::string_view key,
                                std::string& value) const = 0;

  // The entries `scan` selects (projection_batch.hpp), keys compared as unsigned bytes,
  // appended to `out`.
  virtual status scan_projection(std::string_view projection, const projection_scan& scan,
                                 std::vector<projection_row>& out) const = 0;

  // Removes every entry and the checkpoint of `projection`, so it can be rebuilt from position 1.
  virtual status drop_projection(std::string_view projection) = 0;

  // -- retention -------------------------------------------------------------------------------

  // Purges the events and snapshots of every job whose job_deleted event was recorded at or
  // before now - retention. Their highest sequence and the highest position stay (never
  // reused); for_each_stream() lists them as purged, without deleted_at; load_jobs() skips
  // them. `purged` (optional) receives the number of streams purged. Errors: invalid_argument
  // (read-only instance), unavailable, io_error.
  virtual status purge_deleted(instant now, duration retention = default_retention,
                               std::uint64_t* purged = nullptr) = 0;

  // -- integrity -------------------------------------------------------------------------------

  // Reads everything and reports what is wrong in `out` (store/verify_report.hpp): gaps in a
  // stream's sequences, events that do not decode or whose envelope contradicts their key, a
  // global order that contradicts a stream's. Purged streams are not gaps. The status is an
  // error only when the walk itself could not run. Slow.
  virtual status verify(verify_report& out) const = 0;

protected:
  // Backpressure for the blocking append(): returns once the writer's queue has room for
  // `events` more events (an append larger than the bound waits for an empty queue), or at once
  // when the log is closing. Blocking appends that find room together may each queue theirs, so
  // the bound can be passed by what they carry; append_async never calls it. Default: no bound.
  virtual void wait_for_room(std::size_t events);
};

} // namespace almanac::store
