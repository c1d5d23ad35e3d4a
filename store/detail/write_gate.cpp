#include "store/detail/write_gate.hpp"

#include "store/detail/group_commit.hpp"

namespace almanac::store::detail {

status write_gate::write(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch* batch,
                         std::string_view what) {
  if (failed_.load(std::memory_order_acquire)) {
    std::lock_guard guard{mtx_};
    if (failed_.load(std::memory_order_relaxed)) {
      auto rs = db_->Resume();
      if (!rs.ok())
        return from_rocksdb(rs, std::string{what} + ": the log has not recovered from a failed "
                                  "write (" + cause_ + ")");
      failed_.store(false, std::memory_order_release);
    }
  }
  auto rs = db_->Write(wo, batch);
  if (rs.IsIOError() || rs.IsNoSpace()) {
    std::lock_guard guard{mtx_};
    cause_ = rs.ToString();
    failed_.store(true, std::memory_order_release);
  }
  return from_rocksdb(rs, what);
}

} // namespace almanac::store::detail
