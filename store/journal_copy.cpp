#include "store/journal_copy.hpp"

#include "events/codec.hpp"

#include <condition_variable>
#include <mutex>
#include <unordered_map>

namespace almanac::store {

namespace {

// The appends in flight: the reader waits for room, the destination's writer frees it.
class window {
public:
  explicit window(std::size_t limit) : limit_(limit) {}

  // Waits until `n` more events fit (or nothing is in flight: one large append still goes).
  void acquire(std::size_t n) {
    std::unique_lock lock{mtx_};
    room_.wait(lock, [&] { return in_flight_ == 0 || in_flight_ + n <= limit_; });
    in_flight_ += n;
  }

  // Runs on the destination's writer thread: brief, never blocks. Notifies under the lock: once
  // the last release unlocks, drain() may return and the window be destroyed, so nothing here
  // may touch it after that.
  void release(std::size_t n, status st) {
    std::lock_guard lock{mtx_};
    in_flight_ -= n;
    if (!st && first_error_.ok())
      first_error_ = std::move(st);
    room_.notify_all();
  }

  void drain() {
    std::unique_lock lock{mtx_};
    room_.wait(lock, [&] { return in_flight_ == 0; });
  }

  status first_error() const {
    std::lock_guard lock{mtx_};
    return first_error_;
  }

private:
  std::size_t limit_;
  mutable std::mutex mtx_;
  std::condition_variable room_;
  std::size_t in_flight_ = 0;
  status first_error_;
};

// One event of a global walk, as compare_journals lines them up.
struct walked {
  job_id job;
  std::uint64_t seq = 0;
  std::uint64_t position = 0;
  std::string bytes;
};

// Up to `n` events from `from_position` on; `next` receives the position to go on from.
status walk_chunk(const journal& log, std::uint64_t from_position, std::size_t n,
                  std::vector<walked>& out, std::uint64_t& next) {
  out.clear();
  next = from_position;
  return log.read_all(from_position, [&](std::uint64_t position, const event& e) {
    out.push_back({e.env.job, e.env.seq, position, encode_event(e)});
    next = position + 1;
    return out.size() < n;
  });
}

} // namespace

status copy_journal(const journal& from, journal& to, const journal_copy_options& opts,
                    journal_copy_result& out) {
  out = {};
  window inflight{opts.window_events};
  // Each job's highest sequence copied so far: the next event of the job must follow it.
  std::unordered_map<job_id, std::uint64_t> highest;
  std::vector<event> batch;
  status refused;
  // Appends are submitted in the source's global order. Both writers take their queue in order
  // and give positions in that order (event_log's group_commit and pg_log's writer each pop a
  // deque front to back into one group and number the group's events in queue order; a group
  // commits before the next is taken), so the destination's global order is the source's.
  auto submit = [&] {
    if (batch.empty())
      return;
    auto n = batch.size();
    auto job = batch.front().env.job;
    auto expected = batch.front().env.seq - 1;
    inflight.acquire(n);
    to.append_async(job, expected, std::move(batch), [&inflight, n](status st, std::uint64_t) {
      inflight.release(n, std::move(st));
    });
    batch = {};
  };
  auto read = from.read_all(1, [&](std::uint64_t position, const event& e) {
    auto& last = highest[e.env.job];
    if (e.env.seq != last + 1) {
      refused = status::invalid_argument(
        "job " + to_string(e.env.job) + ": at position " + std::to_string(position) + " seq "
        + std::to_string(e.env.seq) + " follows seq " + std::to_string(last)
        + " in the global order (its earlier events were purged, or the source is damaged: "
          "run verify); another log cannot hold that stream");
      return false;
    }
    last = e.env.seq;
    if (!batch.empty()
        && (batch.front().env.job != e.env.job || batch.size() >= opts.max_append_events))
      submit();
    batch.push_back(e);
    ++out.events;
    if (opts.on_event)
      opts.on_event(out.events);
    // A failed append stops the reading: nothing more is submitted after it.
    return inflight.first_error().ok();
  });
  if (read.ok() && refused.ok() && inflight.first_error().ok())
    submit();
  inflight.drain();
  out.streams = highest.size();
  if (!read.ok())
    return read;
  if (!refused.ok())
    return refused;
  return inflight.first_error();
}

status compare_journals(const journal& a, const journal& b, std::vector<std::string>& differences,
                        std::size_t max_differences) {
  auto differ = [&](std::string line) {
    if (differences.size() < max_differences)
      differences.push_back(std::move(line));
  };
  // The streams: one entry per job, so this is bounded by the number of jobs, not events.
  auto list = [](const journal& log, std::vector<std::pair<job_id, std::uint64_t>>& out) {
    return log.for_each_stream([&](const stream_info& s) {
      if (!s.purged)
        out.emplace_back(s.job, s.highest_seq);
      return true;
    });
  };
  std::vector<std::pair<job_id, std::uint64_t>> sa, sb;
  if (auto st = list(a, sa); !st)
    return st;
  if (auto st = list(b, sb); !st)
    return st;
  std::size_t i = 0, k = 0;
  while (i < sa.size() || k < sb.size()) {
    if (k == sb.size() || (i < sa.size() && sa[i].first.value < sb[k].first.value)) {
      differ("job " + to_string(sa[i].first) + " (highest seq " + std::to_string(sa[i].second)
             + ") is only in the source");
      ++i;
    } else if (i == sa.size() || sb[k].first.value < sa[i].first.value) {
      differ("job " + to_string(sb[k].first) + " (highest seq " + std::to_string(sb[k].second)
             + ") is only in the copy");
      ++k;
    } else {
      if (sa[i].second != sb[k].second)
        differ("job " + to_string(sa[i].first) + ": highest seq " + std::to_string(sa[i].second)
               + " in the source, " + std::to_string(sb[k].second) + " in the copy");
      ++i;
      ++k;
    }
  }
  // The global orders side by side, a chunk of each at a time.
  constexpr std::size_t chunk = 4096;
  std::vector<walked> ca, cb;
  std::uint64_t next_a = 1, next_b = 1, index = 0;
  for (;;) {
    if (auto st = walk_chunk(a, next_a, chunk, ca, next_a); !st)
      return st;
    if (auto st = walk_chunk(b, next_b, chunk, cb, next_b); !st)
      return st;
    auto n = std::min(ca.size(), cb.size());
    for (std::size_t j = 0; j < n; ++j, ++index) {
      auto& x = ca[j];
      auto& y = cb[j];
      auto at = "event " + std::to_string(index + 1) + " of the global order (source position "
                + std::to_string(x.position) + ", copy position " + std::to_string(y.position)
                + "): ";
      if (x.job != y.job || x.seq != y.seq)
        differ(at + "job " + to_string(x.job) + " seq " + std::to_string(x.seq)
               + " in the source, job " + to_string(y.job) + " seq " + std::to_string(y.seq)
               + " in the copy");
      else if (x.bytes != y.bytes)
        differ(at + "job " + to_string(x.job) + " seq " + std::to_string(x.seq)
               + ": the event's bytes differ");
    }
    if (ca.size() != cb.size()) {
      differ("the global order of the " + std::string{ca.size() < cb.size() ? "source" : "copy"}
             + " ends after " + std::to_string(index) + " events; the other goes on");
      return status{};
    }
    if (ca.size() < chunk)
      return status{};
  }
}

} // namespace almanac::store
