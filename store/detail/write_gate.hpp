// Every RocksDB write of the log goes through one gate. After a failed write (a full disk, an
// I/O error) RocksDB refuses writes until it is resumed, and Debian's librocksdb (built with
// assertions) aborts on a write to a WAL file whose last write failed. The gate remembers the
// failure, resumes the database before the next write once that can succeed (space is back),
// and until then refuses writes itself with the original cause in the message.
#pragma once

#include "store/status.hpp"

#include <rocksdb/db.h>

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

namespace almanac::store::detail {

class write_gate {
public:
  explicit write_gate(rocksdb::DB* db) : db_(db) {}

  // Writes `batch`, resuming first if the last write failed. Thread-safe; the fast path (no
  // failure outstanding) takes no lock.
  status write(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch* batch, std::string_view what);

  rocksdb::DB* db() const noexcept { return db_; }

private:
  rocksdb::DB* db_;
  std::atomic<bool> failed_{false};
  std::mutex mtx_;
  std::string cause_;
};

} // namespace almanac::store::detail
