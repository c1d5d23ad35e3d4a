// Where "now" comes from. Logic never reads the system clock: the runtime is given a clock, and
// tests give it a manual one that moves only when the test says so.
#pragma once

#include <almanac/time.hpp>

#include <atomic>

namespace almanac {

class clock {
public:
  virtual ~clock() = default;
  // The current instant. Thread-safe.
  virtual instant now() const = 0;
};

// The wall clock (std::chrono::system_clock), microsecond precision.
class system_clock final : public clock {
public:
  instant now() const override {
    return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
  }
};

// A clock that moves only when told to. Thread-safe.
class manual_clock final : public clock {
public:
  explicit manual_clock(instant start) : now_(to_unix_us(start)) {}
  instant now() const override { return from_unix_us(now_.load()); }
  void set(instant t) { now_.store(to_unix_us(t)); }
  void advance(duration d) { now_.fetch_add(d.count()); }

private:
  std::atomic<std::int64_t> now_;
};

} // namespace almanac
