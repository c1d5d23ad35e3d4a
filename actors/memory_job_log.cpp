#include "actors/memory_job_log.hpp"

#include "events/evolve.hpp"

namespace almanac {

void memory_job_log::append(job_id job, std::uint64_t expected_seq, std::vector<event> events,
                            append_callback done) {
  store::status result;
  std::uint64_t first = 0;
  {
    std::lock_guard guard{mtx_};
    auto& s = streams_[job];
    if (failing_ > 0) {
      --failing_;
      result = failure_;
    } else if (s.events.size() != expected_seq) {
      result = store::status::conflict("job " + to_string(job) + ": expected seq " +
                                       std::to_string(expected_seq) + ", the stream is at " +
                                       std::to_string(s.events.size()));
    } else if (events.empty()) {
      result = store::status::invalid_argument("no events to append");
    } else {
      first = position_ + 1;
      position_ += events.size();
      for (auto& e : events)
        s.events.push_back(std::move(e));
      if (committing_then_failing_ > 0) {
        --committing_then_failing_;
        result = failure_;
        first = 0;
      }
    }
  }
  done(std::move(result), first);
}

store::status memory_job_log::load(job_id job, job_state& out) const {
  std::lock_guard guard{mtx_};
  ++loads_;
  if (failing_loads_ > 0) {
    --failing_loads_;
    return load_failure_;
  }
  out = job_state{};
  out.id = job;
  auto i = streams_.find(job);
  if (i == streams_.end())
    return {};
  if (i->second.snapshot)
    out = *i->second.snapshot;
  for (auto k = out.seq; k < i->second.events.size(); ++k)
    out = evolve(std::move(out), i->second.events[k]);
  return {};
}

store::status memory_job_log::save_snapshot(job_id job, const job_state& state) {
  std::lock_guard guard{mtx_};
  streams_[job].snapshot = state;
  return {};
}

void memory_job_log::fail_appends(std::size_t n, store::status why) {
  std::lock_guard guard{mtx_};
  failing_ = n;
  failure_ = std::move(why);
}

void memory_job_log::commit_then_fail(std::size_t n, store::status why) {
  std::lock_guard guard{mtx_};
  committing_then_failing_ = n;
  failure_ = std::move(why);
}

void memory_job_log::fail_loads(std::size_t n, store::status why) {
  std::lock_guard guard{mtx_};
  failing_loads_ = n;
  load_failure_ = std::move(why);
}

std::vector<event> memory_job_log::events_of(job_id job) const {
  std::lock_guard guard{mtx_};
  auto i = streams_.find(job);
  return i == streams_.end() ? std::vector<event>{} : i->second.events;
}

std::size_t memory_job_log::loads() const {
  std::lock_guard guard{mtx_};
  return loads_;
}

} // namespace almanac
