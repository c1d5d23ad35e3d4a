#include "store/verify_report.hpp"

namespace almanac::store {

std::string_view to_string(problem_kind k) noexcept {
  switch (k) {
    case problem_kind::checksum: return "checksum";
    case problem_kind::malformed_key: return "malformed_key";
    case problem_kind::gap: return "gap";
    case problem_kind::undecodable: return "undecodable";
    case problem_kind::envelope_mismatch: return "envelope_mismatch";
    case problem_kind::dangling_global: return "dangling_global";
    case problem_kind::missing_global: return "missing_global";
    case problem_kind::order_mismatch: return "order_mismatch";
    case problem_kind::wal_damage: return "wal_damage";
    case problem_kind::counter_mismatch: return "counter_mismatch";
  }
  return "unknown";
}

void verify_report::add(problem p) {
  ++problems_total;
  if (problems.size() < max_problems)
    problems.push_back(std::move(p));
}

} // namespace almanac::store
