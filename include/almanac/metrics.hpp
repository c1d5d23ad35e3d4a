// Counters and histograms the runtime keeps for operators (the daemon renders them as
// Prometheus text at GET /metrics). Lock-free: updated from actor and executor threads.
#pragma once

#include <almanac/time.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace almanac {

// A histogram with fixed upper bounds in seconds (Prometheus "le" buckets, plus +Inf).
class histogram {
public:
  static constexpr std::array<double, 12> bounds{0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,   0.25,  0.5,   1,    5,     30};

  void observe(duration d) noexcept {
    auto seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(d.count(), std::memory_order_relaxed);
  }

  // Count of observations in bucket i (not cumulative); index bounds.size() is +Inf.
  std::uint64_t bucket(std::size_t i) const noexcept { return counts_[i].load(); }
  double sum_seconds() const noexcept { return static_cast<double>(sum_us_.load()) / 1e6; }

private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<std::int64_t> sum_us_{0};
};

struct runtime_metrics {
  std::atomic<std::uint64_t> runs_succeeded{0};
  std::atomic<std::uint64_t> runs_failed{0};
  std::atomic<std::uint64_t> runs_abandoned{0};
  std::atomic<std::uint64_t> runs_skipped{0};
  // Runs the daemon could not carry out for want of its own resources (file descriptors,
  // memory, processes): recorded RunAbandoned (so among runs_abandoned too) and retried, never
  // counted as their job's failure. Nonzero means the daemon, not a job, needs attention.
  std::atomic<std::uint64_t> runs_infra_failed{0};
  // Scheduled runs started while their job's last run was such a failure: the retries.
  std::atomic<std::uint64_t> infra_retries{0};
  // How long runs took (target start to end).
  histogram run_duration;
  // Lateness: when the run's RunStarted was recorded minus its scheduled instant (timer runs).
  histogram run_lateness;
  // Appends acknowledged by the log, and how long each took until durable (group commit and
  // fsync included).
  std::atomic<std::uint64_t> log_appends{0};
  std::atomic<std::uint64_t> log_events{0};
  std::atomic<std::uint64_t> log_append_errors{0};
  histogram append_latency;
  // Idle job actors stopped (their jobs stay, spawned again from the log when needed).
  std::atomic<std::uint64_t> actors_passivated{0};
};

} // namespace almanac
