// The supervisor's one timer structure: every job's next wake-up, ordered, so that a single
// pending wake-up (for the earliest) serves all jobs. No per-job timer objects: at a million jobs
// this costs one ordered-set node and one hash entry per armed job.
#pragma once

#include <almanac/job.hpp>

#include <almanac/time.hpp>

#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace almanac {

class timer_queue {
public:
  // Arms `job` at `at`, replacing its earlier wake-up; nullopt disarms it.
  void set(job_id job, std::optional<instant> at);

  // The earliest armed wake-up.
  std::optional<instant> earliest() const;

  // Removes and returns the jobs due at or before `now`, earliest first, at most `max`.
  std::vector<std::pair<job_id, instant>> pop_due(instant now, std::size_t max = SIZE_MAX);

  std::optional<instant> armed(job_id job) const;
  std::size_t size() const noexcept { return by_job_.size(); }

private:
  std::set<std::pair<instant, job_id>> by_time_;
  std::unordered_map<job_id, instant> by_job_;
};

} // namespace almanac
