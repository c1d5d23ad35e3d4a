// The byte layout of every key and value the store writes. Fixed here, never derived from C++
// types, so the on-disk format changes only when this file does (and format_version with it).
//   streams     job id (8, big-endian) | seq (8, BE)      -> encode_event(event)
//   global      position (8, BE)                          -> job id (8, BE) | seq (8, BE) | event bytes
//   snapshots   job id (8, BE) | seq (8, BE)              -> encode_state(state)
//   projections name length (1) | name | key              -> value
//   checkpoints name                                      -> position (8, BE)
//   meta        "format_version" -> u32 BE, "created_by" -> text, "highest_position" -> u64 BE,
//               "deleted/" job id -> deletion instant (unix us, 8 BE),
//               "purged/" job id -> highest seq of the purged stream (8 BE)
// Big-endian integers keep numeric order under RocksDB's bytewise comparator.
#pragma once

#include <almanac/job.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace almanac::store::detail {

// The on-disk format written by this build; opening a directory with a higher one is refused.
inline constexpr std::uint32_t format_version = 1;
inline constexpr std::string_view created_by = "almanac 0.1.0";

inline constexpr std::string_view cf_streams = "streams";
inline constexpr std::string_view cf_global = "global";
inline constexpr std::string_view cf_snapshots = "snapshots";
inline constexpr std::string_view cf_projections = "projections";
inline constexpr std::string_view cf_checkpoints = "checkpoints";
inline constexpr std::string_view cf_meta = "meta";

inline constexpr std::string_view meta_format_version = "format_version";
inline constexpr std::string_view meta_created_by = "created_by";
inline constexpr std::string_view meta_highest_position = "highest_position";
inline constexpr std::string_view meta_deleted_prefix = "deleted/";
inline constexpr std::string_view meta_purged_prefix = "purged/";

void put_u64(std::string& out, std::uint64_t v);
void put_u32(std::string& out, std::uint32_t v);
// Reads 8 (4) big-endian bytes at `at`; the caller checks the size.
std::uint64_t get_u64(std::string_view in, std::size_t at = 0);
std::uint32_t get_u32(std::string_view in, std::size_t at = 0);

std::string u64_key(std::uint64_t v);
// job id | seq: a stream or snapshot key.
std::string stream_key(job_id job, std::uint64_t seq);
// The first key after every key starting with `prefix`; empty when there is none (all 0xff).
std::string prefix_successor(std::string_view prefix);

std::string projection_prefix(std::string_view name);
std::string projection_key(std::string_view name, std::string_view key);

std::string meta_job_key(std::string_view prefix, job_id job);

} // namespace almanac::store::detail
