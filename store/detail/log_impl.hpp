// The state behind an event_log: the RocksDB handle, its column families, the directory lock and
// the group-commit writer. Shared by the .cpp files of event_log (one per concern).
#pragma once

#include "store/detail/group_commit.hpp"
#include "store/detail/wal_guard.hpp"
#include "store/detail/write_gate.hpp"
#include "store/event_log.hpp"

#include <rocksdb/db.h>

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace almanac::store {

struct event_log::impl {
  std::filesystem::path dir;
  open_options opts;
  rocksdb::DB* db = nullptr;
  // Every handle RocksDB returned, destroyed before the DB is (DEPS.md).
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* streams = nullptr;
  rocksdb::ColumnFamilyHandle* global = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots = nullptr;
  rocksdb::ColumnFamilyHandle* projections = nullptr;
  rocksdb::ColumnFamilyHandle* checkpoints = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  // flock()ed for a read-write instance; -1 otherwise.
  int lock_fd = -1;
  // Every write after open goes through the gate (read-write instances only).
  std::unique_ptr<detail::write_gate> gate;
  std::unique_ptr<detail::group_commit> writer;
  // Read-write with durability::sync only; stopped before the writer's last acknowledgements
  // are counted, then once more at close.
  std::unique_ptr<detail::ack_marker> marker;
  // What open found wrong with the write-ahead log (salvaged, or reported read-only).
  std::optional<wal_damage> damage;
  std::mutex close_mtx;
  bool closed = false;
  status close_status;
  // Serializes purges with each other (appends need no lock: a deleted job gets none).
  std::mutex purge_mtx;

  rocksdb::WriteOptions write_options() const {
    rocksdb::WriteOptions wo;
    wo.sync = opts.sync == durability::sync;
    return wo;
  }
  status require_writable(std::string_view what) const;
  // The meta entries "purged/" job -> highest seq: 0 when the stream was never purged.
  status purged_seq(job_id job, std::uint64_t& out) const;
};

} // namespace almanac::store
