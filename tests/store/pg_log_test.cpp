// What only the PostgreSQL backend has to prove: its global order holds with several writers
// and processes committing concurrently, it survives the server going away (restart, kill -9),
// and its connection handling never leaks the password.
#include "journal_backends.hpp"

#include "store/postgres/detail/pg_test_hooks.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

namespace almanac::store::test {
namespace {

using almanac::test::pg_cluster;
using almanac::test::pg_cluster_options;

// A session of its own, for a test that must hold a lock or terminate a backend.
class session {
public:
  explicit session(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    REQUIRE(PQstatus(conn_) == CONNECTION_OK);
  }
  ~session() { PQfinish(conn_); }
  std::string exec(const std::string& sql) {
    auto* r = PQexec(conn_, sql.c_str());
    auto st = PQresultStatus(r);
    INFO(sql << ": " << PQresultErrorMessage(r));
    CHECK((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK));
    std::string out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return out;
  }

private:
  PGconn* conn_;
};

TEST_CASE("concurrent writers on two pg_log instances never let a tailing reader skip an event",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto first = postgres_backend::open_pg(conninfo);
  auto second = postgres_backend::open_pg(conninfo);
  constexpr int writers = 4;
  constexpr int appends_per_writer = 400;
  std::atomic<int> running{writers};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  std::mutex acked_mtx;
  std::set<std::pair<std::uint64_t, std::uint64_t>> acked;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto& log = w % 2 == 0 ? *first : *second;
      // Two jobs per writer, appends of 1 to 3 events.
      job_id jobs[2] = {job_id{0x1000u + 2u * static_cast<unsigned>(w)},
                        job_id{0x1001u + 2u * static_cast<unsigned>(w)}};
      std::uint64_t seq[2] = {0, 0};
      for (int i = 0; i < appends_per_writer && !failed; ++i) {
        auto k = i % 2;
        auto n = static_cast<std::size_t>(1 + i % 3);
        auto st = log.append(jobs[k], seq[k], make_events(jobs[k], seq[k], n));
        if (!st) {
          failed = true;
          break;
        }
        std::lock_guard lock{acked_mtx};
        for (std::size_t e = 1; e <= n; ++e)
          acked.emplace(jobs[k].value, seq[k] + e);
        seq[k] += n;
      }
      --running;
    });
  }
  // The reader tails read_all from its last position, as a projection does, while they write.
  auto reader_log = postgres_backend::open_pg(conninfo);
  std::vector<std::uint64_t> positions;
  std::set<std::pair<std::uint64_t, std::uint64_t>> read;
  std::uint64_t last = 0;
  int polls = 0;
  auto poll = [&] {
    ++polls;
    return reader_log->read_all(last + 1, [&](std::uint64_t position, const event& e) {
      positions.push_back(position);
      read.emplace(e.env.job.value, e.env.seq);
      last = position;
      return true;
    });
  };
  while (running > 0)
    must(poll());
  for (auto& t : threads)
    t.join();
  REQUIRE_FALSE(failed);
  must(poll());
  INFO("polls while writing: " << polls);
  std::uint64_t total = 0;
  must(reader_log->highest_position(total));
  CHECK(total == acked.size());
  REQUIRE(positions.size() == total);
  for (std::size_t i = 0; i < positions.size(); ++i)
    REQUIRE(positions[i] == i + 1);
  CHECK(read == acked);
  CHECK(first->group_commits() + second->group_commits() > 0);
}

