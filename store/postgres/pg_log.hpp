// The event log in PostgreSQL: the journal contract (store/journal.hpp) over one database that
// several Almanac processes may share. Events live in `almanac_events`, keyed (job, seq): the
// primary key is the optimistic-concurrency check of last resort, and the payload is the codec's
// bytes (events/codec.hpp), so decoding errors are the RocksDB backend's, naming job and seq.
//
// The global order. A position taken from a sequence at INSERT time and read back by
// `position > last` lets a reader skip an event whose transaction commits after a later one's
// (docs/STORAGE.md). Here every append transaction first locks the one row of
// `almanac_position` (SELECT ... FOR UPDATE), assigns its events the next positions, and
// raises the counter in the same transaction. Transactions that write events are therefore
// serialized on that row until they commit: positions are gap-free and in commit order, across
// any number of writers, threads or processes, and a position becomes readable only after every
// lower one is. The cost, one commit at a time per database, is paid back by group commit.
//
// Group commit. One writer thread per pg_log takes every append queued (up to
// max_group_events) into one transaction: lock the counter, read the highest sequence of each
// job of the group, refuse the stale appends with `conflict` (they write nothing, the others go
// on), insert all the rows with one statement (binary arrays through unnest), COMMIT. A group
// costs two round trips whatever its size (pipeline mode: BEGIN, the lock and the read of the
// highest seqs in one; the insert and COMMIT in the other). Acknowledged means committed, with
// the server's synchronous_commit (default on: the commit record is flushed to disk).
//
// Connection loss. A group that fails before its insert and COMMIT were sent wrote nothing (the
// server rolls back an unfinished transaction); the writer reconnects once and retries it. A
// connection lost once they were sent leaves the outcome unknown: those appends fail with
// outcome_unknown and the caller re-reads (a retry with the same expected seq then gets
// `conflict` if the first attempt committed). The next append reconnects by itself.
//
// Read-only instances (pg_options::read_only, what the replay tool opens) read the log as it
// is, with the latest commits visible, and never write: no schema is created, sessions are
// read-only on the server too, and there is no writer thread.
#pragma once

#include "store/journal.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace almanac::store {

struct pg_options {
  // The most events one transaction carries; a larger append still goes alone in one.
  // Default: 5000.
  std::size_t max_group_events = 5000;
  // Sent as application_name, so an operator can tell Almanac's sessions apart in
  // pg_stat_activity. Default: "almanac".
  std::string application_name = "almanac";
  // Off: the writer's session sets synchronous_commit = off, so an acknowledged append may be
  // lost in a server crash (not in a clean restart). For tests and benchmarks only, as
  // durability::none is on RocksDB. Default: on (the server's setting decides).
  bool synchronous_commit = true;
  // Read-only: no schema is created or migrated (a missing one is refused with not_found), every
  // session is read-only (default_transaction_read_only), no writer thread runs, and every
  // write is refused with invalid_argument. What the replay tool opens. Default: read-write.
  bool read_only = false;
  // Exclusive: this is the database's only writer, as a read-write event_log is its directory's.
  // open() takes a session advisory lock on the writer's connection and refuses with io_error
  // ("in use by another Almanac process") when another holds it. The lock goes with the
  // session, so after every reconnect the writer takes it again before it writes anything; if
  // another process took it meanwhile, the appends fail with unavailable and write nothing (this
  // one is fenced off). open_journal() opens read-write logs this way; several plain writers on
  // one database (the contract tests, tools) leave it off. Default: off.
  bool exclusive = false;
  // Backpressure: once this many events wait for the writer, blocking append() waits for room.
  // append_async() never waits and may exceed it. Default: 65536 events.
  std::size_t max_queued_events = 65536;
};

class pg_log : public journal {
public:
  // The schema version this build creates and reads. open() refuses a newer one.
  static constexpr int schema_version = 2;

