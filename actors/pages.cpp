#include "actors/pages.hpp"

#include <almanac/admin.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace almanac {

result<std::uint32_t> page_size(std::uint32_t limit) {
  if (limit == 0)
    return default_page_size;
  if (limit > max_page_size)
    return fail(errc::invalid_input, "limit " + std::to_string(limit) +
                                       " is over the largest page of " +
                                       std::to_string(max_page_size) +
                                       " (follow next_cursor for more)");
  return limit;
}

std::string make_cursor(char kind, std::uint64_t position) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%c%016llx", kind, static_cast<unsigned long long>(position));
  return buf;
}

result<std::optional<std::uint64_t>> parse_cursor(char kind, const std::string& text,
                                                  const char* list) {
  if (text.empty())
    return std::optional<std::uint64_t>{};
  std::uint64_t v = 0;
  const char* digits = text.data() + 1;
  const char* end = text.data() + text.size();
  bool hex = text.size() == 17 && text[0] == kind
             && std::all_of(digits, end, [](char c) {
                  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                });
  if (!hex || std::from_chars(digits, end, v, 16).ptr != end)
    return fail(errc::invalid_input, std::string{"cursor '"} + text.substr(0, 40) +
                                       "' is not a cursor of the " + list +
                                       " list (pass the next_cursor of a previous page)");
  return std::optional<std::uint64_t>{v};
}

job_page_ids select_jobs(const registry& reg, std::optional<std::uint64_t> after,
                         std::optional<job_status> status, const std::string& name,
                         std::uint32_t limit) {
  job_page_ids out;
  auto needle = lower(name);
  for (const auto& [id, e] : reg.entries())
    if ((!after || id.value > *after) && (!status || e.job.status == *status)
        && (needle.empty() || lower(e.job.name).find(needle) != std::string::npos))
      out.ids.push_back(id);
  if (out.ids.size() > limit) {
    std::nth_element(out.ids.begin(), out.ids.begin() + limit, out.ids.end());
    out.ids.resize(limit);
    out.more = true;
  }
  std::sort(out.ids.begin(), out.ids.end());
  return out;
}

} // namespace almanac
