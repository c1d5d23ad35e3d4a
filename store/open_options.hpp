// How an event_log opens its data directory: who may write, how durable an acknowledged append
// is, and how much may queue for the group-commit writer. The defaults are the safe ones.
#pragma once

#include <almanac/options.hpp>
#include <almanac/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace almanac::store {

// What "acknowledged" means for an append (options.hpp).
using almanac::durability;

enum class open_mode : std::uint8_t {
  // Takes the directory lock; the only mode that can append. Creates the directory and its
  // missing parents (mode 0700; existing ones keep their mode) and the database when missing.
  read_write = 0,
  // A frozen view of the directory as of open; works while a writer holds the lock.
  read_only = 1,
  // A RocksDB secondary instance: follows the writer through catch_up(); works while a writer
  // holds the lock. Needs `secondary_path`.
  secondary = 2,
};

struct open_options {
  open_mode mode = open_mode::read_write;
  durability sync = durability::sync;
  // For open_mode::secondary: a directory of its own for the secondary's info log and state,
  // e.g. a fresh temporary directory. Required in that mode, ignored otherwise.
  std::string secondary_path;
  // Backpressure: once this many events wait for the writer, blocking append() waits for room.
  // append_async() never waits and may exceed it. Default: 65536 events.
  std::size_t max_queued_events = 65536;
  // Upper bound of one group commit, in events; a single larger append still goes in one batch.
  // Default: 16384.
  std::size_t max_group_events = 16384;
  // Block cache for reads, in bytes. Default: 64 MiB.
  std::size_t block_cache_bytes = std::size_t{64} << 20;
  // Memtables of all column families together, in bytes (RocksDB's db_write_buffer_size): the
  // log's write memory stays within this whatever the number of jobs, instead of up to 64 MiB
  // per column family (7 of them). Also caps the WAL's preallocation and the free space RocksDB
  // wants before it clears a "no space" error. Default: 64 MiB.
  std::size_t memtable_bytes = std::size_t{64} << 20;
  // What to do with a damaged write-ahead log (store/wal_damage.hpp): records that do not read
  // back in the middle of a file, or a log that ends before its acknowledged mark. Without
  // salvage, open refuses with corruption and changes nothing: the operator backs up, runs
  // almanac-replay verify, and decides. With salvage, a read-write open copies the damaged files
  // to <dir>/salvage-<time>/, keeps what reads back up to the first damage (RocksDB's
  // point-in-time recovery), never reuses the lost positions, and records a log_salvaged event in
  // the log's own stream; read-only and secondary opens read what is left and report the damage
  // through wal_damage_found() and verify(). A torn last record of a write that was never
  // acknowledged is not damage: it is dropped silently either way. Default: refuse.
  bool salvage = false;
  // When the salvage is recorded (log_salvaged's recorded_at): the caller's clock.
  instant salvage_at{};
  // How often the acknowledged mark is rewritten while appends go on (durability::sync only).
  // A cut of the log's last `ack_mark_interval` of appends is not detected. Default: 1 s.
  duration ack_mark_interval = std::chrono::seconds{1};
};

} // namespace almanac::store
