// A thin layer over libpq for pg_log: one connection that knows how to reconnect, statements
// with binary parameters and results (bytea travels as bytes, never escaped), and the binary
// array format that unnest() reads, so one statement carries a whole group's rows.
#pragma once

#include "store/status.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace almanac::store::detail {

// One statement's parameters, all sent in binary format.
class pg_params {
public:
  pg_params& add_i64(std::int64_t v);
  pg_params& add_i32(std::int32_t v);
  pg_params& add_bytes(std::string_view v);
  // One-dimensional arrays; nullopt elements are NULL.
  pg_params& add_i64_array(const std::vector<std::optional<std::int64_t>>& v);
  pg_params& add_i64_array(const std::vector<std::int64_t>& v);
  pg_params& add_i32_array(const std::vector<std::int32_t>& v);
  pg_params& add_bytes_array(const std::vector<std::string_view>& v);

  int size() const noexcept { return static_cast<int>(values_.size()); }
  const char* const* values() const noexcept { return pointers_.data(); }
  const int* lengths() const noexcept { return lengths_.data(); }
  const int* formats() const noexcept { return formats_.data(); }

private:
  void push(std::string bytes);

  std::vector<std::string> values_;
  std::vector<const char*> pointers_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A result in binary format, owned.
class pg_rows {
public:
  pg_rows() = default;
  explicit pg_rows(pg_result* r);
  pg_rows(pg_rows&&) noexcept;
  pg_rows& operator=(pg_rows&&) noexcept;
  ~pg_rows();

  int size() const noexcept;
  bool is_null(int row, int col) const noexcept;
  std::int64_t i64(int row, int col) const noexcept;
  std::int32_t i32(int row, int col) const noexcept;
  std::string_view bytes(int row, int col) const noexcept;

private:
  pg_result* r_ = nullptr;
};

// One statement of exec_pipeline: its parameters and, for a query, where its rows go.
struct pg_statement {
  std::string_view sql;
  const pg_params* params = nullptr;
  pg_rows* out = nullptr;
};

// What messages may name of a conninfo or URI: never its password. `parsed` is false when libpq
// cannot parse it (then nothing of it should be shown, a password may be anywhere in it).
struct conninfo_parts {
  std::string host, port, database, user;
  bool has_password = false;
  bool parsed = false;
};
conninfo_parts parse_conninfo(const std::string& conninfo);

class pg_connection {
public:
  explicit pg_connection(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  // Connects if not connected. Errors: unavailable naming host, port, database and user (never
  // the password).
  status ensure();

  // Runs one statement. A failure leaves `lost()` telling whether the connection is gone (the
  // next ensure() reconnects). Errors: unavailable (connection lost), no_space (disk full),
  // io_error (anything else, with PostgreSQL's message and SQLSTATE).
  status exec(std::string_view sql, const pg_params& params, pg_rows* out = nullptr);
  status exec(std::string_view sql, pg_rows* out = nullptr);

  // Connections made so far: a change tells that the session (and every session-level lock it
  // held) is a new one.
  std::uint64_t connects() const noexcept { return connects_; }

  // Sends every statement at once and then reads their results (libpq's pipeline mode): one
  // round trip for all of them. The server runs them in order, each with its own snapshot as
  // if sent one by one; after one fails it skips the rest. The first failure's status, as
  // exec() gives it (`lost()` included).
  status exec_pipeline(const std::vector<pg_statement>& statements);

  // Whether the last failure lost the connection.
  bool lost() const noexcept { return lost_; }
  // The SQLSTATE of the last failure ("" when none).
  const std::string& sqlstate() const noexcept { return sqlstate_; }

  void disconnect();

  // "host /tmp/x port 5432 database almanac user almanac": what error messages name.
  std::string describe() const;

private:
  // The status of a failed statement (`r` may be null), noting the SQLSTATE and a lost
  // connection.
  status failure(pg_result* r);

  std::string conninfo_;
  pg_conn* conn_ = nullptr;
  bool lost_ = false;
  std::string sqlstate_;
  std::uint64_t connects_ = 0;
};

// Job ids are unsigned 64-bit; PostgreSQL's bigint is signed: the bits are kept as they are.
inline std::int64_t to_db(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v);
}
inline std::uint64_t from_db(std::int64_t v) noexcept {
  return static_cast<std::uint64_t>(v);
}

} // namespace almanac::store::detail
