// What verify() found: every problem with the job id, sequence and global position it
// concerns, and counts of what was walked. Produced by a full walk of the streams and the global
// order (on RocksDB after its own checksum verification of every table file). Each backend
// reports the kinds its storage can have (docs/STORAGE.md).
#pragma once

#include <almanac/job.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace almanac::store {

enum class problem_kind : std::uint8_t {
  // RocksDB reported a checksum mismatch or unreadable file (the message names the file or key).
  checksum = 0,
  // A key or value of the wrong size.
  malformed_key,
  // A stream misses sequences (job, seq = first missing one).
  gap,
  // A stored event does not decode (job, seq from its key).
  undecodable,
  // The envelope's job id or sequence differs from the key it is stored under.
  envelope_mismatch,
  // A global entry names a (job, seq) that is not in any stream.
  dangling_global,
  // A stream event has no global entry, or two global entries name the same event.
  missing_global,
  // The global order contradicts a stream's order (a later position holds an earlier seq).
  order_mismatch,
  // The write-ahead log did not read back whole when the log was opened (a damaged record, or a
  // log that ends before its acknowledged mark): acknowledged events are missing.
  wal_damage,
  // A stored position beyond the highest the log has assigned, or a sequence beyond its stream's
  // highest: the next append would collide with it (PostgreSQL keeps these counters apart from
  // the events).
  counter_mismatch,
};

std::string_view to_string(problem_kind k) noexcept;

struct problem {
  problem_kind kind = problem_kind::checksum;
  job_id job;
  std::uint64_t seq = 0;
  // The global position concerned; 0 when the problem is in a stream.
  std::uint64_t position = 0;
  std::string message;
};

struct verify_report {
  // At most max_problems are kept; problems_total counts all of them.
  static constexpr std::size_t max_problems = 1000;
  std::vector<problem> problems;
  std::uint64_t problems_total = 0;
  std::uint64_t streams = 0;
  std::uint64_t events = 0;
  std::uint64_t global_entries = 0;
  // Streams purged by retention: their highest sequence is kept, their events are gone.
  std::uint64_t purged_streams = 0;

  bool ok() const noexcept { return problems_total == 0; }
  void add(problem p);
};

} // namespace almanac::store
