#include "store/open_journal.hpp"

#include "store/event_log.hpp"
#include "store/postgres/detail/pg_conn.hpp"
#include "store/postgres/pg_log.hpp"

namespace almanac::store {

bool is_postgres_uri(std::string_view where) noexcept {
  return where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0;
}

std::string describe_location(std::string_view where) {
  if (!is_postgres_uri(where))
    return std::string{where};
  auto p = detail::parse_conninfo(std::string{where});
  if (!p.parsed)
    // Unparsable: show nothing of it, since a password may be anywhere in it.
    return "postgresql://(unparsable URI)";
  // A unix-socket directory in host= is shown as libpq's URIs spell it, percent-encoded.
  std::string shown_host;
  for (char c : p.host)
    shown_host += c == '/' ? std::string{"%2F"} : std::string(1, c);
  return "postgresql://" + (p.user.empty() ? std::string{} : p.user + "@") + shown_host
         + (p.port.empty() ? std::string{} : ":" + p.port) + "/" + p.database;
}

bool uri_has_password(std::string_view where) {
  if (!is_postgres_uri(where))
    return false;
  auto p = detail::parse_conninfo(std::string{where});
  // Unparsable: assume the worst, so the caller keeps it private.
  return !p.parsed || p.has_password;
}

status open_journal(const std::string& where, const open_options& opts,
                    std::unique_ptr<journal>& out) {
  if (is_postgres_uri(where)) {
    if (opts.mode == open_mode::secondary)
      return status::invalid_argument("a secondary open is RocksDB-only; PostgreSQL readers "
                                      "always see the latest commits");
    pg_options po;
    po.read_only = opts.mode == open_mode::read_only;
    // One read-write process per log, as RocksDB's directory lock gives.
    po.exclusive = !po.read_only;
    po.synchronous_commit = opts.sync == durability::sync;
    po.max_queued_events = opts.max_queued_events;
    std::unique_ptr<pg_log> pg;
    if (auto st = pg_log::open(where, po, pg); !st)
      return st;
    out = std::move(pg);
    return status{};
  }
  std::unique_ptr<event_log> rocks;
  if (auto st = event_log::open(where, opts, rocks); !st)
    return st;
  out = std::move(rocks);
  return status{};
}

} // namespace almanac::store
