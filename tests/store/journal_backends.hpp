// The two journal backends as test fixtures, so the contract tests are written once
// (TEMPLATE_TEST_CASE over rocksdb_backend and postgres_backend). Each fixture owns a fresh log
// (a temporary directory; a new database of the process's throwaway PostgreSQL) and knows how to
// damage it the way only its own storage can: plant bytes as an event, mark the storage as
// written by a newer build.
#pragma once

#include "store_fixture.hpp"

#include "tests/common/pg_cluster.hpp"

#include "store/detail/keys.hpp"
#include "store/journal.hpp"
#include "store/postgres/pg_log.hpp"

#include <cstdio>

namespace almanac::store::test {

// Fails the test with the status's message unless it is ok.
inline void must(const status& st) {
  INFO(st.to_string());
  REQUIRE(st.is_ok());
}

// A job's whole stream, its highest sequence, and the log's highest position.
inline std::vector<event> stream_of(const journal& log, job_id job) {
  std::vector<event> out;
  must(log.read_stream(job, 1, out));
  return out;
}

inline std::uint64_t highest_of(const journal& log, job_id job) {
  std::uint64_t out = 0;
  must(log.highest_seq(job, out));
  return out;
}

inline std::uint64_t position_of(const journal& log) {
  std::uint64_t out = 0;
  must(log.highest_position(out));
  return out;
}


struct rocksdb_backend {
  temp_dir tmp;
  std::unique_ptr<event_log> log_ = open_log(tmp.data());

  journal& log() { return *log_; }

  status reopen() {
    log_.reset();
    return event_log::open(tmp.data(), {}, log_);
  }

  void plant_event_bytes(job_id job, std::uint64_t seq, const std::string& bytes) {
    log_.reset();
    with_raw_db(tmp.data(), [&](rocksdb::DB& db, auto& handles) {
      REQUIRE(db.Put({}, handles[1], detail::stream_key(job, seq), bytes).ok());
    });
    REQUIRE(reopen().is_ok());
  }

  // Stores `bytes` as the job's snapshot at `seq`, as if save_snapshot had written them.
  void plant_snapshot_bytes(job_id job, std::uint64_t seq, const std::string& bytes) {
    log_.reset();
    with_raw_db(tmp.data(), [&](rocksdb::DB& db, auto& handles) {
      REQUIRE(db.Put({}, handles[3], detail::stream_key(job, seq), bytes).ok());
    });
    REQUIRE(reopen().is_ok());
  }

  // The version mark_newer_format() writes, which the refusal names.
  static constexpr std::uint32_t newer_version = detail::format_version + 1;

  void mark_newer_format() {
    log_.reset();
    with_raw_db(tmp.data(), [](rocksdb::DB& db, auto& handles) {
      std::string v;
      detail::put_u32(v, newer_version);
      REQUIRE(db.Put({}, handles[6], detail::meta_format_version, v).ok());
    });
  }
};

inline std::string hex_bytea(const std::string& bytes) {
  std::string out = "'\\x";
  char buf[3];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out + "'::bytea";
}

struct postgres_backend {
  std::string conninfo = almanac::test::pg_cluster::shared().create_database();
  std::unique_ptr<pg_log> log_ = open_pg(conninfo);

  static std::unique_ptr<pg_log> open_pg(const std::string& conninfo) {
    std::unique_ptr<pg_log> log;
    auto st = pg_log::open(conninfo, {}, log);
    INFO(st.to_string());
    REQUIRE(st.is_ok());
    return log;
  }

  journal& log() { return *log_; }

  status reopen() {
    log_.reset();
    return pg_log::open(conninfo, {}, log_);
  }

  void plant_event_bytes(job_id job, std::uint64_t seq, const std::string& bytes) {
    almanac::test::pg_cluster::exec(
      conninfo, "UPDATE almanac_events SET payload = " + hex_bytea(bytes)
                  + " WHERE job = " + std::to_string(static_cast<std::int64_t>(job.value))
                  + " AND seq = " + std::to_string(seq));
  }

  void plant_snapshot_bytes(job_id job, std::uint64_t seq, const std::string& bytes) {
    almanac::test::pg_cluster::exec(
      conninfo, "INSERT INTO almanac_snapshots (job, seq, state) VALUES ("
                  + std::to_string(static_cast<std::int64_t>(job.value)) + ", "
                  + std::to_string(seq) + ", " + hex_bytea(bytes)
                  + ") ON CONFLICT (job) DO UPDATE SET seq = EXCLUDED.seq, state = EXCLUDED.state");
  }

  static constexpr int newer_version = pg_log::schema_version + 1;

  void mark_newer_format() {
    log_.reset();
    almanac::test::pg_cluster::exec(conninfo,
                                    "INSERT INTO almanac_schema_version (version) VALUES ("
                                      + std::to_string(newer_version) + ")");
  }
};

} // namespace almanac::store::test
