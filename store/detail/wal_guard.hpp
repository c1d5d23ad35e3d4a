// The guards around RocksDB's write-ahead log recovery (store/wal_damage.hpp says why):
// a Logger that catches the records recovery drops, the acknowledged mark that detects a log cut
// short, and the copy of the damaged files a salvage makes before it changes anything.
#pragma once

#include "store/status.hpp"
#include "store/wal_damage.hpp"

#include <almanac/time.hpp>

#include <rocksdb/env.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace almanac::store::detail {

// RocksDB's info log. Warnings and worse go to stderr, where the daemon's own lines go (not a
// LOG file in the data directory: on a full disk a failed LOG write makes Debian's librocksdb
// abort). Recovery reports a record it cannot replay only here, as "<file>: dropping N bytes;
// <reason>": its Status names no file, so the lines are kept for wal_damage.
class recovery_logger final : public rocksdb::Logger {
public:
  struct drop {
    std::string file;
    std::uint64_t bytes = 0;
    std::string reason;
  };

  recovery_logger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

  // Every drop reported since the last clear(). Thread-safe.
  std::vector<drop> drops() const;
  void clear();

private:
  mutable std::mutex mtx_;
  std::vector<drop> drops_;
};

// The drops as one wal_damage (files, reasons, bytes).
wal_damage damage_of(const std::vector<recovery_logger::drop>& drops, std::string_view status);

// The acknowledged mark, `<dir>/ACKNOWLEDGED`: a global position every append up to which was
// durable and acknowledged. Written after the syncs it covers, so it never runs ahead of the log;
// a log that recovers to less than it lost its tail.
inline constexpr std::string_view ack_mark_name = "ACKNOWLEDGED";

struct ack_mark {
  std::uint64_t position = 0;
  // Written by a clean close, after the memtables were flushed: the write-ahead log holds
  // nothing the next open needs. A running log's marks say false.
  bool clean = false;
};

// Position 0 when there is no mark. Errors: corruption (a mark that does not parse), io_error.
status read_ack_mark(const std::filesystem::path& dir, ack_mark& out);

// Replaces the mark atomically and durably (temporary file, fsync, rename, fsync of the
// directory).
status write_ack_mark(const std::filesystem::path& dir, ack_mark mark);

// Writes the mark on a thread of its own, at most once per `interval` and only when the
// acknowledged position moved, so it costs two small fsyncs a second under load and nothing when
// idle. stop() joins the thread; the final mark is the closer's to write.
class ack_marker {
public:
  ack_marker(std::filesystem::path dir, duration interval,
             std::function<std::uint64_t()> acknowledged, std::uint64_t written);
  ~ack_marker();
  ack_marker(const ack_marker&) = delete;
  ack_marker& operator=(const ack_marker&) = delete;

  // Joins the thread. Idempotent.
  void stop();

private:
  void run();
  void write_if_moved();

  std::filesystem::path dir_;
  duration interval_;
  std::function<std::uint64_t()> acknowledged_;
  std::uint64_t written_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Copies what recovery reads (write-ahead logs, MANIFEST, CURRENT, OPTIONS, the mark) into a new
// `<dir>/salvage-<UTC time>` and hard-links the table files (immutable) beside them, so the copy
// opens as a database of its own. `backup` receives its path.
status backup_for_salvage(const std::filesystem::path& dir, instant now,
                          std::filesystem::path& backup);

} // namespace almanac::store::detail