TEST_CASE("an append after a restart of the PostgreSQL server reconnects and succeeds",
          "[store][postgres]") {
  pg_cluster cluster{pg_cluster_options{true}};
  auto conninfo = cluster.create_database();
  auto log = postgres_backend::open_pg(conninfo);
  constexpr job_id job{0x77};
  must(log->append(job, 0, make_events(job, 0, 2)));
  cluster.stop();
  std::uint64_t highest = 0;
  auto down = log->append(job, 2, make_events(job, 2, 1));
  CHECK(down.get_code() == status::code::unavailable);
  CHECK(log->highest_seq(job, highest).get_code() == status::code::unavailable);
  cluster.start();
  std::uint64_t position = 0;
  must(log->append(job, 2, make_events(job, 2, 1), &position));
  CHECK(position == 3);
  must(log->highest_seq(job, highest));
  CHECK(highest == 3);
  std::vector<event> out;
  must(log->read_stream(job, 1, out));
  CHECK(seqs(out) == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("an append whose connection is lost before commit writes nothing and the next reconnects",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto log = postgres_backend::open_pg(conninfo);
  constexpr job_id job{0x78};
  must(log->append(job, 0, make_events(job, 0, 1)));
  session locker{conninfo};
  session killer{conninfo};
  // The writer will wait on the counter's row lock: its transaction is open, nothing committed.
  locker.exec("BEGIN");
  locker.exec("SELECT highest FROM almanac_position FOR UPDATE");
  std::promise<status> done;
  log->append_async(job, 1, make_events(job, 1, 2),
                    [&](status st, std::uint64_t) { done.set_value(std::move(st)); });
  auto future = done.get_future();
  // Terminates the waiting writer's backend, twice: the first loss is retried on a new
  // connection, the second fails the append.
  auto waiting_writer = [&] {
    for (int i = 0; i < 600; ++i) {
      auto pid = killer.exec("SELECT pid FROM pg_stat_activity WHERE application_name = "
                             "'almanac' AND wait_event_type = 'Lock'");
      if (!pid.empty())
        return pid;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return std::string{};
  };
  for (int round = 0; round < 2; ++round) {
    auto pid = waiting_writer();
    REQUIRE_FALSE(pid.empty());
    killer.exec("SELECT pg_terminate_backend(" + pid + ")");
    // The next round's lookup must not find the terminated backend again.
    for (int i = 0;
         i < 600 && killer.exec("SELECT 1 FROM pg_stat_activity WHERE pid = " + pid) == "1"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  REQUIRE(future.wait_for(std::chrono::seconds{60}) == std::future_status::ready);
  auto st = future.get();
  INFO(st.to_string());
  CHECK(st.get_code() == status::code::unavailable);
  locker.exec("ROLLBACK");
  std::uint64_t highest = 0;
  must(log->highest_seq(job, highest));
  CHECK(highest == 1);
  std::uint64_t position = 0;
  must(log->append(job, 1, make_events(job, 1, 2), &position));
  CHECK(position == 2);
  std::vector<event> out;
  must(log->read_stream(job, 1, out));
  CHECK(seqs(out) == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("a stale append fails alone inside a group whose other appends commit together",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto log = postgres_backend::open_pg(conninfo);
  constexpr job_id a{0x81};
  constexpr job_id b{0x82};
  session locker{conninfo};
  session watcher{conninfo};
  // While the writer waits for the counter's lock with the first append, the others queue up
  // behind it and become the next group, stale one included.
  locker.exec("BEGIN");
  locker.exec("SELECT highest FROM almanac_position FOR UPDATE");
  std::vector<std::promise<std::pair<status, std::uint64_t>>> done(4);
  auto callback = [&](std::size_t i) {
    return [&done, i](status st, std::uint64_t first) {
      done[i].set_value({std::move(st), first});
    };
  };
  log->append_async(a, 0, make_events(a, 0, 2), callback(0));
  bool waiting = false;
  for (int i = 0; i < 600 && !waiting; ++i) {
    waiting = !watcher
                 .exec("SELECT pid FROM pg_stat_activity WHERE application_name = 'almanac' "
                       "AND wait_event_type = 'Lock'")
                 .empty();
    if (!waiting)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  REQUIRE(waiting);
  log->append_async(a, 0, make_events(a, 0, 1), callback(1));
  log->append_async(b, 0, make_events(b, 0, 3), callback(2));
  log->append_async(a, 2, make_events(a, 2, 1), callback(3));
  locker.exec("ROLLBACK");
  std::vector<std::pair<status, std::uint64_t>> r;
  for (auto& d : done)
    r.push_back(d.get_future().get());
  CHECK(r[0].first.is_ok());
  CHECK(r[1].first.get_code() == status::code::conflict);
  CHECK(r[1].first.message().find(to_string(a)) != std::string::npos);
  CHECK(r[2].first.is_ok());
  CHECK(r[3].first.is_ok());
  CHECK(r[0].second == 1);
  CHECK(r[2].second == 3);
  CHECK(r[3].second == 6);
  // One transaction for the first append, one for the three behind it.
  CHECK(log->group_commits() == 2);
  std::vector<event> out;
  must(log->read_stream(a, 1, out));
  CHECK(seqs(out) == std::vector<std::uint64_t>{1, 2, 3});
  std::uint64_t position = 0;
  must(log->highest_position(position));
  CHECK(position == 6);
}

TEST_CASE("every acknowledged append survives a kill -9 of the postmaster during appends",
          "[store][postgres]") {
  // fsync and synchronous_commit on: acknowledged must mean on disk.
  pg_cluster cluster{pg_cluster_options{true}};
  auto conninfo = cluster.create_database();
  REQUIRE(pg_cluster::query(conninfo, "SHOW synchronous_commit") == "on");
  REQUIRE(pg_cluster::query(conninfo, "SHOW fsync") == "on");
  std::set<std::pair<std::uint64_t, std::uint64_t>> acked;
  std::atomic<std::size_t> acked_count{0};
  {
    auto log = postgres_backend::open_pg(conninfo);
    std::mutex mtx;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (unsigned w = 0; w < 3; ++w) {
      writers.emplace_back([&, w] {
        job_id job{0x900u + w};
        std::uint64_t seq = 0;
        while (!stop) {
          if (!log->append(job, seq, make_events(job, seq, 2)))
            return;
          std::lock_guard lock{mtx};
          acked.emplace(job.value, seq + 1);
          acked.emplace(job.value, seq + 2);
          seq += 2;
          ++acked_count;
        }
      });
    }
    for (int i = 0; i < 6000 && acked_count < 300; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    REQUIRE(acked_count >= 300);
    cluster.kill_postmaster();
    stop = true;
    for (auto& t : writers)
      t.join();
  }
  cluster.start();
  auto log = postgres_backend::open_pg(conninfo);
  std::set<std::pair<std::uint64_t, std::uint64_t>> found;
  must(log->read_all(1, [&](std::uint64_t, const event& e) {
    found.emplace(e.env.job.value, e.env.seq);
    return true;
  }));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> lost;
  for (auto& a : acked)
    if (!found.count(a))
      lost.push_back(a);
  INFO("acknowledged " << acked.size() << ", found " << found.size());
  CHECK(lost.empty());
  std::uint64_t position = 0;
  must(log->highest_position(position));
  CHECK(position == found.size());
}

TEST_CASE("a connection error names host and user but never the password", "[store][postgres]") {
  auto& cluster = pg_cluster::shared();
  std::unique_ptr<pg_log> log;
  auto st = pg_log::open("host=" + cluster.directory()
                           + "/nowhere port=5432 user=almanac password=s3cret-pw dbname=x",
                         {}, log);
  INFO(st.to_string());
  CHECK(st.get_code() == status::code::unavailable);
  CHECK(st.message().find("user almanac") != std::string::npos);
  CHECK(st.message().find("/nowhere") != std::string::npos);
  CHECK(st.message().find("s3cret-pw") == std::string::npos);
  st = pg_log::open("postgresql://almanac:s3cret-pw@/x?host=" + cluster.directory() + "/nowhere",
                    {}, log);
  CHECK(st.get_code() == status::code::unavailable);
  CHECK(st.message().find("s3cret-pw") == std::string::npos);
}

TEST_CASE("a postgresql URI opens the log and the schema is created once", "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto db = conninfo.substr(conninfo.rfind('=') + 1);
  auto uri = "postgresql://almanac@/" + db + "?host=" + pg_cluster::shared().directory();
  {
    std::unique_ptr<pg_log> log;
    must(pg_log::open(uri, {}, log));
    must(log->append(job_id{1}, 0, make_events(job_id{1}, 0, 1)));
  }
  std::unique_ptr<pg_log> again;
  must(pg_log::open(conninfo, {}, again));
  std::uint64_t highest = 0;
  must(again->highest_seq(job_id{1}, highest));
  CHECK(highest == 1);
  // One row per migration, each once: the second open ran none.
  auto version = std::to_string(pg_log::schema_version);
  CHECK(pg_cluster::query(conninfo, "SELECT count(*) FROM almanac_schema_version") == version);
  CHECK(pg_cluster::query(conninfo, "SELECT count(DISTINCT version) FROM almanac_schema_version")
        == version);
  CHECK(pg_cluster::query(conninfo, "SELECT max(version) FROM almanac_schema_version") == version);
}

// Polls `done` every 20 ms for up to 30 s (a real server is involved); whether it came true.
template <class F>
bool eventually(F&& done) {
  for (int i = 0; i < 1500; ++i) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return done();
}

TEST_CASE("a blocking append waits for room once max_queued_events wait and append_async does not",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  pg_options opts;
  opts.max_queued_events = 4;
  std::unique_ptr<pg_log> log;
  must(pg_log::open(conninfo, opts, log));
  constexpr job_id first{0x91}, filler{0x92}, blocked{0x93}, late{0x94};
  session locker{conninfo};
  session watcher{conninfo};
  // The writer takes the first append and waits for the counter's lock; what follows queues.
  locker.exec("BEGIN");
  locker.exec("SELECT highest FROM almanac_position FOR UPDATE");
  std::vector<std::promise<std::pair<status, std::uint64_t>>> done(3);
  auto callback = [&](std::size_t i) {
    return [&done, i](status st, std::uint64_t position) {
      done[i].set_value({std::move(st), position});
    };
  };
  log->append_async(first, 0, make_events(first, 0, 1), callback(0));
  REQUIRE(eventually([&] {
    return !watcher
              .exec("SELECT pid FROM pg_stat_activity WHERE application_name = 'almanac' "
                    "AND wait_event_type = 'Lock'")
              .empty();
  }));
  log->append_async(filler, 0, make_events(filler, 0, 4), callback(1));
  CHECK(log->health().queued_events == 4);
  // The queue is at its bound: the blocking append waits before queueing its event.
  std::uint64_t blocked_position = 0;
  auto blocking = std::async(std::launch::async, [&] {
    return log->append(blocked, 0, make_events(blocked, 0, 1), &blocked_position);
  });
  REQUIRE(eventually([&] { return log->health().appends_waiting == 1; }));
  CHECK(log->health().queued_events == 4);
  // append_async never waits: it passes the bound, and is queued before the waiting append.
  log->append_async(late, 0, make_events(late, 0, 1), callback(2));
  CHECK(log->health().queued_events == 5);
  CHECK(blocking.wait_for(std::chrono::milliseconds{0}) == std::future_status::timeout);
  locker.exec("ROLLBACK");
  REQUIRE(blocking.wait_for(std::chrono::seconds{60}) == std::future_status::ready);
  must(blocking.get());
  std::vector<std::pair<status, std::uint64_t>> r;
  for (auto& d : done)
    r.push_back(d.get_future().get());
  for (auto& [st, position] : r)
    must(st);
  CHECK(r[0].second == 1);
  CHECK(r[1].second == 2);
  CHECK(r[2].second == 6);
  CHECK(blocked_position == 7);
  auto h = log->health();
  CHECK(h.queued_events == 0);
  CHECK(h.appends_waiting == 0);
}

TEST_CASE("load_jobs resumes at the first job not handed over when its connection is lost",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto log = postgres_backend::open_pg(conninfo);
  auto saved = detail::set_load_jobs_pages({2, 3});
  std::vector<job_id> jobs;
  for (std::uint64_t id = 0xa1; id <= 0xa9; ++id) {
    jobs.push_back(job_id{id});
    must(log->append(job_id{id}, 0, make_events(job_id{id}, 0, id % 4 + 1)));
  }
  session killer{conninfo};
  std::vector<std::pair<job_id, std::uint64_t>> seen;
  bool killed = false;
  auto st = log->load_jobs([&](job_state&& s, const std::string&) {
    seen.emplace_back(s.id, s.seq);
    if (s.id == job_id{0xa3}) {
      // The walk's own session waits in its transaction while the callback runs.
      auto pid = killer.exec("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                             " AND state = 'idle in transaction'");
      REQUIRE_FALSE(pid.empty());
      killed = killer.exec("SELECT pg_terminate_backend(" + pid + ")") == "t";
      REQUIRE(eventually([&] {
        return killer.exec("SELECT 1 FROM pg_stat_activity WHERE pid = " + pid).empty();
      }));
    }
    return true;
  });
  detail::set_load_jobs_pages(saved);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  CHECK(killed);
  std::vector<std::pair<job_id, std::uint64_t>> expected;
  for (auto job : jobs)
    expected.emplace_back(job, job.value % 4 + 1);
  CHECK(seen == expected);
}

TEST_CASE("an append whose insert the server refuses fails alone and leaves no hole in positions",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto log = postgres_backend::open_pg(conninfo);
  constexpr job_id refused{0xc2};
  constexpr job_id fine{0xc3};
  pg_cluster::exec(conninfo, "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN"
                             " IF NEW.job = " + std::to_string(refused.value)
                               + " THEN RAISE EXCEPTION 'refused by the test'; END IF;"
                                 " RETURN NEW; END $$ LANGUAGE plpgsql");
  pg_cluster::exec(conninfo, "CREATE TRIGGER refuse BEFORE INSERT ON almanac_events"
                             " FOR EACH ROW EXECUTE FUNCTION refuse()");
  auto st = log->append(refused, 0, make_events(refused, 0, 2));
  INFO(st.to_string());
  CHECK(st.get_code() == status::code::io_error);
  CHECK(st.message().find("refused by the test") != std::string::npos);
  CHECK(highest_of(*log, refused) == 0);
  CHECK(position_of(*log) == 0);
  // The same connection goes on: the refused transaction was rolled back, counter included.
  std::uint64_t position = 0;
  must(log->append(fine, 0, make_events(fine, 0, 1), &position));
  CHECK(position == 1);
  CHECK(log->health().connected);
  CHECK(log->health().connection_losses == 0);
  CHECK(stream_of(*log, refused).empty());
}

TEST_CASE("appends after close fail with unavailable", "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto log = postgres_backend::open_pg(conninfo);
  must(log->close());
  CHECK(log->append(job_id{1}, 0, make_events(job_id{1}, 0, 1)).get_code()
        == status::code::unavailable);
  std::promise<status> done;
  log->append_async(job_id{1}, 0, make_events(job_id{1}, 0, 1),
                    [&](status st, std::uint64_t) { done.set_value(std::move(st)); });
  CHECK(done.get_future().get().get_code() == status::code::unavailable);
  std::uint64_t h = 0;
  CHECK(log->highest_seq(job_id{1}, h).get_code() == status::code::unavailable);
  must(log->close());
}

std::unique_ptr<pg_log> open_read_only(const std::string& conninfo) {
  pg_options o;
  o.read_only = true;
  std::unique_ptr<pg_log> log;
  auto st = pg_log::open(conninfo, o, log);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return log;
}

// The tables of the database whose names start with almanac_.
std::string almanac_tables(const std::string& conninfo) {
  return pg_cluster::query(conninfo,
                           "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename),"
                           " '') FROM pg_tables WHERE tablename LIKE 'almanac%'");
}

TEST_CASE("a read-only pg_log reads what a writer appends, also after it opened",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto writer = postgres_backend::open_pg(conninfo);
  must(writer->append(job_id{1}, 0, make_events(job_id{1}, 0, 3)));
  auto reader = open_read_only(conninfo);
  CHECK(stream_of(*reader, job_id{1}).size() == 3);
  // Appended after the reader opened: PostgreSQL readers see every commit.
  must(writer->append(job_id{2}, 0, make_events(job_id{2}, 0, 2)));
  must(writer->append(job_id{1}, 3, make_events(job_id{1}, 3, 1)));
  CHECK(position_of(*reader) == 6);
  CHECK(highest_of(*reader, job_id{1}) == 4);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> order;
  must(reader->read_all(1, [&](std::uint64_t pos, const event& e) {
    order.emplace_back(pos, e.env.job.value);
    return true;
  }));
  CHECK(order
        == std::vector<std::pair<std::uint64_t, std::uint64_t>>{
          {1, 1}, {2, 1}, {3, 1}, {4, 2}, {5, 2}, {6, 1}});
  verify_report report;
  must(reader->verify(report));
  CHECK(report.problems.empty());
  CHECK(report.events == 6);
  job_state state;
  must(reader->load_job(job_id{2}, state));
  CHECK(state.seq == 2);
}

TEST_CASE("every write to a read-only pg_log is refused and changes nothing", "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto writer = postgres_backend::open_pg(conninfo);
  must(writer->append(job_id{1}, 0, make_events(job_id{1}, 0, 2)));
  projection_batch seed;
  seed.put("p", "k", "v");
  seed.checkpoint("p", 2);
  must(writer->write_projections(seed));
  auto dump = [&] {
    return pg_cluster::query(
      conninfo, "SELECT (SELECT count(*) FROM almanac_events) || '/' ||"
                " (SELECT highest FROM almanac_position) || '/' ||"
                " (SELECT count(*) FROM almanac_snapshots) || '/' ||"
                " (SELECT string_agg(encode(key, 'escape') || '=' || encode(value, 'escape'), ',')"
                "  FROM almanac_projections) || '/' ||"
                " (SELECT string_agg(position::text, ',') FROM almanac_checkpoints) || '/' ||"
                " (SELECT string_agg(job || ':' || highest_seq || ':' ||"
                "  coalesce(purged_seq::text, '-'), ',') FROM almanac_streams)");
  };
  auto before = dump();
  REQUIRE(before == "2/2/0/k=v/2/1:2:-");
  auto reader = open_read_only(conninfo);
  auto refused = [](const status& st) {
    INFO(st.to_string());
    CHECK(st.get_code() == status::code::invalid_argument);
    CHECK(st.message().find("read-only") != std::string::npos);
  };
  refused(reader->append(job_id{1}, 2, make_events(job_id{1}, 2, 1)));
  refused(reader->append(job_id{3}, 0, make_events(job_id{3}, 0, 1)));
  std::atomic<int> calls{0};
  status async_status;
  reader->append_async(job_id{1}, 2, make_events(job_id{1}, 2, 1), [&](status st, std::uint64_t) {
    async_status = std::move(st);
    ++calls;
  });
  CHECK(calls == 1);
  refused(async_status);
  job_state state;
  must(reader->load_job(job_id{1}, state));
  refused(reader->save_snapshot(job_id{1}, state));
  projection_batch batch;
  batch.put("p", "k", "changed");
  batch.checkpoint("p", 1);
  refused(reader->write_projections(batch));
  refused(reader->drop_projection("p"));
  // job 1 is not deleted, but a purge is refused before it looks.
  refused(
    reader->purge_deleted(instant{} + std::chrono::hours{24 * 365 * 100}, std::chrono::seconds{0}));
  must(reader->close());
  CHECK(calls == 1);
  CHECK(dump() == before);
}

TEST_CASE("a read-only pg_log refuses an empty database and creates no table in it",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto db = conninfo.substr(conninfo.rfind('=') + 1);
  pg_options o;
  o.read_only = true;
  std::unique_ptr<pg_log> log;
  auto st = pg_log::open(conninfo, o, log);
  INFO(st.to_string());
  CHECK(st.get_code() == status::code::not_found);
  CHECK(st.message().find("no Almanac log in database " + db + " (host ") == 0);
  CHECK_FALSE(log);
  CHECK(almanac_tables(conninfo).empty());
  // A read-write open creates the schema there, as before.
  auto writer = postgres_backend::open_pg(conninfo);
  CHECK_FALSE(almanac_tables(conninfo).empty());
}

TEST_CASE("a read-only pg_log refuses a newer or an older schema and changes nothing",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  postgres_backend::open_pg(conninfo).reset();
  pg_options o;
  o.read_only = true;
  std::unique_ptr<pg_log> log;
  SECTION("a newer one") {
    pg_cluster::exec(conninfo, "INSERT INTO almanac_schema_version (version) VALUES ("
                                 + std::to_string(pg_log::schema_version + 1) + ")");
    auto st = pg_log::open(conninfo, o, log);
    INFO(st.to_string());
    CHECK(st.get_code() == status::code::newer_format);
    CHECK(st.message().find("upgrade Almanac") != std::string::npos);
  }
  SECTION("an older one") {
    pg_cluster::exec(conninfo, "DELETE FROM almanac_schema_version WHERE version = "
                                 + std::to_string(pg_log::schema_version));
    auto st = pg_log::open(conninfo, o, log);
    INFO(st.to_string());
    CHECK(st.get_code() == status::code::invalid_argument);
    CHECK(st.message().find("does not migrate") != std::string::npos);
    CHECK(pg_cluster::query(conninfo, "SELECT max(version) FROM almanac_schema_version")
          == std::to_string(pg_log::schema_version - 1));
  }
  CHECK_FALSE(log);
}

TEST_CASE("the server refuses a write made on a read-only pg_log's session", "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  auto writer = postgres_backend::open_pg(conninfo);
  must(writer->append(job_id{1}, 0, make_events(job_id{1}, 0, 2)));
  writer.reset();
  // highest_position() reads almanac_position; made a view over a function that also writes,
  // the read becomes a write, and only the session's read-only setting can refuse it.
  pg_cluster::exec(conninfo, "CREATE TABLE probe (n integer)");
  pg_cluster::exec(conninfo, "ALTER TABLE almanac_position RENAME TO almanac_position_real");
  pg_cluster::exec(conninfo,
                   "CREATE FUNCTION probe_write() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN"
                   " INSERT INTO probe VALUES (1);"
                   " RETURN (SELECT highest FROM almanac_position_real); END $$");
  pg_cluster::exec(conninfo, "CREATE VIEW almanac_position AS SELECT true AS id,"
                             " probe_write() AS highest");
  {
    auto reader = open_read_only(conninfo);
    std::uint64_t highest = 0;
    auto st = reader->highest_position(highest);
    INFO(st.to_string());
    CHECK_FALSE(st.is_ok());
    CHECK(st.message().find("read-only transaction") != std::string::npos);
  }
  CHECK(pg_cluster::query(conninfo, "SELECT count(*) FROM probe") == "0");
  // The same call on a read-write instance writes: the probe can tell.
  auto rw = postgres_backend::open_pg(conninfo);
  CHECK(position_of(*rw) == 2);
  CHECK(pg_cluster::query(conninfo, "SELECT count(*) FROM probe") == "1");
}

TEST_CASE("an exclusive writer refuses a second one and is fenced off once another takes over",
          "[store][postgres]") {
  auto conninfo = pg_cluster::shared().create_database();
  pg_options exclusive;
  exclusive.exclusive = true;
  exclusive.application_name = "almanac-first";
  std::unique_ptr<pg_log> first;
  must(pg_log::open(conninfo, exclusive, first));
  constexpr job_id job{0x91};
  must(first->append(job, 0, make_events(job, 0, 1)));
  // A second exclusive writer is refused while the first holds the log; a plain one is not.
  exclusive.application_name = "almanac-second";
  std::unique_ptr<pg_log> second;
  auto refused = pg_log::open(conninfo, exclusive, second);
  INFO(refused.to_string());
  CHECK(refused.get_code() == status::code::io_error);
  CHECK(refused.message().find("in use by another Almanac process") != std::string::npos);
  // The first one's session goes (a network cut, a stall past a timeout): the second takes over.
  session killer{conninfo};
  killer.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
              "'almanac-first'");
  for (int i = 0; i < 600 && !pg_log::open(conninfo, exclusive, second).ok(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  REQUIRE(second);
  must(second->append(job, 1, make_events(job, 1, 1)));
  // The first reconnects by itself, finds the lock taken and writes nothing: fenced off.
  auto fenced = first->append(job, 2, make_events(job, 2, 1));
  INFO(fenced.to_string());
  CHECK(fenced.get_code() == status::code::unavailable);
  CHECK(fenced.message().find("in use by another Almanac process") != std::string::npos);
  std::uint64_t highest = 0;
  must(second->highest_seq(job, highest));
  CHECK(highest == 2);
  must(second->append(job, 2, make_events(job, 2, 1)));
  // Once the second closes, the first may write again (it takes the lock before it writes). The
  // server lets the lock go when the closed session's backend has exited, a moment after close.
  must(second->close());
  auto writer_locks = [&] {
    return killer.exec("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                       "WHERE l.locktype = 'advisory' AND l.granted "
                       "AND d.datname = current_database()");
  };
  for (int i = 0; i < 1500 && writer_locks() != "0"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  must(first->append(job, 3, make_events(job, 3, 1)));
  must(first->highest_seq(job, highest));
  CHECK(highest == 4);
}

} // namespace
} // namespace almanac::store::test
