#include "store/postgres/detail/pg_schema.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace almanac::store::detail {

namespace {

// migrations[v - 1] takes the schema from version v - 1 to v. Never edit a shipped entry: a
// database that ran it would not run the new text; add a version instead.
const std::vector<std::vector<std::string_view>>& migrations() {
  static const std::vector<std::vector<std::string_view>> all{
    // 1: streams, events with their global position, the position counter, snapshots.
    {
      // Job ids are unsigned 64-bit values stored bit for bit in a bigint.
      "CREATE TABLE almanac_events ("
      "  job bigint NOT NULL,"
      "  seq bigint NOT NULL,"
      "  position bigint NOT NULL,"
      "  type integer NOT NULL,"
      "  recorded_at timestamptz NOT NULL,"
      "  payload bytea NOT NULL,"
      "  PRIMARY KEY (job, seq),"
      "  UNIQUE (position))",
      "CREATE TABLE almanac_streams ("
      "  job bigint PRIMARY KEY,"
      "  highest_seq bigint NOT NULL,"
      "  deleted_at timestamptz)",
      // One row: the highest position assigned. Appends lock it until they commit (pg_log.hpp).
      "CREATE TABLE almanac_position ("
      "  id boolean PRIMARY KEY DEFAULT true CHECK (id),"
      "  highest bigint NOT NULL)",
      "INSERT INTO almanac_position (id, highest) VALUES (true, 0)",
      "CREATE TABLE almanac_snapshots ("
      "  job bigint PRIMARY KEY,"
      "  seq bigint NOT NULL,"
      "  state bytea NOT NULL,"
      "  saved_at timestamptz NOT NULL DEFAULT now())",
    },
    // 2: projections and their checkpoints; streams remember that retention purged them.
    {
      // Names and keys are bytes: bytea compares as unsigned bytes (memcmp, then length), the
      // order scan_projection promises.
      "CREATE TABLE almanac_projections ("
      "  name bytea NOT NULL,"
      "  key bytea NOT NULL,"
      "  value bytea NOT NULL,"
      "  PRIMARY KEY (name, key))",
      "CREATE TABLE almanac_checkpoints ("
      "  name bytea PRIMARY KEY,"
      "  position bigint NOT NULL)",
      // The highest seq when retention purged the stream: it is purged while nothing was
      // appended since, and verify() expects its events to start after it.
      "ALTER TABLE almanac_streams ADD COLUMN purged_seq bigint",
    },
  };
  return all;
}

// Any constant shared by every Almanac build: it only serializes concurrent opens.
constexpr std::int64_t schema_lock_key = 0x616c6d616e6163; // "almanac"

status newer(const pg_connection& conn, int current, int target) {
  return status::newer_format("PostgreSQL (" + conn.describe() + ") holds Almanac schema version "
                              + std::to_string(current) + "; this build reads up to "
                              + std::to_string(target) + ": upgrade Almanac");
}

status run(pg_connection& conn, int target) {
  if (auto st = conn.exec("SELECT pg_advisory_xact_lock($1)", pg_params{}.add_i64(schema_lock_key));
      !st)
    return st;
  if (auto st = conn.exec("CREATE TABLE IF NOT EXISTS almanac_schema_version ("
                          "  version integer NOT NULL,"
                          "  migrated_at timestamptz NOT NULL DEFAULT now())");
      !st)
    return st;
  pg_rows rows;
  if (auto st = conn.exec("SELECT coalesce(max(version), 0) FROM almanac_schema_version", &rows);
      !st)
    return st;
  int current = rows.size() == 1 ? rows.i32(0, 0) : 0;
  if (current > target)
    return newer(conn, current, target);
  auto& steps = migrations();
  for (int v = current + 1; v <= target; ++v) {
    for (auto sql : steps[static_cast<std::size_t>(v - 1)])
      if (auto st = conn.exec(sql); !st)
        return st;
    if (auto st = conn.exec("INSERT INTO almanac_schema_version (version) VALUES ($1::integer)",
                            pg_params{}.add_i32(v));
        !st)
      return st;
  }
  return status{};
}

} // namespace

status migrate_schema(pg_connection& conn, int target) {
  if (auto st = conn.exec("BEGIN"); !st)
    return st;
  auto st = run(conn, target);
  if (!st) {
    if (!conn.lost())
      static_cast<void>(conn.exec("ROLLBACK"));
    return st;
  }
  return conn.exec("COMMIT");
}

status check_schema(pg_connection& conn, int target) {
  // to_regclass is NULL for a missing table where a plain SELECT would fail: the two cases need
  // different answers, and the session may be read-only, so nothing is created to find out.
  pg_rows rows;
  if (auto st = conn.exec("SELECT current_database()::text,"
                          " (to_regclass('almanac_schema_version') IS NOT NULL)::integer",
                          &rows);
      !st)
    return st;
  if (rows.size() != 1)
    return status::io_error("PostgreSQL (" + conn.describe() + "): no answer to the schema check");
  std::string db{rows.bytes(0, 0)};
  auto missing = [&] {
    return status::not_found("no Almanac log in database " + db + " (" + conn.describe()
                             + "): a read-only open creates none");
  };
  if (rows.i32(0, 1) == 0)
    return missing();
  if (auto st = conn.exec("SELECT coalesce(max(version), 0) FROM almanac_schema_version", &rows);
      !st)
    return st;
  int current = rows.size() == 1 ? rows.i32(0, 0) : 0;
  if (current == 0)
    return missing();
  if (current > target)
    return newer(conn, current, target);
  if (current < target)
    return status::invalid_argument(
      "PostgreSQL (" + conn.describe() + ") holds Almanac schema version " + std::to_string(current)
      + "; a read-only open does not migrate it to " + std::to_string(target)
      + ": open it read-write once with this build");
  return status{};
}

} // namespace almanac::store::detail
