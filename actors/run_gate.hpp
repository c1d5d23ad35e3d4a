// The run gate: which runs may start now. Runs in flight hold slots of the global concurrency
// limit, and a job of a concurrency group holds the group while it has any run in flight (or a
// run being started: a reserved slot). A run that may not start yet waits in one FIFO queue; a
// run held back by its group lets the runs behind it go. Plain data, no actors: the supervisor
// reports loads and asks what to start.
#pragma once

#include <almanac/job.hpp>

#include <almanac/time.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace almanac {

// A run someone wants started: a timer's due, or a run-now (`manual`).
struct wanted_run {
  job_id job;
  bool manual = false;
  instant scheduled_for{};
  std::string actor;
  std::string note;
  // The caller's handle for whoever waits for the answer (0: nobody).
  std::uint64_t ticket = 0;
};

class run_gate {
public:
  // `limit`: the most runs in flight at once, reserved slots included.
  explicit run_gate(std::uint32_t limit = UINT32_MAX) : limit_(limit) {}

  // The job's runs in flight and its group, as its latest summary says.
  void set_load(job_id job, const std::string& group, std::uint32_t runs);
  // The job is gone: its slots and group are free, and its waiting runs are dropped by drain.
  void forget(job_id job);

  // Holds a slot (and the group) for a run being started, until release.
  void reserve(job_id job);
  void release(job_id job);

  // Whether the job may start a run now: a free slot, its group free, and not stopping.
  bool can_start(job_id job) const;

  // The job's claim: runs in flight plus its reserved slot.
  std::uint32_t load(job_id job) const;
  bool reserved(job_id job) const;

  // Starts `w` at once (reserving its slot: returned) when it may start and nobody waits
  // before it; queues it otherwise (nullopt).
  std::optional<wanted_run> want(wanted_run w);

  struct drained {
    // May start now; their slots are reserved.
    std::vector<wanted_run> start;
    // Their job is gone.
    std::vector<wanted_run> gone;
  };
  // Takes from the queue, in order, every run that may start now, and those of gone jobs.
  drained drain();

  // Refuses every new start from now on and returns the queue (emptied).
  std::vector<wanted_run> stop();
  bool stopping() const noexcept { return stopping_; }

  std::uint32_t slots_used() const noexcept { return slots_used_; }
  std::size_t waiting() const noexcept { return waiting_.size(); }
  bool group_busy(const std::string& group) const { return groups_busy_.count(group) > 0; }

private:
  struct job_load {
    std::string group;
    std::uint32_t runs = 0;
    bool reserved = false;
    std::uint32_t total() const { return runs + (reserved ? 1 : 0); }
  };
  template <class F>
  void change(job_id job, F&& f);

  std::uint32_t limit_;
  bool stopping_ = false;
  std::uint32_t slots_used_ = 0;
  std::unordered_map<job_id, job_load> loads_;
  std::unordered_map<std::string, std::uint32_t> groups_busy_;
  std::deque<wanted_run> waiting_;
};

} // namespace almanac
