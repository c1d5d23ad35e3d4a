#include "projections/job_states.hpp"

#include "events/evolve.hpp"

namespace almanac {

job_state fold(job_state s, const event& e) {
  if (s.seq == 0)
    s.id = e.env.job;
  return evolve(std::move(s), e);
}

} // namespace almanac
