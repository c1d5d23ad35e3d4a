#include "store/open_journal.hpp"

#include "store/event_log.hpp"
#include "store/postgres/pg_log.hpp"

#include <libpq-fe.h>

namespace almanac::store {

bool is_postgres_uri(std::string_view where) noexcept {
  return where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0;
}

std::string describe_location(std::string_view where) {
  if (!is_postgres_uri(where))
    return std::string{where};
  std::string host, port, db, user;
  char* err = nullptr;
  std::string text{where};
  if (auto* opts = PQconninfoParse(text.c_str(), &err)) {
    for (auto* o = opts; o->keyword; ++o) {
      if (!o->val)
        continue;
      std::string_view k{o->keyword};
      if (k == "host")
        host = o->val;
      else if (k == "port")
        port = o->val;
      else if (k == "dbname")
        db = o->val;
      else if (k == "user")
        user = o->val;
    }
    PQconninfoFree(opts);
  }
  if (err) {
    PQfreemem(err);
    // Unparsable: show nothing of it, since a password may be anywhere in it.
    return "postgresql://(unparsable URI)";
  }
  // A unix-socket directory in host= is shown as libpq's URIs spell it, percent-encoded.
  std::string shown_host;
  for (char c : host)
    shown_host += c == '/' ? std::string{"%2F"} : std::string(1, c);
  return "postgresql://" + (user.empty() ? std::string{} : user + "@") + shown_host
         + (port.empty() ? std::string{} : ":" + port) + "/" + db;
}

bool uri_has_password(std::string_view where) {
  if (!is_postgres_uri(where))
    return false;
  std::string text{where};
  char* err = nullptr;
  bool has = false;
  if (auto* opts = PQconninfoParse(text.c_str(), &err)) {
    for (auto* o = opts; o->keyword; ++o)
      if (o->val && std::string_view{o->keyword} == "password" && *o->val)
        has = true;
    PQconninfoFree(opts);
  }
  if (err) {
    PQfreemem(err);
    // Unparsable: assume the worst, so the caller keeps it private.
    return true;
  }
  return has;
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
