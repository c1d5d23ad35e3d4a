// The PostgreSQL schema of pg_log and its migrations: each schema version is a list of
// statements, applied in order inside the open's one transaction; almanac_schema_version records
// the version reached. A database at a newer version than this build knows is refused.
#pragma once

#include "store/postgres/detail/pg_conn.hpp"
#include "store/status.hpp"

namespace almanac::store::detail {

// Creates or migrates the schema up to `target` in one transaction, serialized against other
// processes opening the same database. Errors: newer_format naming the versions; what exec
// returns otherwise (nothing is changed then).
status migrate_schema(pg_connection& conn, int target);

// For a read-only open: checks that the schema is there at exactly `target`, reading only (no
// lock, no table created). Errors: not_found (no Almanac schema in the database: the message
// names it), newer_format (as migrate_schema), invalid_argument (an older version: a read-only
// open does not migrate), what exec returns otherwise.
status check_schema(pg_connection& conn, int target);

} // namespace almanac::store::detail
