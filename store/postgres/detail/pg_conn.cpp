#include "store/postgres/detail/pg_conn.hpp"

#include <libpq-fe.h>

#include <cstring>

namespace almanac::store::detail {

namespace {

// Type OIDs of the built-in types the arrays carry (pg_type.dat).
constexpr std::uint32_t oid_int4 = 23;
constexpr std::uint32_t oid_int8 = 20;
constexpr std::uint32_t oid_bytea = 17;

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t get_be(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// The binary array header (array_send): dimensions, a has-null flag, the element type, then
// for the one dimension its length and lower bound 1.
std::string array_header(std::size_t n, bool has_null, std::uint32_t oid) {
  std::string out;
  if (n == 0) {
    put_be32(out, 0);
    put_be32(out, 0);
    put_be32(out, oid);
    return out;
  }
  put_be32(out, 1);
  put_be32(out, has_null ? 1 : 0);
  put_be32(out, oid);
  put_be32(out, static_cast<std::uint32_t>(n));
  put_be32(out, 1);
  return out;
}

std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

void pg_params::push(std::string bytes) {
  values_.push_back(std::move(bytes));
  // The strings may move as the vector grows: pointers are refreshed each time.
  pointers_.clear();
  lengths_.clear();
  for (auto& v : values_) {
    pointers_.push_back(v.data());
    lengths_.push_back(static_cast<int>(v.size()));
  }
  formats_.push_back(1);
}

pg_params& pg_params::add_i64(std::int64_t v) {
  std::string out;
  put_be64(out, static_cast<std::uint64_t>(v));
  push(std::move(out));
  return *this;
}

pg_params& pg_params::add_i32(std::int32_t v) {
  std::string out;
  put_be32(out, static_cast<std::uint32_t>(v));
  push(std::move(out));
  return *this;
}

pg_params& pg_params::add_bytes(std::string_view v) {
  push(std::string{v});
  return *this;
}

pg_params& pg_params::add_i64_array(const std::vector<std::optional<std::int64_t>>& v) {
  bool has_null = false;
  for (auto& x : v)
    has_null = has_null || !x;
  auto out = array_header(v.size(), has_null, oid_int8);
  for (auto& x : v) {
    if (!x) {
      put_be32(out, 0xffffffffu);
      continue;
    }
    put_be32(out, 8);
    put_be64(out, static_cast<std::uint64_t>(*x));
  }
  push(std::move(out));
  return *this;
}

pg_params& pg_params::add_i64_array(const std::vector<std::int64_t>& v) {
  auto out = array_header(v.size(), false, oid_int8);
  for (auto x : v) {
    put_be32(out, 8);
    put_be64(out, static_cast<std::uint64_t>(x));
  }
  push(std::move(out));
  return *this;
}

pg_params& pg_params::add_i32_array(const std::vector<std::int32_t>& v) {
  auto out = array_header(v.size(), false, oid_int4);
  for (auto x : v) {
    put_be32(out, 4);
    put_be32(out, static_cast<std::uint32_t>(x));
  }
  push(std::move(out));
  return *this;
}

pg_params& pg_params::add_bytes_array(const std::vector<std::string_view>& v) {
  std::size_t total = 20;
  for (auto x : v)
    total += 4 + x.size();
  auto out = array_header(v.size(), false, oid_bytea);
  out.reserve(total);
  for (auto x : v) {
    put_be32(out, static_cast<std::uint32_t>(x.size()));
    out.append(x);
  }
  push(std::move(out));
  return *this;
}

pg_rows::pg_rows(pg_result* r) : r_(r) {}

pg_rows::pg_rows(pg_rows&& other) noexcept : r_(other.r_) {
  other.r_ = nullptr;
}

pg_rows& pg_rows::operator=(pg_rows&& other) noexcept {
  if (this != &other) {
    if (r_)
      PQclear(r_);
    r_ = other.r_;
    other.r_ = nullptr;
  }
  return *this;
}

pg_rows::~pg_rows() {
  if (r_)
    PQclear(r_);
}

int pg_rows::size() const noexcept {
  return r_ ? PQntuples(r_) : 0;
}

bool pg_rows::is_null(int row, int col) const noexcept {
  return PQgetisnull(r_, row, col) != 0;
}

std::int64_t pg_rows::i64(int row, int col) const noexcept {
  if (PQgetisnull(r_, row, col) || PQgetlength(r_, row, col) != 8)
    return 0;
  return static_cast<std::int64_t>(get_be(PQgetvalue(r_, row, col), 8));
}

std::int32_t pg_rows::i32(int row, int col) const noexcept {
  if (PQgetisnull(r_, row, col) || PQgetlength(r_, row, col) != 4)
    return 0;
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(PQgetvalue(r_, row, col), 4)));
}

std::string_view pg_rows::bytes(int row, int col) const noexcept {
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

pg_connection::~pg_connection() {
  disconnect();
}

void pg_connection::disconnect() {
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

conninfo_parts parse_conninfo(const std::string& conninfo) {
  conninfo_parts out;
  char* err = nullptr;
  if (auto* opts = PQconninfoParse(conninfo.c_str(), &err)) {
    out.parsed = true;
    for (auto* o = opts; o->keyword; ++o) {
      if (!o->val)
        continue;
      std::string_view k{o->keyword};
      if (k == "host")
        out.host = o->val;
      else if (k == "port")
        out.port = o->val;
      else if (k == "dbname")
        out.database = o->val;
      else if (k == "user")
        out.user = o->val;
      else if (k == "password")
        out.has_password = *o->val != '\0';
    }
    PQconninfoFree(opts);
  }
  if (err)
    PQfreemem(err);
  return out;
}

std::string pg_connection::describe() const {
  auto p = parse_conninfo(conninfo_);
  auto or_default = [](const std::string& v) { return v.empty() ? std::string{"(default)"} : v; };
  return "host " + or_default(p.host) + " port " + or_default(p.port) + " database "
         + or_default(p.database) + " user " + or_default(p.user);
}

status pg_connection::ensure() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK)
    return status{};
  disconnect();
  lost_ = false;
  conn_ = PQconnectdb(conninfo_.c_str());
  if (!conn_)
    return status::unavailable("cannot connect to PostgreSQL (" + describe() + "): out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    // libpq's messages name the server and the cause, never the password.
    auto msg = trimmed(PQerrorMessage(conn_));
    disconnect();
    lost_ = true;
    return status::unavailable("cannot connect to PostgreSQL (" + describe() + "): " + msg);
  }
  PQsetNoticeProcessor(
    conn_, [](void*, const char*) {}, nullptr);
  ++connects_;
  return status{};
}

status pg_connection::exec(std::string_view sql, pg_rows* out) {
  return exec(sql, pg_params{}, out);
}

status pg_connection::exec(std::string_view sql, const pg_params& params, pg_rows* out) {
  sqlstate_.clear();
  lost_ = false;
  if (!conn_)
    return status::unavailable("not connected to PostgreSQL (" + describe() + ")");
  std::string text{sql};
  auto* r = PQexecParams(conn_, text.c_str(), params.size(), nullptr, params.values(),
                         params.lengths(), params.formats(), 1);
  auto result_status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (result_status == PGRES_COMMAND_OK || result_status == PGRES_TUPLES_OK) {
    if (out)
      *out = pg_rows{r};
    else
      PQclear(r);
    return status{};
  }
  return failure(r);
}

status pg_connection::failure(pg_result* r) {
  std::string msg = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (msg.empty())
    msg = trimmed(PQerrorMessage(conn_));
  if (r) {
    if (auto* state = PQresultErrorField(r, PG_DIAG_SQLSTATE))
      sqlstate_ = state;
    PQclear(r);
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    lost_ = true;
    disconnect();
    return status::unavailable("lost the connection to PostgreSQL (" + describe() + "): " + msg);
  }
  // Class 53: insufficient resources; 53100 is disk_full.
  if (sqlstate_ == "53100")
    return status::no_space("PostgreSQL (" + describe() + "): " + msg);
  return status::io_error("PostgreSQL (" + describe() + "): " + msg
                          + (sqlstate_.empty() ? "" : " (SQLSTATE " + sqlstate_ + ")"));
}

status pg_connection::exec_pipeline(const std::vector<pg_statement>& statements) {
  sqlstate_.clear();
  lost_ = false;
  if (!conn_)
    return status::unavailable("not connected to PostgreSQL (" + describe() + ")");
  // A failure to send or to read a result leaves the protocol state unknown: the connection is
  // dropped (reported as lost), so the next call starts on a new one.
  auto broken = [&] {
    auto st = failure(nullptr);
    if (!lost_) {
      lost_ = true;
      disconnect();
      st = status::unavailable("lost the connection to PostgreSQL (" + describe()
                               + ") in a pipeline: " + st.message());
    }
    return st;
  };
  if (PQenterPipelineMode(conn_) != 1)
    return broken();
  for (auto& s : statements) {
    static const pg_params none;
    auto& params = s.params ? *s.params : none;
    std::string text{s.sql};
    if (PQsendQueryParams(conn_, text.c_str(), params.size(), nullptr, params.values(),
                          params.lengths(), params.formats(), 1)
        != 1)
      return broken();
  }
  if (PQpipelineSync(conn_) != 1)
    return broken();
  status first;
  bool failed = false;
  for (auto& s : statements) {
    auto* r = PQgetResult(conn_);
    if (!r)
      return broken();
    auto result_status = PQresultStatus(r);
    if (result_status == PGRES_COMMAND_OK || result_status == PGRES_TUPLES_OK) {
      if (s.out)
        *s.out = pg_rows{r};
      else
        PQclear(r);
    } else if (result_status == PGRES_PIPELINE_ABORTED) {
      PQclear(r);
    } else {
      if (!failed) {
        failed = true;
        first = failure(r);
        if (lost_)
          return first;
      } else {
        PQclear(r);
      }
    }
    // Each statement's results end with a null.
    while (auto* extra = PQgetResult(conn_))
      PQclear(extra);
    if (PQstatus(conn_) != CONNECTION_OK)
      return broken();
  }
  auto* sync = PQgetResult(conn_);
  bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  if (sync)
    PQclear(sync);
  if (!synced || PQexitPipelineMode(conn_) != 1)
    return broken();
  return first;
}

} // namespace almanac::store::detail
