// Opening the log wherever it lives: a data directory (RocksDB, the embedded default) or a
// PostgreSQL database named by a postgresql:// URI. The scheduler, the daemon and the replay
// tool all open it here, so "where is the log" means the same thing everywhere.
#pragma once

#include "store/journal.hpp"
#include "store/open_options.hpp"
#include "store/status.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace almanac::store {

// Whether `where` names a PostgreSQL database (postgresql:// or postgres://, as libpq accepts
// them) rather than a data directory.
bool is_postgres_uri(std::string_view where) noexcept;

// `where` as logs and messages may show it: a directory as given; a URI as
// postgresql://user@host:port/database, without its password or other parameters (which may
// hold one too). Credentials may come from the URI, PGPASSFILE or PGPASSWORD; none is printed.
std::string describe_location(std::string_view where);

// Whether a postgresql:// URI holds a password itself (then `ps` shows it to every local user,
// and a file holding it must be private): PGPASSFILE is the better home for one.
bool uri_has_password(std::string_view where);

// Opens the log at `where` with `opts`. For PostgreSQL: open_mode::read_only connects without
// creating or migrating the schema and in read-only transactions (a replay never writes);
// secondary is refused (RocksDB-only); durability::none turns synchronous_commit off for the
// writer's session; max_queued_events bounds the writer's queue as on RocksDB. salvage and
// the RocksDB sizes are ignored there. Errors: those of event_log::open and pg_log::open.
status open_journal(const std::string& where, const open_options& opts,
                    std::unique_ptr<journal>& out);

} // namespace almanac::store
