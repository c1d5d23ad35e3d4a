// Writes to projections (read models derived from the global order, such as the audit trail and
// run history of the actors layer), gathered so that they land atomically together with each
// projection's checkpoint: after a crash a projection is exactly as of its checkpoint, and its
// builder resumes read_all() from checkpoint + 1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace almanac::store {

// A projection name is 1..200 bytes; keys and values are arbitrary bytes. Keys sort bytewise, so
// a key built from big-endian integers scans in numeric order.
inline constexpr std::size_t max_projection_name = 200;

class projection_batch {
public:
  struct op {
    enum class kind : std::uint8_t { put, erase, checkpoint } what = kind::put;
    std::string projection;
    std::string key;
    std::string value;
    std::uint64_t position = 0;
  };

  void put(std::string_view projection, std::string_view key, std::string_view value);
  void erase(std::string_view projection, std::string_view key);
  // The global position this projection has consumed up to, written with the entries.
  void checkpoint(std::string_view projection, std::uint64_t position);

  bool empty() const noexcept { return ops_.empty(); }
  std::size_t size() const noexcept { return ops_.size(); }
  const std::vector<op>& ops() const noexcept { return ops_; }
  void clear() { ops_.clear(); }

private:
  std::vector<op> ops_;
};

enum class scan_direction : std::uint8_t { forward = 0, backward = 1 };

// One scan of a projection: entries whose key starts with `prefix`, starting at `from` (forward:
// the first key >= from; backward: the last key <= from; empty: the first or last of the prefix),
// at most `limit` of them.
struct projection_scan {
  std::string prefix;
  std::string from;
  scan_direction direction = scan_direction::forward;
  std::size_t limit = 100;
};

struct projection_row {
  std::string key;
  std::string value;
};

} // namespace almanac::store
