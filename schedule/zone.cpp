#include "schedule/zone.hpp"

#include <map>
#include <mutex>
#include <string>

namespace almanac {

namespace {

// cctz also loads absolute paths and relative file names; a zone name from a user must name a
// zone under the tzdata root, nothing else.
bool plausible_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != name.npos)
    return false;
  // cctz maps "localtime" to the server's own zone: a job must not change with the host.
  if (name == "localtime")
    return false;
  for (char ch : name) {
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
              || ch == '/' || ch == '_' || ch == '-' || ch == '+';
    if (!ok)
      return false;
  }
  return true;
}

instant to_instant(cctz::time_point<cctz::seconds> t) {
  return instant{std::chrono::duration_cast<duration>(t.time_since_epoch())};
}

} // namespace

result<cctz::time_zone> load_zone(std::string_view name) {
  static std::mutex mtx;
  static std::map<std::string, cctz::time_zone, std::less<>> cache;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto i = cache.find(name); i != cache.end())
    return i->second;
  std::string key{name};
  cctz::time_zone zone;
  // load_time_zone answers false (and UTC) for an unknown name: never let that UTC through.
  if (!plausible_zone_name(name) || !cctz::load_time_zone(key, &zone))
    return fail(errc::unknown_zone, "unknown time zone '" + key + "'");
  cache.emplace(std::move(key), zone);
  return zone;
}

wall_time resolve(const cctz::time_zone& zone, const cctz::civil_second& local) {
  auto cl = zone.lookup(local);
  wall_time out;
  out.transition = to_instant(cl.trans);
  switch (cl.kind) {
    case cctz::time_zone::civil_lookup::UNIQUE:
      out.kind = wall_kind::unique;
      out.first = out.second = to_instant(cl.pre);
      break;
    case cctz::time_zone::civil_lookup::SKIPPED:
      out.kind = wall_kind::skipped;
      out.first = to_instant(cl.pre);
      out.second = to_instant(cl.post);
      break;
    case cctz::time_zone::civil_lookup::REPEATED:
      out.kind = wall_kind::repeated;
      out.first = to_instant(cl.pre);
      out.second = to_instant(cl.post);
      break;
  }
  return out;
}

} // namespace almanac
