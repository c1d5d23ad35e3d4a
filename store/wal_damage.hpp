// What an event_log found wrong with its write-ahead log when it opened: records RocksDB could
// not read (a flipped byte, a zeroed block, a bad length in the middle of a file), or a log that
// ends before the last position it had acknowledged (a cut file). Either way, acknowledged
// events may be gone. A read-write open refuses such a log unless open_options::salvage says to
// accept the loss; read-only opens with salvage read what is left and report it (verify).
#pragma once

#include <cstdint>
#include <string>

namespace almanac::store {

struct wal_damage {
  // The damaged files ("<dir>/000004.log"), comma-separated; empty for a cut detected by the
  // acknowledged mark only.
  std::string files;
  // RocksDB's words ("Corruption: checksum mismatch"), or "the log ends at position P but
  // positions up to H were acknowledged".
  std::string reason;
  // Bytes RocksDB reported it could not replay.
  std::uint64_t bytes_dropped = 0;
  // The highest global position the log still holds.
  std::uint64_t kept_through = 0;
  // The highest position acknowledged before the crash (the mark), 0 when unknown.
  std::uint64_t acknowledged_through = 0;
  // The highest position readable anywhere in the damaged files (records after the damage
  // included), or the mark when higher: positions above kept_through up to it are lost.
  std::uint64_t seen_up_to = 0;
  // Salvage only: where the damaged files were copied before anything changed.
  std::string backup;

  // One line for operators: what is damaged, what was lost, what to do.
  std::string describe() const;
};

} // namespace almanac::store
