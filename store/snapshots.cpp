// event_log: snapshots and the recovery of one job (snapshot + tail).
#include "store/event_log.hpp"

#include "store/detail/keys.hpp"
#include "store/detail/log_impl.hpp"

#include "events/codec.hpp"
#include "events/evolve.hpp"

#include <rocksdb/write_batch.h>

namespace almanac::store {

using namespace detail;

status event_log::save_snapshot(job_id job, const job_state& state) {
  if (auto st = impl_->require_writable("snapshot of job " + to_string(job)); !st)
    return st;
  if (auto st = check_snapshot_to_save(*this, job, state); !st)
    return st;
  rocksdb::WriteBatch batch;
  batch.Put(impl_->snapshots, stream_key(job, state.seq), encode_state(state));
  batch.DeleteRange(impl_->snapshots, stream_key(job, 0), stream_key(job, state.seq));
  // No fsync: a lost snapshot only means a longer replay (see the contract).
  rocksdb::WriteOptions wo;
  wo.sync = false;
  return impl_->gate->write(wo, &batch, "saving the snapshot of job " + to_string(job));
}

status event_log::load_latest_snapshot(job_id job, loaded_snapshot& out) const {
  out = {};
  if (!impl_->db)
    return status::unavailable("snapshot of job " + to_string(job) + ": the log is closed");
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  auto lower = stream_key(job, 0);
  rocksdb::Slice lower_slice{lower};
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro, impl_->snapshots)};
  it->SeekForPrev(stream_key(job, max_seq));
  if (!it->Valid()) {
    auto st = it->status();
    // A damaged snapshot block is a reason to replay, not to fail the job's recovery.
    if (st.IsCorruption()) {
      out.warning = "snapshot of job " + to_string(job) + " is unreadable: " + st.ToString();
      return status{};
    }
    return from_rocksdb(st, "reading the snapshot of job " + to_string(job));
  }
  std::string_view key{it->key().data(), it->key().size()};
  if (key.size() != 16 || get_u64(key) != job.value)
    return status{};
  check_snapshot(job, get_u64(key, 8), {it->value().data(), it->value().size()}, out);
  return status{};
}

status event_log::load_jobs(
  const std::function<bool(job_state&&, const std::string& warning)>& fn) const {
  if (!impl_->db)
    return status::unavailable("load_jobs: the log is closed");
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro, impl_->streams)};
  std::unique_ptr<rocksdb::Iterator> snaps{impl_->db->NewIterator(ro, impl_->snapshots)};
  std::string warning;
  it->SeekToFirst();
  while (it->Valid()) {
    if (it->key().size() != 16)
      return status::corruption("stream key of " + std::to_string(it->key().size())
                                + " bytes");
    job_id job{get_u64({it->key().data(), 8})};
    warning.clear();
    job_state state;
    state.id = job;
    // The latest snapshot: save_snapshot keeps one per job, so the last key of the prefix.
    for (snaps->Seek(stream_key(job, 0));
         snaps->Valid() && snaps->key().size() == 16
         && get_u64({snaps->key().data(), 8}) == job.value;
         snaps->Next()) {
      loaded_snapshot snap;
      check_snapshot(job, get_u64({snaps->key().data(), 16}, 8),
                     {snaps->value().data(), snaps->value().size()}, snap);
      if (snap.state) {
        state = std::move(*snap.state);
        warning.clear();
      } else {
        warning = std::move(snap.warning);
      }
    }
    if (!snaps->status().ok())
      warning = "snapshot of job " + to_string(job) + " is unreadable: "
                + snaps->status().ToString();
    if (state.seq > 0)
      it->Seek(stream_key(job, state.seq + 1));
    for (; it->Valid(); it->Next()) {
      std::string_view key{it->key().data(), it->key().size()};
      if (key.size() != 16 || get_u64(key) != job.value)
        break;
      auto seq = get_u64(key, 8);
      auto decoded = decode_event({it->value().data(), it->value().size()});
      if (!decoded)
        return status::undecodable(decoded.err(), "job " + to_string(job) + " seq "
                                                         + std::to_string(seq)
                                                         + " does not decode: "
                                                         + decoded.err().message);
      if (decoded->env.job != job || decoded->env.seq != seq)
        return status::corruption("job " + to_string(job) + " seq " + std::to_string(seq)
                                  + " holds an event of job " + to_string(decoded->env.job)
                                  + " seq " + std::to_string(decoded->env.seq));
      state = evolve(std::move(state), *decoded);
    }
    if (!fn(std::move(state), warning))
      return status{};
  }
  return from_rocksdb(it->status(), "loading jobs");
}

} // namespace almanac::store
