#include "store/journal.hpp"

#include "events/codec.hpp"
#include "events/evolve.hpp"

#include <future>
#include <utility>

namespace almanac::store {

void check_snapshot(job_id job, std::uint64_t seq, std::string_view bytes, loaded_snapshot& out) {
  auto where = "snapshot of job " + to_string(job) + " at seq " + std::to_string(seq);
  auto decoded = decode_state(bytes);
  if (!decoded) {
    out.warning = where + " does not decode: " + decoded.err().message;
    return;
  }
  if (decoded->id != job || decoded->seq != seq) {
    out.warning =
      where + " holds job " + to_string(decoded->id) + " seq " + std::to_string(decoded->seq);
    return;
  }
  out.state = std::move(*decoded);
}

status check_snapshot_to_save(const journal& log, job_id job, const job_state& state) {
  if (state.id != job)
    return status::invalid_argument("snapshot of job " + to_string(job) + " holds the state of job "
                                    + to_string(state.id));
  if (state.seq == 0)
    return status::invalid_argument("snapshot of job " + to_string(job) + " at seq 0");
  std::uint64_t highest = 0;
  if (auto st = log.highest_seq(job, highest); !st)
    return st;
  if (state.seq > highest)
    return status::invalid_argument("snapshot of job " + to_string(job) + " at seq "
                                    + std::to_string(state.seq) + " but the stream is at "
                                    + std::to_string(highest));
  return status{};
}

void journal::wait_for_room(std::size_t) {}

status journal::append(job_id job, std::uint64_t expected_seq, const std::vector<event>& events,
                       std::uint64_t* first_position) {
  wait_for_room(events.size());
  std::promise<std::pair<status, std::uint64_t>> promise;
  auto future = promise.get_future();
  append_async(job, expected_seq, events, [&promise](status st, std::uint64_t first) {
    promise.set_value({std::move(st), first});
  });
  auto [st, first] = future.get();
  if (st && first_position)
    *first_position = first;
  return std::move(st);
}

status journal::load_job(job_id job, job_state& out, std::string* warning) const {
  loaded_snapshot snap;
  if (auto st = load_latest_snapshot(job, snap); !st)
    return st;
  if (warning)
    *warning = snap.warning;
  job_state state;
  if (snap.state)
    state = std::move(*snap.state);
  else
    state.id = job;
  auto st = scan_stream(job, state.seq + 1, max_seq, [&](const event& e) {
    state = evolve(std::move(state), e);
    return true;
  });
  if (!st)
    return st;
  out = std::move(state);
  return status{};
}

} // namespace almanac::store