  // Connects to `conninfo` (libpq's "host=... dbname=..." or a postgresql:// URI), creates the
  // schema if it is missing (one transaction, recorded in almanac_schema_version), and starts the
  // writer. Errors: unavailable (cannot connect: the message names host, port, database and
  // user, never the password); newer_format (the database holds a newer schema version);
  // io_error (the schema could not be created). With opts.read_only it creates, migrates and
  // starts nothing: not_found (no Almanac log in the database), invalid_argument (an older
  // schema version, which only a read-write open migrates). On a read-only instance append,
  // save_snapshot, write_projections, drop_projection and purge_deleted are invalid_argument,
  // and append_async runs `done` with it at once, on the calling thread.
  static status open(const std::string& conninfo, const pg_options& opts,
                     std::unique_ptr<pg_log>& out);

  ~pg_log() override;
  pg_log(const pg_log&) = delete;
  pg_log& operator=(const pg_log&) = delete;

  status close() override;
  journal_health health() const override;

  // journal::append; waits for room once max_queued_events wait for the writer.
  using journal::append;
  void append_async(job_id job, std::uint64_t expected_seq, std::vector<event> events,
                    append_callback done) override;

  // Reads share one connection (serialized; the callbacks run without holding it, so they may
  // call back into the log). Results are fetched in pages: memory stays bounded.
  status read_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                     std::uint64_t max_count, std::vector<event>& out) const override;
  using journal::read_stream;
  status scan_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                     const std::function<bool(const event&)>& fn) const override;
  status
  read_all(std::uint64_t from_position,
           const std::function<bool(std::uint64_t position, const event&)>& fn) const override;
  status highest_seq(job_id job, std::uint64_t& out) const override;
  status highest_position(std::uint64_t& out) const override;
  status for_each_stream(const std::function<bool(const stream_info&)>& fn) const override;

  status save_snapshot(job_id job, const job_state& state) override;
  status load_latest_snapshot(job_id job, loaded_snapshot& out) const override;
  using journal::load_job;
  // One pass over the streams in pages of 1000 with their snapshots, each page's events after
  // its snapshots fetched 10,000 rows per query, all in one read-only snapshot of the database
  // on a connection of its own (so `fn` may use the log meanwhile). A lost connection resumes
  // once at the first job not yet handed to `fn`.
  status
  load_jobs(const std::function<bool(job_state&&, const std::string& warning)>& fn) const override;

  // Projections share the reading connection. A batch is one statement (a statement is its own
  // transaction, so the entries and the checkpoint land together or not at all); it is safe to
  // retry, since it only sets rows to given values.
  status write_projections(const projection_batch& batch) override;
  status read_checkpoint(std::string_view projection, std::uint64_t& position) const override;
  status get_projection(std::string_view projection, std::string_view key,
                        std::string& value) const override;
  // Fetched in pages, like the event reads.
  status scan_projection(std::string_view projection, const projection_scan& scan,
                         std::vector<projection_row>& out) const override;
  status drop_projection(std::string_view projection) override;

  // One transaction that holds the position counter's lock, as appends do: it waits for the
  // appends in flight and holds new ones back until it commits.
  status purge_deleted(instant now, duration retention = default_retention,
                       std::uint64_t* purged = nullptr) override;

  // Walks the events in (job, seq) order, a page at a time. An event's row is its global entry,
  // so dangling or missing global entries cannot occur; positions and sequences are also checked
  // against the counters (counter_mismatch). One read-only snapshot: appends may go on.
  status verify(verify_report& out) const override;

  // Transactions committed by the writer so far (one per group).
  std::uint64_t group_commits() const noexcept;

  struct impl;

private:
  explicit pg_log(std::unique_ptr<impl> p);

  // Waits on the writer's queue (pg_options::max_queued_events).
  void wait_for_room(std::size_t events) override;

  std::unique_ptr<impl> impl_;
};

} // namespace almanac::store
