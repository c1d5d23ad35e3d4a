// Pages of the admin lists (jobs, audit, runs; see admin.hpp): page sizes, the cursors that
// continue a list, and which registered jobs a page of the job list holds. Plain functions, so
// the rules are tested without actors.
#pragma once

#include "actors/registry.hpp"

#include <almanac/job_state.hpp>
#include <almanac/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace almanac {

// `limit`, or the default page size for 0. Errors: invalid_input over the largest page.
result<std::uint32_t> page_size(std::uint32_t limit);

// A cursor is a letter naming its list (j: jobs, a: audit, r: runs) and 16 hex digits of the
// position after which the next page starts. The letter keeps a cursor of one list from being
// read as a position of another.
std::string make_cursor(char kind, std::uint64_t position);

// The position in `text` (nullopt when empty: the first page). Errors: invalid_input for
// anything but a cursor of list `kind` (`list` names it in the message).
result<std::optional<std::uint64_t>> parse_cursor(char kind, const std::string& text,
                                                  const char* list);

// The ids a page of the job list may hold: live jobs after `after`, of `status` (any when
// nullopt), whose name contains `name` case-insensitively, in id order, at most `limit`;
// `more` says whether more matched.
struct job_page_ids {
  std::vector<job_id> ids;
  bool more = false;
};
job_page_ids select_jobs(const registry& reg, std::optional<std::uint64_t> after,
                         std::optional<job_status> status, const std::string& name,
                         std::uint32_t limit);

} // namespace almanac
