// Copying a whole log from one journal to another (RocksDB to PostgreSQL, back, or the same kind
// elsewhere), and the comparison that proves the copy equal. Written once over the journal
// contract, so it holds for any pair of backends. What `almanac-replay copy` runs;
// docs/STORAGE.md ("Moving between backends") says what is copied and what is rebuilt.
//
// Copied: every event of every stream, with its sequence, recorded_at and every field, in the
// source's global order. Not copied: snapshots (recovery replays the streams without them) and
// projections (the daemon's projector rebuilds them from position 1 when they have no
// checkpoint). Streams purged by retention have no events left: they are not in the copy.
#pragma once

#include "store/journal.hpp"
#include "store/status.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace almanac::store {

struct journal_copy_options {
  // Events submitted and not yet durable in the destination, at most: what bounds the copy's
  // memory (the source is read as a stream). Default: 8192.
  std::size_t window_events = 8192;
  // Consecutive events of one job (in the global order) go in one append, up to this many.
  // Default: 512.
  std::size_t max_append_events = 512;
  // Called after each event read, with the number read so far (a progress line). Optional.
  std::function<void(std::uint64_t)> on_event;
};

struct journal_copy_result {
  std::uint64_t streams = 0;
  std::uint64_t events = 0;
};

// Appends every event of `from`, in its global order, to `to`, which must be empty (the caller
// checks). Each append is submitted in global order and both backends' writers commit their
// queue in order, so the destination's global order is the source's. Errors: the first failed
// read or append (nothing more is submitted after it, and the appends in flight are waited for:
// `to` then holds a partial copy, not necessarily a prefix), or invalid_argument naming a job whose events in the global order
// do not run 1, 2, 3, ... (a stream whose start was purged cannot be appended elsewhere).
status copy_journal(const journal& from, journal& to, const journal_copy_options& opts,
                    journal_copy_result& out);

// Compares `a` (the source) with `b` (the copy) as copy_journal makes them equal: the same streams with the same highest
// sequence (streams purged with no events left are skipped in both), and the same global order
// as a sequence of (job, seq) with equal event bytes (each event encoded by this build). Each
// difference is one line in `differences`, at most `max_differences` of them. Memory stays
// bounded: the global orders are walked side by side in chunks. Errors: a failed read.
status compare_journals(const journal& a, const journal& b, std::vector<std::string>& differences,
                        std::size_t max_differences = 20);

} // namespace almanac::store
