#include "actors/timer_queue.hpp"

namespace almanac {

void timer_queue::set(job_id job, std::optional<instant> at) {
  auto i = by_job_.find(job);
  if (i != by_job_.end()) {
    if (at && i->second == *at)
      return;
    by_time_.erase({i->second, job});
    if (!at) {
      by_job_.erase(i);
      return;
    }
    i->second = *at;
  } else if (!at) {
    return;
  } else {
    by_job_.emplace(job, *at);
  }
  by_time_.emplace(*at, job);
}

std::optional<instant> timer_queue::earliest() const {
  if (by_time_.empty())
    return std::nullopt;
  return by_time_.begin()->first;
}

std::vector<std::pair<job_id, instant>> timer_queue::pop_due(instant now, std::size_t max) {
  std::vector<std::pair<job_id, instant>> due;
  while (!by_time_.empty() && due.size() < max && by_time_.begin()->first <= now) {
    auto [at, job] = *by_time_.begin();
    by_time_.erase(by_time_.begin());
    by_job_.erase(job);
    due.emplace_back(job, at);
  }
  return due;
}

std::optional<instant> timer_queue::armed(job_id job) const {
  auto i = by_job_.find(job);
  if (i == by_job_.end())
    return std::nullopt;
  return i->second;
}

} // namespace almanac
