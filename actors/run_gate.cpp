#include "actors/run_gate.hpp"

#include <utility>

namespace almanac {

template <class F>
void run_gate::change(job_id job, F&& f) {
  auto& l = loads_[job];
  auto before = l.total();
  auto old_group = l.group;
  f(l);
  auto after = l.total();
  slots_used_ = slots_used_ - before + after;
  if (!old_group.empty() && before > 0 && --groups_busy_[old_group] == 0)
    groups_busy_.erase(old_group);
  if (!l.group.empty() && after > 0)
    ++groups_busy_[l.group];
}

void run_gate::set_load(job_id job, const std::string& group, std::uint32_t runs) {
  change(job, [&](job_load& l) {
    l.group = group;
    l.runs = runs;
  });
}

void run_gate::forget(job_id job) {
  if (!loads_.count(job))
    return;
  change(job, [](job_load& l) {
    l.runs = 0;
    l.reserved = false;
  });
  loads_.erase(job);
}

void run_gate::reserve(job_id job) {
  change(job, [](job_load& l) { l.reserved = true; });
}

void run_gate::release(job_id job) {
  if (loads_.count(job))
    change(job, [](job_load& l) { l.reserved = false; });
}

bool run_gate::can_start(job_id job) const {
  if (stopping_ || slots_used_ >= limit_)
    return false;
  auto i = loads_.find(job);
  return i != loads_.end() && (i->second.group.empty() || !group_busy(i->second.group));
}

std::uint32_t run_gate::load(job_id job) const {
  auto i = loads_.find(job);
  return i == loads_.end() ? 0 : i->second.total();
}

bool run_gate::reserved(job_id job) const {
  auto i = loads_.find(job);
  return i != loads_.end() && i->second.reserved;
}

std::optional<wanted_run> run_gate::want(wanted_run w) {
  if (waiting_.empty() && can_start(w.job)) {
    reserve(w.job);
    return w;
  }
  waiting_.push_back(std::move(w));
  return std::nullopt;
}

run_gate::drained run_gate::drain() {
  drained out;
  for (auto i = waiting_.begin(); i != waiting_.end();) {
    if (stopping_ || slots_used_ >= limit_)
      break;
    if (!loads_.count(i->job)) {
      out.gone.push_back(std::move(*i));
      i = waiting_.erase(i);
      continue;
    }
    if (!can_start(i->job)) {
      ++i;
      continue;
    }
    reserve(i->job);
    out.start.push_back(std::move(*i));
    i = waiting_.erase(i);
  }
  return out;
}

std::vector<wanted_run> run_gate::stop() {
  stopping_ = true;
  std::vector<wanted_run> out{std::make_move_iterator(waiting_.begin()),
                              std::make_move_iterator(waiting_.end())};
  waiting_.clear();
  return out;
}

} // namespace almanac
