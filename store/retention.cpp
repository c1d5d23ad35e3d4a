// event_log::purge_deleted(): retention of deleted jobs' streams.
#include "store/event_log.hpp"

#include "store/detail/keys.hpp"
#include "store/detail/log_impl.hpp"

#include <rocksdb/write_batch.h>

#include <map>

namespace almanac::store {

using namespace detail;

status event_log::purge_deleted(instant now, duration retention, std::uint64_t* purged) {
  if (purged)
    *purged = 0;
  if (auto st = impl_->require_writable("purge_deleted"); !st)
    return st;
  std::lock_guard lock{impl_->purge_mtx};
  auto* db = impl_->db;
  column_families cfs{impl_->streams, impl_->global, impl_->meta};
  // Job -> its highest seq, kept after the purge.
  std::map<std::uint64_t, std::uint64_t> due;
  {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator({}, impl_->meta)};
    for (it->Seek(std::string{meta_deleted_prefix});
         it->Valid() && it->key().starts_with(meta_deleted_prefix); it->Next()) {
      if (it->key().size() != meta_deleted_prefix.size() + 8 || it->value().size() != 8)
        return status::corruption("malformed deletion record in meta");
      auto deleted_at =
        from_unix_us(static_cast<std::int64_t>(get_u64({it->value().data(), 8})));
      if (deleted_at + retention <= now)
        due[get_u64({it->key().data(), it->key().size()}, meta_deleted_prefix.size())] = 0;
    }
    if (auto st = from_rocksdb(it->status(), "reading deletion records"); !st)
      return st;
  }
  if (due.empty())
    return status{};
  for (auto& [job, highest] : due)
    if (auto st = read_highest_seq(db, cfs, job_id{job}, highest); !st)
      return st;

  rocksdb::WriteBatch batch;
  // The global entries carry the events' bytes, so they go too: retention removes the data,
  // and verify() finds no entry pointing into a purged stream. Positions are never reused
  // (meta highest_position keeps the highest).
  {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    ro.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(ro, impl_->global)};
    for (it->SeekToFirst(); it->Valid(); it->Next())
      if (it->value().size() >= 8 && due.contains(get_u64({it->value().data(), 8})))
        batch.Delete(impl_->global, it->key());
    if (auto st = from_rocksdb(it->status(), "scanning the global index for purge"); !st)
      return st;
  }
  for (auto& [job, highest] : due) {
    job_id id{job};
    // [job|0, job|max) plus job|max itself: also correct for the largest job id.
    batch.DeleteRange(impl_->streams, stream_key(id, 0), stream_key(id, max_seq));
    batch.Delete(impl_->streams, stream_key(id, max_seq));
    batch.DeleteRange(impl_->snapshots, stream_key(id, 0), stream_key(id, max_seq));
    batch.Delete(impl_->snapshots, stream_key(id, max_seq));
    batch.Delete(impl_->meta, meta_job_key(meta_deleted_prefix, id));
    batch.Put(impl_->meta, meta_job_key(meta_purged_prefix, id), u64_key(highest));
  }
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync == durability::sync;
  if (auto st = impl_->gate->write(wo, &batch,
                                   "purging " + std::to_string(due.size()) + " deleted streams");
      !st)
    return st;
  if (purged)
    *purged = due.size();
  return status{};
}

} // namespace almanac::store
