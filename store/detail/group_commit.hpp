// The group-commit writer: one thread that drains every queued append into one WriteBatch and
// one (synced) write, then acknowledges each caller. It alone assigns global positions and keeps
// each stream's highest sequence in memory (loaded on a stream's first append), so the hot path
// costs no read per append. Conflicts are decided per append: a stale one is refused alone.
#pragma once

#include "store/detail/write_gate.hpp"
#include "store/event_log.hpp"

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace almanac::store::detail {

struct pending_append {
  job_id job;
  std::uint64_t expected_seq = 0;
  // encode_event of each event, in sequence order.
  std::vector<std::string> encoded;
  // The recorded_at of a job_deleted event in this append.
  std::optional<instant> deleted_at;
  // Set when the append was refused before queueing; the writer only acknowledges it.
  status refused;
  event_log::append_callback done;
};

struct column_families {
  rocksdb::ColumnFamilyHandle* streams = nullptr;
  rocksdb::ColumnFamilyHandle* global = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
};

class group_commit {
public:
  // `highest_position`: the highest position assigned so far (loaded at open).
  group_commit(write_gate& gate, column_families cfs, durability sync, std::size_t max_queued,
               std::size_t max_group, std::uint64_t highest_position);
  ~group_commit();

  // Queues `p`. With wait_for_room, waits while max_queued events are queued. Returns false
  // (without calling p.done) once stopping.
  bool submit(pending_append&& p, bool wait_for_room);

  // Returns once the queue has room for `events` more (an empty queue takes any append), or
  // when stopping: the blocking append's backpressure (journal::wait_for_room).
  void wait_for_room(std::size_t events);

  // Events queued and not yet taken into a group; blocking appends waiting for room.
  std::uint64_t queued_events() const;
  std::uint64_t appends_waiting() const;

  // Refuses new appends, drains the queue and joins the writer. Idempotent.
  void stop();

  // Group writes so far and the time they took (WriteBatch plus fsync). Thread-safe.
  std::uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }
  std::uint64_t write_us() const noexcept { return write_us_.load(std::memory_order_relaxed); }

  // The highest position written and synced so far (acknowledged, or about to be). Thread-safe.
  std::uint64_t durable_position() const noexcept {
    return durable_position_.load(std::memory_order_acquire);
  }

private:
  void run();
  void commit(std::vector<pending_append>& group);
  // The stream's highest sequence, from the cache or (first time) from RocksDB.
  status highest_seq(job_id job, std::uint64_t& out);

  rocksdb::DB* db_;
  write_gate& gate_;
  column_families cfs_;
  rocksdb::WriteOptions write_options_;
  std::size_t max_queued_;
  std::size_t max_group_;

  // Waits, with mtx_ held by `lock`, until `events` fit or the writer stops.
  void await_room(std::unique_lock<std::mutex>& lock, std::size_t events);

  mutable std::mutex mtx_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<pending_append> queue_;
  std::size_t queued_events_ = 0;
  std::size_t waiting_ = 0;
  bool stopping_ = false;

  // Writer thread only. One entry per stream appended to since open (about 50 bytes each: 50 MB
  // for a million active jobs), never evicted: a conflict check must not cost a read.
  std::uint64_t highest_position_;
  std::unordered_map<job_id, std::uint64_t> highest_seq_;

  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> write_us_{0};
  std::atomic<std::uint64_t> durable_position_{0};

  std::thread thread_;
};

// RocksDB's status in the store's terms; `what` names the key or operation.
status from_rocksdb(const rocksdb::Status& st, std::string_view what);

// The highest sequence of `job`: its last stream key, or the seq kept by a purge; 0 if unknown.
status read_highest_seq(rocksdb::DB* db, const column_families& cfs, job_id job,
                        std::uint64_t& out);

// The highest global position: the last global key, or the one kept in meta; 0 if none.
status read_highest_position(rocksdb::DB* db, const column_families& cfs, std::uint64_t& out);

} // namespace almanac::store::detail
