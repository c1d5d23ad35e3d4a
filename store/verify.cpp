// event_log::verify(): RocksDB's checksums, then a walk of every stream and of the global index.
#include "store/event_log.hpp"

#include "store/detail/keys.hpp"
#include "store/detail/log_impl.hpp"

#include "events/codec.hpp"

#include <map>
#include <utility>

namespace almanac::store {

using namespace detail;

namespace {

struct stream_stats {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  // Missing ranges [from, to] inside first..last.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
  // The next seq the global walk should meet for this stream.
  std::uint64_t global_next = 0;

  bool holds(std::uint64_t seq) const {
    if (seq < first || seq > last)
      return false;
    for (auto& [from, to] : gaps)
      if (seq >= from && seq <= to)
        return false;
    return true;
  }
};

std::string where(job_id job, std::uint64_t seq) {
  return "job " + to_string(job) + " seq " + std::to_string(seq);
}

} // namespace

status event_log::verify(verify_report& out) const {
  out = {};
  if (!impl_->db)
    return status::unavailable("verify: the log is closed");
  auto* db = impl_->db;
  // A salvaging read-write open recorded its loss in the log (log_salvaged); a read-only open
  // only saw it.
  if (impl_->damage && impl_->opts.mode != open_mode::read_write)
    out.add({problem_kind::wal_damage, {}, 0, impl_->damage->kept_through + 1,
             impl_->damage->describe()});
  if (auto st = db->VerifyChecksum(); !st.ok())
    out.add({problem_kind::checksum, {}, 0, 0, "table checksums: " + st.ToString()});

  std::map<std::uint64_t, std::uint64_t> purged;
  {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator({}, impl_->meta)};
    for (it->Seek(std::string{meta_purged_prefix});
         it->Valid() && it->key().starts_with(meta_purged_prefix); it->Next()) {
      if (it->key().size() != meta_purged_prefix.size() + 8 || it->value().size() != 8) {
        out.add({problem_kind::malformed_key, {}, 0, 0, "malformed purge record in meta"});
        continue;
      }
      purged[get_u64({it->key().data(), it->key().size()}, meta_purged_prefix.size())] =
        get_u64({it->value().data(), 8});
    }
    if (!it->status().ok())
      out.add({problem_kind::checksum, {}, 0, 0, "reading meta: " + it->status().ToString()});
  }
  out.purged_streams = purged.size();

  std::map<std::uint64_t, stream_stats> streams;
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  ro.fill_cache = false;
  {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(ro, impl_->streams)};
    stream_stats* current = nullptr;
    job_id current_job{};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view key{it->key().data(), it->key().size()};
      if (key.size() != 16) {
        out.add({problem_kind::malformed_key, {}, 0, 0,
                 "stream key of " + std::to_string(key.size()) + " bytes"});
        continue;
      }
      job_id job{get_u64(key)};
      auto seq = get_u64(key, 8);
      if (!current || job != current_job) {
        current = &streams[job.value];
        current_job = job;
        // A stream purged and appended to again continues after the kept seq.
        auto p = purged.find(job.value);
        auto expected = p == purged.end() ? 1 : p->second + 1;
        current->first = seq;
        current->last = seq;
        current->global_next = seq;
        if (seq > expected) {
          current->first = expected;
          current->gaps.emplace_back(expected, seq - 1);
          current->global_next = expected;
          out.add({problem_kind::gap, job, expected, 0,
                   where(job, expected) + " to " + std::to_string(seq - 1)
                     + " are missing (stream starts at seq " + std::to_string(seq) + ")"});
        }
      } else {
        if (seq > current->last + 1) {
          current->gaps.emplace_back(current->last + 1, seq - 1);
          out.add({problem_kind::gap, job, current->last + 1, 0,
                   where(job, current->last + 1) + " to " + std::to_string(seq - 1)
                     + " are missing"});
        }
        current->last = seq;
      }
      ++out.events;
      auto decoded = decode_event({it->value().data(), it->value().size()});
      if (!decoded) {
        out.add({problem_kind::undecodable, job, seq, 0,
                 where(job, seq) + " does not decode: " + decoded.err().message});
      } else if (decoded->env.job != job || decoded->env.seq != seq) {
        out.add({problem_kind::envelope_mismatch, job, seq, 0,
                 where(job, seq) + " holds an event of "
                   + where(decoded->env.job, decoded->env.seq)});
      }
    }
    if (!it->status().ok())
      out.add({problem_kind::checksum, current_job, current ? current->last : 0, 0,
               "reading streams after " + where(current_job, current ? current->last : 0)
                 + ": " + it->status().ToString()});
  }
  out.streams = streams.size();
  for (auto& [job, seq] : purged)
    if (!streams.contains(job))
      ++out.streams;

  {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(ro, impl_->global)};
    std::uint64_t last_position = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view key{it->key().data(), it->key().size()};
      std::string_view value{it->value().data(), it->value().size()};
      ++out.global_entries;
      if (key.size() != 8 || value.size() < 16) {
        out.add({problem_kind::malformed_key, {}, 0, 0,
                 "global entry of " + std::to_string(key.size()) + "-byte key and "
                   + std::to_string(value.size()) + "-byte value"});
        continue;
      }
      auto position = last_position = get_u64(key);
      job_id job{get_u64(value)};
      auto seq = get_u64(value, 8);
      auto decoded = decode_event(value.substr(16));
      if (!decoded)
        out.add({problem_kind::undecodable, job, seq, position,
                 "position " + std::to_string(position) + " (" + where(job, seq)
                   + ") does not decode: " + decoded.err().message});
      else if (decoded->env.job != job || decoded->env.seq != seq)
        out.add({problem_kind::envelope_mismatch, job, seq, position,
                 "position " + std::to_string(position) + " names " + where(job, seq)
                   + " but holds " + where(decoded->env.job, decoded->env.seq)});
      auto s = streams.find(job.value);
      if (s == streams.end() || !s->second.holds(seq)) {
        out.add({problem_kind::dangling_global, job, seq, position,
                 "position " + std::to_string(position) + " points to " + where(job, seq)
                   + ", which is in no stream"});
        continue;
      }
      auto& stats = s->second;
      if (seq < stats.global_next) {
        out.add({problem_kind::order_mismatch, job, seq, position,
                 "position " + std::to_string(position) + " holds " + where(job, seq)
                   + " after seq " + std::to_string(stats.global_next - 1)});
        continue;
      }
      for (auto missing = stats.global_next; missing < seq; ++missing)
        if (stats.holds(missing)) {
          out.add({problem_kind::missing_global, job, missing, position,
                   where(job, missing) + " has no global entry before position "
                     + std::to_string(position)});
          break;
        }
      stats.global_next = seq + 1;
    }
    if (!it->status().ok())
      out.add({problem_kind::checksum, {}, 0, last_position,
               "reading the global index after position " + std::to_string(last_position)
                 + ": " + it->status().ToString()});
  }
  for (auto& [job, stats] : streams)
    for (auto seq = stats.global_next; seq <= stats.last; ++seq)
      if (stats.holds(seq)) {
        out.add({problem_kind::missing_global, job_id{job}, seq, 0,
                 where(job_id{job}, seq) + " has no global entry"});
        break;
      }
  return status{};
}

} // namespace almanac::store
