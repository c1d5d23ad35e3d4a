#include "store/detail/group_commit.hpp"

#include <chrono>

#include "store/detail/keys.hpp"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace almanac::store::detail {

status from_rocksdb(const rocksdb::Status& st, std::string_view what) {
  if (st.ok())
    return status{};
  std::string msg{what};
  msg += ": ";
  msg += st.ToString();
  if (st.IsNotFound())
    return status::not_found(std::move(msg));
  if (st.IsCorruption())
    return status::corruption(std::move(msg));
  if (st.IsNoSpace() || st.subcode() == rocksdb::Status::kNoSpace)
    return status::no_space(std::move(msg));
  if (st.IsInvalidArgument())
    return status::invalid_argument(std::move(msg));
  if (st.IsShutdownInProgress())
    return status::unavailable(std::move(msg));
  return status::io_error(std::move(msg));
}

status read_highest_seq(rocksdb::DB* db, const column_families& cfs, job_id job,
                        std::uint64_t& out) {
  std::uint64_t highest = 0;
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  auto lower = stream_key(job, 0);
  rocksdb::Slice lower_slice{lower};
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(ro, cfs.streams)};
  it->SeekForPrev(stream_key(job, max_seq));
  if (it->Valid()) {
    auto key = it->key();
    if (key.size() == 16 && get_u64({key.data(), key.size()}) == job.value)
      highest = get_u64({key.data(), key.size()}, 8);
  }
  if (auto st = from_rocksdb(it->status(), "reading the highest seq of job " + to_string(job));
      !st)
    return st;
  std::string purged;
  auto st = db->Get({}, cfs.meta, meta_job_key(meta_purged_prefix, job), &purged);
  if (st.ok() && purged.size() == 8)
    highest = std::max(highest, get_u64(purged));
  else if (!st.ok() && !st.IsNotFound())
    return from_rocksdb(st, "reading the purge record of job " + to_string(job));
  out = highest;
  return status{};
}

status read_highest_position(rocksdb::DB* db, const column_families& cfs, std::uint64_t& out) {
  std::uint64_t highest = 0;
  std::unique_ptr<rocksdb::Iterator> it{db->NewIterator({}, cfs.global)};
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 8)
    highest = get_u64({it->key().data(), 8});
  if (auto st = from_rocksdb(it->status(), "reading the highest position"); !st)
    return st;
  std::string kept;
  auto st = db->Get({}, cfs.meta, meta_highest_position, &kept);
  if (st.ok() && kept.size() == 8)
    highest = std::max(highest, get_u64(kept));
  else if (!st.ok() && !st.IsNotFound())
    return from_rocksdb(st, "reading meta highest_position");
  out = highest;
  return status{};
}

group_commit::group_commit(write_gate& gate, column_families cfs, durability sync,
                           std::size_t max_queued, std::size_t max_group,
                           std::uint64_t highest_position)
  : db_(gate.db()),
    gate_(gate),
    cfs_(cfs),
    max_queued_(max_queued == 0 ? 1 : max_queued),
    max_group_(max_group == 0 ? 1 : max_group),
    highest_position_(highest_position),
    durable_position_(highest_position) {
  write_options_.sync = sync == durability::sync;
  thread_ = std::thread{[this] { run(); }};
}

group_commit::~group_commit() {
  stop();
}

void group_commit::await_room(std::unique_lock<std::mutex>& lock, std::size_t events) {
  // An append larger than the whole queue still goes through once the queue is empty.
  auto room = [&] {
    return stopping_ || queued_events_ == 0 || queued_events_ + events <= max_queued_;
  };
  if (room())
    return;
  ++waiting_;
  not_full_.wait(lock, room);
  --waiting_;
}

void group_commit::wait_for_room(std::size_t events) {
  std::unique_lock lock{mtx_};
  await_room(lock, events);
}

std::uint64_t group_commit::queued_events() const {
  std::lock_guard lock{mtx_};
  return queued_events_;
}

std::uint64_t group_commit::appends_waiting() const {
  std::lock_guard lock{mtx_};
  return waiting_;
}

