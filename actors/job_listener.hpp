// What a job actor tells whoever keeps track of it (the supervisor), and nothing more: its
// summary after every durable change. A small interface instead of the supervisor's own type,
// so the job actor knows nothing of its parent and a test can listen directly.
#pragma once

#include "actors/job_summary.hpp"

namespace almanac {

class job_listener {
public:
  virtual ~job_listener() = default;

  // The job changed (its events are durable and applied); called on the job actor's thread.
  virtual void on_changed(const job_summary& job) = 0;
};

} // namespace almanac
