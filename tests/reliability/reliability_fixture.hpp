// What the reliability tests share: a fresh data directory, a scheduler embedded on it with a
// manual clock (started by the test, so a test can also watch it refuse to start), admin
// requests answered as almanac::result, raw RocksDB access for tests that damage the data on
// purpose, and a fingerprint of the whole log to prove that refused requests wrote nothing.
#pragma once

#include "tests/common/raw_db.hpp"
#include "tests/common/temp_dir.hpp"

#include <almanac/almanac.hpp>
#include <almanac/caf_error.hpp>
#include <almanac/time.hpp>

#include "actors/testing.hpp"
#include "events/codec.hpp"
#include "projections/history.hpp"
#include "store/detail/keys.hpp"
#include "store/event_log.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace almanac::reliability {

using namespace std::chrono_literals;

inline instant at(std::string_view iso) {
  auto r = parse_instant(iso);
  REQUIRE(r.ok());
  return *r;
}

// A directory under the system temp dir, removed with everything in it. `data()` is where the
// log goes: created by the log itself, so its mode is the log's choice.
using almanac::test::temp_dir;

inline caf::actor_system_config& with_types(caf::actor_system_config& cfg) {
  add_message_types(cfg);
  return cfg;
}

// One actor system and a manual clock; schedulers are started on demand.
struct scheduler_fixture {
  temp_dir dir;
  manual_clock clk{at("2026-03-02T10:00:00Z")};
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  std::unique_ptr<scheduler> sched;
  std::size_t memtable_bytes = scheduler_options{}.memtable_bytes;

  ~scheduler_fixture() { stop(); }

  result<std::unique_ptr<scheduler>> try_start(const std::filesystem::path& data,
                                               runtime_settings settings = {},
                                               store::durability sync = store::durability::sync) {
    scheduler_options opts;
    opts.data_dir = data;
    opts.durability = sync;
    opts.memtable_bytes = memtable_bytes;
    opts.clk = &clk;
    opts.settings = settings;
    opts.executor.workers = 2;
    opts.handlers["record"] = [](const run_context&) {};
    return scheduler::start(sys, std::move(opts));
  }

  void start(runtime_settings settings = {}) {
    auto s = try_start(dir.data(), settings);
    if (!s)
      FAIL("scheduler did not start: " << s.err().message);
    sched = std::move(*s);
  }

  void stop() {
    if (sched) {
      sched->stop(0s);
      sched.reset();
    }
  }

  // Sends an admin request to `to` and waits for the reply.
  template <class Reply, class Request>
  result<Reply> ask(const admin_actor& to, Request req) {
    std::optional<result<Reply>> out;
    {
      caf::scoped_actor self{sys};
      self->request(to, 10s, std::move(req))
        .receive([&](Reply& r) { out.emplace(std::move(r)); },
                 [&](caf::error& e) { out.emplace(from_caf_error(e)); });
    }
    return std::move(*out);
  }
  template <class Reply, class Request>
  result<Reply> ask(Request req) {
    return ask<Reply>(sched->admin(), std::move(req));
  }

  result<job_state> create(std::string name, schedule s, job_policies p = {},
                           target what = handler_target{"record", ""}) {
    return ask<job_state>(
      create_request{job_spec{std::move(name), std::move(s), std::move(what), std::move(p)},
                     "user:alice", ""});
  }

  job_state created(std::string name, schedule s, job_policies p = {}) {
    auto r = create(name, std::move(s), std::move(p));
    if (!r)
      FAIL("create " << name << ": " << r.err().message);
    return *r;
  }
};

// Every event of the log in global order, as (position, encoded bytes), plus the highest
// position: equal fingerprints mean nothing was appended, lost or rewritten.
struct log_fingerprint {
  std::uint64_t highest_position = 0;
  std::vector<std::pair<std::uint64_t, std::string>> events;
  friend bool operator==(const log_fingerprint&, const log_fingerprint&) = default;
};

inline log_fingerprint fingerprint(const store::event_log& log) {
  log_fingerprint out;
  REQUIRE(log.highest_position(out.highest_position).is_ok());
  auto st = log.read_all(1, [&](std::uint64_t position, const event& e) {
    out.events.emplace_back(position, encode_event(e));
    return true;
  });
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return out;
}

// Opens a closed log's directory with plain RocksDB: tests/common/raw_db.hpp.
using almanac::test::with_raw_db;

// The files of `dir` whose names end with `suffix` (".sst", ".log") or start with `prefix`
// ("MANIFEST-"), sorted by name.
inline std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir,
                                                   std::string_view suffix,
                                                   std::string_view prefix = {}) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator{dir}) {
    auto name = entry.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(),
                                                     suffix) == 0
        && name.rfind(prefix, 0) == 0)
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Flips every bit of the byte at `offset` of `file`.
inline void flip_byte(const std::filesystem::path& file, std::uintmax_t offset) {
  std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  REQUIRE(f.get(c));
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(~c));
  REQUIRE(f);
}

} // namespace almanac::reliability
