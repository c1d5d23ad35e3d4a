#include "actors/job_log.hpp"

#include "store/journal.hpp"

namespace almanac {

void journal_job_log::append(job_id job, std::uint64_t expected_seq, std::vector<event> events,
                             append_callback done) {
  log_.append_async(job, expected_seq, std::move(events), std::move(done));
}

store::status journal_job_log::load(job_id job, job_state& out) const {
  return log_.load_job(job, out);
}

store::status journal_job_log::save_snapshot(job_id job, const job_state& state) {
  return log_.save_snapshot(job, state);
}

} // namespace almanac
