#include "store/wal_damage.hpp"

namespace almanac::store {

std::string wal_damage::describe() const {
  std::string out = files.empty() ? std::string{"the write-ahead log"}
                                  : "the write-ahead log " + files;
  out += " is damaged (" + reason;
  if (bytes_dropped > 0)
    out += ", " + std::to_string(bytes_dropped) + " bytes unreadable";
  out += "): the log holds positions up to " + std::to_string(kept_through);
  if (seen_up_to > kept_through)
    out += ", positions " + std::to_string(kept_through + 1) + " to "
           + std::to_string(seen_up_to) + " are lost";
  else
    out += "; acknowledged events after the damage may be lost";
  if (!backup.empty())
    out += "; the damaged files were copied to " + backup;
  return out;
}

} // namespace almanac::store