bool group_commit::submit(pending_append&& p, bool wait_for_room) {
  std::unique_lock lock{mtx_};
  if (wait_for_room)
    await_room(lock, p.encoded.size());
  if (stopping_)
    return false;
  queued_events_ += p.encoded.size();
  queue_.push_back(std::move(p));
  lock.unlock();
  not_empty_.notify_one();
  return true;
}

void group_commit::stop() {
  {
    std::lock_guard lock{mtx_};
    stopping_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void group_commit::run() {
  std::vector<pending_append> group;
  for (;;) {
    {
      std::unique_lock lock{mtx_};
      not_empty_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and everything queued has been written
      std::size_t events = 0;
      while (!queue_.empty()
             && (group.empty() || events + queue_.front().encoded.size() <= max_group_)) {
        events += queue_.front().encoded.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_events_ -= events;
    }
    not_full_.notify_all();
    commit(group);
    group.clear();
  }
}

status group_commit::highest_seq(job_id job, std::uint64_t& out) {
  if (auto i = highest_seq_.find(job); i != highest_seq_.end()) {
    out = i->second;
    return status{};
  }
  // First append to this stream since open.
  std::uint64_t highest = 0;
  if (auto st = read_highest_seq(db_, cfs_, job, highest); !st)
    return st;
  highest_seq_.emplace(job, highest);
  out = highest;
  return status{};
}

void group_commit::commit(std::vector<pending_append>& group) {
  rocksdb::WriteBatch batch;
  std::vector<status> results(group.size());
  std::vector<std::uint64_t> first_positions(group.size(), 0);
  // Sequences as of this group, applied to the cache only once the batch is durable.
  std::unordered_map<job_id, std::uint64_t> tentative;
  auto position = highest_position_;
  bool any = false;
  std::string global_value;
  for (std::size_t i = 0; i < group.size(); ++i) {
    auto& p = group[i];
    if (!p.refused) {
      results[i] = std::move(p.refused);
      continue;
    }
    std::uint64_t current = 0;
    if (auto t = tentative.find(p.job); t != tentative.end()) {
      current = t->second;
    } else if (auto st = highest_seq(p.job, current); !st) {
      results[i] = std::move(st);
      continue;
    }
    if (p.expected_seq != current) {
      results[i] = status::conflict("job " + to_string(p.job) + ": expected seq "
                                    + std::to_string(p.expected_seq) + " but the stream is at "
                                    + std::to_string(current));
      continue;
    }
    first_positions[i] = position + 1;
    auto seq = p.expected_seq;
    for (auto& bytes : p.encoded) {
      ++seq;
      ++position;
      auto key = stream_key(p.job, seq);
      global_value.clear();
      global_value.reserve(16 + bytes.size());
      global_value.append(key);
      global_value.append(bytes);
      batch.Put(cfs_.streams, key, bytes);
      batch.Put(cfs_.global, u64_key(position), global_value);
    }
    if (p.deleted_at) {
      std::string at;
      put_u64(at, static_cast<std::uint64_t>(to_unix_us(*p.deleted_at)));
      batch.Put(cfs_.meta, meta_job_key(meta_deleted_prefix, p.job), at);
    }
    tentative[p.job] = seq;
    any = true;
  }
  if (any) {
    // Kept in meta so the highest position survives a purge of the last events.
    batch.Put(cfs_.meta, meta_highest_position, u64_key(position));
    auto started = std::chrono::steady_clock::now();
    auto st = gate_.write(write_options_, &batch,
                          "appending a group of " + std::to_string(group.size()) + " appends");
    writes_.fetch_add(1, std::memory_order_relaxed);
    write_us_.fetch_add(static_cast<std::uint64_t>(
                          std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count()),
                        std::memory_order_relaxed);
    if (st) {
      highest_position_ = position;
      durable_position_.store(position, std::memory_order_release);
      for (auto& [job, seq] : tentative)
        highest_seq_[job] = seq;
    } else {
      for (std::size_t i = 0; i < group.size(); ++i)
        if (results[i].is_ok())
          results[i] = st;
    }
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    auto first = results[i].is_ok() ? first_positions[i] : 0;
    if (group[i].done)
      group[i].done(std::move(results[i]), first);
  }
}

} // namespace almanac::store::detail
