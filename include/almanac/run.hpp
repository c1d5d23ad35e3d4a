// What a run is to the code that carries it out: its key, the context a runner or handler sees,
// and the outcome it reports. An embedding application registers handlers (scheduler.hpp); the
// daemon installs runners for exec and http targets.
#pragma once

#include <almanac/job.hpp>
#include <almanac/time.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace almanac {

// Identifies one run, so a target can be idempotent: (job, scheduled_for) names the fire, run_id
// tells attempts of it apart.
struct run_key {
  job_id job;
  instant scheduled_for{};
  std::uint64_t run_id = 0;
};

// What a runner sees of its run. `cancelled()` turns true when the run passed its timeout or the
// scheduler stops: a well-behaved runner checks it and returns.
class run_context {
public:
  run_context(run_key key, target what, std::shared_ptr<std::atomic<bool>> cancelled)
    : key(key), what(std::move(what)), cancelled_(std::move(cancelled)) {}

  run_key key;
  target what;

  bool cancelled() const noexcept { return cancelled_->load(std::memory_order_relaxed); }

private:
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

struct run_outcome {
  bool ok = true;
  std::string error;
  // The last bytes of the run's output, capped at max_output_tail.
  std::string output_tail;
  // The run could not be carried out because the daemon itself ran short (file descriptors,
  // memory, processes: EMFILE, ENFILE, ENOMEM, EAGAIN from pipe or spawn, a local socket error),
  // not because of its target. Such a run is tried again and never counts as the job's failure.
  bool infra = false;
};

// Run output kept per run: the last 4 KiB.
inline constexpr std::size_t max_output_tail = 4096;

// The last max_output_tail bytes of `text`, as valid UTF-8 (other bytes become U+FFFD), starting
// on a character.
std::string output_tail(std::string_view text);

// A runner for one kind of target. Throwing is a failed run with the exception's message.
using runner = std::function<run_outcome(const run_context&)>;

// A C++ handler registered by an embedding application. Returning normally is success;
// throwing is a failed run whose error is the exception's message.
using handler = std::function<void(const run_context&)>;

} // namespace almanac
