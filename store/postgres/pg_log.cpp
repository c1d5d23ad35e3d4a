#include "store/postgres/pg_log.hpp"

#include "store/detail/keys.hpp"
#include "store/detail/projection_names.hpp"
#include "store/postgres/detail/pg_conn.hpp"
#include "store/postgres/detail/pg_schema.hpp"
#include "store/postgres/detail/pg_test_hooks.hpp"

#include "events/codec.hpp"
#include "events/evolve.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace almanac::store {

using namespace detail;

namespace {

// Rows fetched per query by the readers: bounds their memory whatever the log's size.
constexpr int page_rows = 1000;

constexpr std::uint64_t db_max = std::numeric_limits<std::int64_t>::max();

// The advisory-lock key of the exclusive writer: "almanacw" in ASCII, one per database (the
// schema migration's is "almanac": the two must differ, or a second open would wait on the
// writer's session lock to migrate instead of being refused).
constexpr std::int64_t writer_lock_key = 0x616c6d616e616377;

struct pg_pending {
  job_id job;
  std::uint64_t expected_seq = 0;
  std::vector<std::string> encoded;
  std::vector<std::int32_t> types;
  std::vector<std::int64_t> recorded_us;
  std::optional<std::int64_t> deleted_us;
  // Set when the append was refused before it reached the writer (bad envelope).
  status refused;
  journal::append_callback done;
};

// The checks and the encoding happen on the caller's thread, as in event_log.
status prepare(job_id job, std::uint64_t expected_seq, const std::vector<event>& events,
               pg_pending& p) {
  p.job = job;
  p.expected_seq = expected_seq;
  if (events.empty())
    return status::invalid_argument("append of no events to job " + to_string(job));
  if (expected_seq + events.size() > db_max)
    return status::invalid_argument("append to job " + to_string(job) + " after seq "
                                    + std::to_string(expected_seq)
                                    + ": sequences beyond 2^63 - 1 are not stored");
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    if (e.env.job != job)
      return status::invalid_argument("append to job " + to_string(job) + ": event "
                                      + std::to_string(i) + " belongs to job "
                                      + to_string(e.env.job));
    if (e.env.seq != expected_seq + 1 + i)
      return status::invalid_argument("append to job " + to_string(job) + " after seq "
                                      + std::to_string(expected_seq) + ": event "
                                      + std::to_string(i) + " has seq " + std::to_string(e.env.seq)
                                      + ", expected " + std::to_string(expected_seq + 1 + i));
    if (std::holds_alternative<job_deleted>(e.body))
      p.deleted_us = to_unix_us(e.env.recorded_at);
    p.encoded.push_back(encode_event(e));
    p.types.push_back(static_cast<std::int32_t>(event_tag(e.body)));
    p.recorded_us.push_back(to_unix_us(e.env.recorded_at));
  }
  return status{};
}

status decode_at(job_id job, std::uint64_t seq, std::string_view bytes, event& out) {
  auto decoded = decode_event(bytes);
  if (!decoded)
    return status::undecodable(decoded.err(), "job " + to_string(job) + " seq "
                                                + std::to_string(seq)
                                                + " does not decode: " + decoded.err().message);
  if (decoded->env.job != job || decoded->env.seq != seq)
    return status::corruption("job " + to_string(job) + " seq " + std::to_string(seq)
                              + " holds an event of job " + to_string(decoded->env.job) + " seq "
                              + std::to_string(decoded->env.seq));
  out = std::move(*decoded);
  return status{};
}

// The insert of a whole group: events, the streams' new highest sequences, the counter.
constexpr std::string_view insert_group_sql =
  "WITH ev AS ("
  "  INSERT INTO almanac_events (job, seq, position, type, recorded_at, payload)"
  "  SELECT j, s, p, t, timestamptz 'epoch' + r * interval '1 microsecond', b"
  "    FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::bigint[],"
  "                $6::bytea[]) AS e(j, s, p, t, r, b)),"
  " st AS ("
  "  INSERT INTO almanac_streams AS cur (job, highest_seq, deleted_at)"
  "  SELECT j, s, timestamptz 'epoch' + d * interval '1 microsecond'"
  "    FROM unnest($7::bigint[], $8::bigint[], $9::bigint[]) AS x(j, s, d)"
  "  ON CONFLICT (job) DO UPDATE SET highest_seq = EXCLUDED.highest_seq,"
  "    deleted_at = coalesce(cur.deleted_at, EXCLUDED.deleted_at))"
  "UPDATE almanac_position SET highest = $10 WHERE id";

status refuse_read_only(std::string_view what) {
  return status::invalid_argument(std::string{what} + ": the log is open read-only");
}

} // namespace

struct pg_log::impl {
  std::string conninfo;
  pg_options opts;

  std::mutex mtx;
  std::condition_variable cv;
  std::deque<pg_pending> queue;
  // Events in `queue`, and blocking appends waiting for room in it (pg_log::wait_for_room).
  std::size_t queued_events = 0;
  std::size_t waiting = 0;
  std::condition_variable not_full;
  bool stopping = false;
  std::thread writer;
  pg_connection wconn;
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> write_us{0};

  // What health() shows. `connected` follows the writer's connection: false from a loss until
  // the writer connects again, which it tries once a second while idle, so health turns green
  // after a server restart without waiting for an append.
  std::atomic<bool> connected{true};
  std::atomic<std::uint64_t> losses{0};
  std::atomic<std::uint64_t> reconnects{0};
  mutable std::mutex error_mtx;
  std::string last_error;

  void note_failure(const status& st, bool lost) {
    {
      std::lock_guard lock{error_mtx};
      last_error = st.message();
    }
    if (lost && connected.exchange(false))
      ++losses;
  }
  void note_connected() {
    if (!connected.exchange(true))
      ++reconnects;
  }

  mutable std::mutex read_mtx;
  mutable pg_connection rconn;

  std::atomic<bool> closed{false};
  std::mutex close_mtx;
  status close_status;

  impl(const std::string& writer_info, const std::string& reader_info, pg_options o)
      : conninfo(reader_info), opts(std::move(o)), wconn(writer_info), rconn(reader_info) {}

  // Runs `f(conn)` on the reading connection; once more on a fresh connection if the first
  // attempt lost it (reads change nothing, so a retry is safe).
  template <class F>
  status with_reader(std::string_view what, F&& f) const {
    if (closed)
      return status::unavailable(std::string{what} + ": the log is closed");
    std::lock_guard lock{read_mtx};
    for (int attempt = 0;; ++attempt) {
      if (auto st = rconn.ensure(); !st)
        return st;
      auto st = f(rconn);
      if (st || !rconn.lost() || attempt == 1)
        return st;
    }
  }

  // The connection count under which the writer's connection holds the exclusive lock.
  std::uint64_t locked_on = 0;

  // Takes the exclusive writer lock on the writer's connection (pg_options::exclusive).
  // Errors: unavailable naming the database when another session holds it (not a lost
  // connection: wconn.lost() stays false), or the connection's.
  status take_writer_lock() {
    pg_rows rows;
    if (auto st = wconn.exec("SELECT pg_try_advisory_lock($1)::int", pg_params{}.add_i64(writer_lock_key),
                             &rows);
        !st)
      return st;
    if (rows.size() != 1 || rows.i32(0, 0) != 1)
      return status::unavailable("PostgreSQL (" + wconn.describe()
                                 + "): the log is in use by another Almanac process (it holds "
                                   "the writer lock; see pg_stat_activity)");
    locked_on = wconn.connects();
    return status{};
  }

  void run();
  void commit_group(std::vector<pg_pending>& group, std::vector<status>& results,
                    std::vector<std::uint64_t>& firsts);
  status attempt(std::vector<pg_pending>& group, std::vector<status>& results,
                 std::vector<std::uint64_t>& firsts, bool& commit_sent);
  bool submit(pg_pending&& p);
};

bool pg_log::impl::submit(pg_pending&& p) {
  {
    std::lock_guard lock{mtx};
    if (stopping)
      return false;
    queued_events += p.encoded.size();
    queue.push_back(std::move(p));
  }
  cv.notify_one();
  return true;
}

void pg_log::impl::run() {
  for (;;) {
    std::vector<pg_pending> group;
    {
      std::unique_lock lock{mtx};
      while (!stopping && queue.empty() && !connected) {
        lock.unlock();
        if (wconn.ensure())
          note_connected();
        lock.lock();
        if (!connected)
          cv.wait_for(lock, std::chrono::seconds{1}, [&] { return stopping || !queue.empty(); });
      }
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty())
        return;
      std::size_t events = 0;
      while (!queue.empty()
             && (group.empty() || events + queue.front().encoded.size() <= opts.max_group_events)) {
        events += queue.front().encoded.size();
        group.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      queued_events -= events;
    }
    not_full.notify_all();
    std::vector<status> results(group.size());
    std::vector<std::uint64_t> firsts(group.size(), 0);
    commit_group(group, results, firsts);
    for (std::size_t i = 0; i < group.size(); ++i)
      group[i].done(std::move(results[i]), firsts[i]);
  }
}

void pg_log::impl::commit_group(std::vector<pg_pending>& group, std::vector<status>& results,
                                std::vector<std::uint64_t>& firsts) {
  bool any = false;
  for (std::size_t i = 0; i < group.size(); ++i) {
    results[i] = group[i].refused;
    any = any || group[i].refused.ok();
  }
  if (!any)
    return;
  for (int round = 0;; ++round) {
    for (std::size_t i = 0; i < group.size(); ++i)
      results[i] = group[i].refused;
    bool commit_sent = false;
    auto started = std::chrono::steady_clock::now();
    status st = wconn.ensure();
    bool reached = static_cast<bool>(st);
    if (st && opts.exclusive && wconn.connects() != locked_on)
      st = take_writer_lock();
    if (st)
      st = attempt(group, results, firsts, commit_sent);
    write_us += static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count());
    if (st) {
      note_connected();
      return;
    }
    note_failure(st, !reached || wconn.lost());
    // Before COMMIT, a lost connection took its unfinished transaction with it: nothing was
    // written, and one retry on a new connection is safe (a server restart between appends).
    bool retry = round == 0 && !commit_sent && wconn.lost();
    if (!retry) {
      if (commit_sent && wconn.lost())
        st = status::outcome_unknown(st.message()
                                 + "; the connection was lost during COMMIT, so the append may "
                                   "or may not be in the log: re-read the stream");
      for (std::size_t i = 0; i < group.size(); ++i)
        if (group[i].refused.ok() && !results[i].is_conflict())
          results[i] = st;
      return;
    }
  }
}

status pg_log::impl::attempt(std::vector<pg_pending>& group, std::vector<status>& results,
                             std::vector<std::uint64_t>& firsts, bool& commit_sent) {
  auto fail = [&](status st) {
    if (!wconn.lost())
      static_cast<void>(wconn.exec("ROLLBACK"));
    return st;
  };
  std::vector<std::int64_t> jobs;
  for (std::size_t i = 0; i < group.size(); ++i)
    if (group[i].refused.ok())
      jobs.push_back(to_db(group[i].job.value));
  std::sort(jobs.begin(), jobs.end());
  jobs.erase(std::unique(jobs.begin(), jobs.end()), jobs.end());
  // One round trip: BEGIN, the counter's row lock (held until COMMIT, it keeps positions in
  // commit order), then the streams' highest seqs. That read is a statement of its own after
  // the lock's, so its snapshot is taken once the lock is held: every writer that committed
  // before is visible, and none can write until we commit.
  pg_rows counter;
  pg_rows highest_rows;
  pg_params jobs_param;
  jobs_param.add_i64_array(jobs);
  if (auto st = wconn.exec_pipeline(
        {{"BEGIN"},
         {"SELECT highest FROM almanac_position WHERE id FOR UPDATE", nullptr, &counter},
         {"SELECT job, highest_seq FROM almanac_streams WHERE job = ANY($1::bigint[])",
          &jobs_param, &highest_rows}});
      !st)
    return fail(std::move(st));
  if (counter.size() != 1)
    return fail(
      status::corruption("PostgreSQL (" + wconn.describe() + "): almanac_position has no row"));
  auto position = from_db(counter.i64(0, 0));
  std::unordered_map<std::uint64_t, std::uint64_t> highest;
  for (int r = 0; r < highest_rows.size(); ++r)
    highest[from_db(highest_rows.i64(r, 0))] = from_db(highest_rows.i64(r, 1));
  std::vector<std::int64_t> ev_job, ev_seq, ev_pos, ev_rec;
  std::vector<std::int32_t> ev_type;
  std::vector<std::string_view> ev_payload;
  std::map<std::uint64_t, std::optional<std::int64_t>> deleted;
  for (std::size_t i = 0; i < group.size(); ++i) {
    auto& p = group[i];
    if (!p.refused.ok())
      continue;
    results[i] = status{};
    auto& current = highest[p.job.value];
    if (p.expected_seq != current) {
      results[i] = status::conflict("job " + to_string(p.job) + ": expected seq "
                                    + std::to_string(p.expected_seq) + " but the stream is at "
                                    + std::to_string(current));
      continue;
    }
    firsts[i] = position + 1;
    for (std::size_t k = 0; k < p.encoded.size(); ++k) {
      ev_job.push_back(to_db(p.job.value));
      ev_seq.push_back(to_db(p.expected_seq + 1 + k));
      ev_pos.push_back(to_db(++position));
      ev_type.push_back(p.types[k]);
      ev_rec.push_back(p.recorded_us[k]);
      ev_payload.push_back(p.encoded[k]);
    }
    current = p.expected_seq + p.encoded.size();
    auto& d = deleted[p.job.value];
    if (!d)
      d = p.deleted_us;
  }
  if (ev_job.empty()) {
    // Every append of the group conflicted: nothing to write.
    return fail(status{});
  }
  std::vector<std::int64_t> st_job, st_seq;
  std::vector<std::optional<std::int64_t>> st_deleted;
  for (auto& [job, d] : deleted) {
    st_job.push_back(to_db(job));
    st_seq.push_back(to_db(highest[job]));
    st_deleted.push_back(d);
  }
  pg_params params;
  params.add_i64_array(ev_job)
    .add_i64_array(ev_seq)
    .add_i64_array(ev_pos)
    .add_i32_array(ev_type)
    .add_i64_array(ev_rec)
    .add_bytes_array(ev_payload)
    .add_i64_array(st_job)
    .add_i64_array(st_seq)
    .add_i64_array(st_deleted)
    .add_i64(to_db(position));
  // The insert and COMMIT in one round trip: if the insert fails the server skips the COMMIT,
  // and the transaction is rolled back. Once both are sent, a lost connection leaves the
  // outcome unknown.
  commit_sent = true;
  if (auto st = wconn.exec_pipeline({{insert_group_sql, &params}, {"COMMIT"}}); !st)
    return fail(std::move(st));
  ++commits;
  return status{};
}

pg_log::pg_log(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

pg_log::~pg_log() {
  static_cast<void>(close());
}

status pg_log::open(const std::string& conninfo, const pg_options& opts,
                    std::unique_ptr<pg_log>& out) {
  // application_name is appended as a keyword: for a URI, libpq accepts a second conninfo
  // only through its "dbname" expansion, so a URI gets it as a query parameter.
  std::string info = conninfo;
  bool uri = info.rfind("postgresql://", 0) == 0 || info.rfind("postgres://", 0) == 0;
  // `value` holds no quote, backslash, '&' or '%' (the callers' constants).
  auto add = [&](const std::string& key, const std::string& value, const std::string& encoded) {
    if (uri)
      info += (info.find('?') == std::string::npos ? "?" : "&") + key + "=" + encoded;
    else
      info += " " + key + "='" + value + "'";
  };
  if (!opts.application_name.empty())
    add("application_name", opts.application_name, opts.application_name);
  // Read-only sessions (replay) and the writer's synchronous_commit are settings of the
  // session, given at connect time so that every reconnect has them too.
  std::string winfo = info;
  if (opts.read_only)
    add("options", "-c default_transaction_read_only=on",
        "-c%20default_transaction_read_only%3Don");
  if (!opts.synchronous_commit) {
    std::swap(info, winfo);
    add("options", "-c synchronous_commit=off", "-c%20synchronous_commit%3Doff");
    std::swap(info, winfo);
  }
  auto p = std::make_unique<impl>(winfo, info, opts);
  if (auto st = p->rconn.ensure(); !st)
    return st;
  if (opts.read_only) {
    // No writer thread: the write entry points refuse before they would queue anything.
    if (auto st = check_schema(p->rconn, schema_version); !st)
      return st;
    out.reset(new pg_log(std::move(p)));
    return status{};
  }
  if (auto st = migrate_schema(p->rconn, schema_version); !st)
    return st;
  if (opts.exclusive) {
    if (auto st = p->wconn.ensure(); !st)
      return st;
    if (auto st = p->take_writer_lock(); !st)
      return st.get_code() == status::code::unavailable && !p->wconn.lost()
               ? status::io_error(st.message())
               : st;
  }
  auto* raw = p.get();
  p->writer = std::thread{[raw] { raw->run(); }};
  out.reset(new pg_log(std::move(p)));
  return status{};
}

status pg_log::close() {
  std::lock_guard lock{impl_->close_mtx};
  if (impl_->closed)
    return impl_->close_status;
  {
    std::lock_guard qlock{impl_->mtx};
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->not_full.notify_all();
  if (impl_->writer.joinable())
    impl_->writer.join();
  impl_->closed = true;
  impl_->wconn.disconnect();
  {
    std::lock_guard rlock{impl_->read_mtx};
    impl_->rconn.disconnect();
  }
  return impl_->close_status;
}

journal_health pg_log::health() const {
  journal_health h;
  h.backend = "postgresql";
  h.connected = impl_->connected;
  h.group_writes = impl_->commits;
  h.write_time = std::chrono::microseconds{impl_->write_us.load()};
  h.connection_losses = impl_->losses;
  h.reconnects = impl_->reconnects;
  {
    std::lock_guard lock{impl_->mtx};
    h.queued_events = impl_->queued_events;
    h.appends_waiting = impl_->waiting;
  }
  std::lock_guard lock{impl_->error_mtx};
  h.last_error = impl_->last_error;
  return h;
}

std::uint64_t pg_log::group_commits() const noexcept {
  return impl_->commits;
}

void pg_log::wait_for_room(std::size_t events) {
  std::unique_lock lock{impl_->mtx};
  // An append larger than the whole bound still goes once the queue is empty.
  auto room = [&] {
    return impl_->stopping || impl_->queued_events == 0
           || impl_->queued_events + events <= impl_->opts.max_queued_events;
  };
  if (room())
    return;
  ++impl_->waiting;
  impl_->not_full.wait(lock, room);
  --impl_->waiting;
}

void pg_log::append_async(job_id job, std::uint64_t expected_seq, std::vector<event> events,
                          append_callback done) {
  if (impl_->opts.read_only) {
    // No writer thread to run it: `done` runs here, once.
    done(refuse_read_only("append to job " + to_string(job)), 0);
    return;
  }
  pg_pending p;
  // A refusal still goes through the writer, so `done` always runs on the writer thread.
  p.refused = prepare(job, expected_seq, events, p);
  p.done = std::move(done);
  if (!impl_->submit(std::move(p)))
    p.done(status::unavailable("append to job " + to_string(job) + ": the log is closed"), 0);
}

status pg_log::scan_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                           const std::function<bool(const event&)>& fn) const {
  from_seq = std::max<std::uint64_t>(from_seq, 1);
  to_seq = std::min(to_seq, db_max);
  if (from_seq > to_seq)
    return status{};
  std::vector<std::pair<std::uint64_t, std::string>> page;
  for (;;) {
    page.clear();
    auto st = impl_->with_reader("read of job " + to_string(job), [&](pg_connection& c) {
      pg_rows rows;
      auto st = c.exec("SELECT seq, payload FROM almanac_events WHERE job = $1 AND seq >= $2 "
                       "AND seq <= $3 ORDER BY seq LIMIT $4",
                       pg_params{}
                         .add_i64(to_db(job.value))
                         .add_i64(to_db(from_seq))
                         .add_i64(to_db(to_seq))
                         .add_i64(page_rows),
                       &rows);
      if (!st)
        return st;
      for (int r = 0; r < rows.size(); ++r)
        page.emplace_back(from_db(rows.i64(r, 0)), std::string{rows.bytes(r, 1)});
      return status{};
    });
    if (!st)
      return st;
    for (auto& [seq, bytes] : page) {
      event e;
      if (auto dst = decode_at(job, seq, bytes, e); !dst)
        return dst;
      if (!fn(e))
        return status{};
    }
    if (page.size() < static_cast<std::size_t>(page_rows) || page.back().first >= to_seq)
      return status{};
    from_seq = page.back().first + 1;
  }
}

status pg_log::read_stream(job_id job, std::uint64_t from_seq, std::uint64_t to_seq,
                           std::uint64_t max_count, std::vector<event>& out) const {
  if (max_count == 0)
    return status{};
  std::uint64_t n = 0;
  return scan_stream(job, from_seq, to_seq, [&](const event& e) {
    out.push_back(e);
    return ++n < max_count;
  });
}

status pg_log::read_all(std::uint64_t from_position,
                        const std::function<bool(std::uint64_t, const event&)>& fn) const {
  // The view as of the call: up to the counter's committed value, which every lower position's
  // transaction committed before (they held its lock first).
  std::uint64_t last = 0;
  if (auto st = highest_position(last); !st)
    return st;
  from_position = std::max<std::uint64_t>(from_position, 1);
  struct row {
    std::uint64_t position;
    job_id job;
    std::uint64_t seq;
    std::string bytes;
  };
  std::vector<row> page;
  while (from_position <= last) {
    page.clear();
    auto st = impl_->with_reader("read_all", [&](pg_connection& c) {
      pg_rows rows;
      auto st = c.exec(
        "SELECT position, job, seq, payload FROM almanac_events WHERE position >= "
        "$1 AND position <= $2 ORDER BY position LIMIT $3",
        pg_params{}.add_i64(to_db(from_position)).add_i64(to_db(last)).add_i64(page_rows), &rows);
      if (!st)
        return st;
      for (int r = 0; r < rows.size(); ++r)
        page.push_back({from_db(rows.i64(r, 0)), job_id{from_db(rows.i64(r, 1))},
                        from_db(rows.i64(r, 2)), std::string{rows.bytes(r, 3)}});
      return status{};
    });
    if (!st)
      return st;
    for (auto& r : page) {
      auto decoded = decode_event(r.bytes);
      if (!decoded)
        return status::undecodable(decoded.err(),
                                   "position " + std::to_string(r.position) + " (job "
                                     + to_string(r.job) + " seq " + std::to_string(r.seq)
                                     + ") does not decode: " + decoded.err().message);
      if (decoded->env.job != r.job || decoded->env.seq != r.seq)
        return status::corruption("position " + std::to_string(r.position) + " names job "
                                  + to_string(r.job) + " seq " + std::to_string(r.seq)
                                  + " but holds job " + to_string(decoded->env.job) + " seq "
                                  + std::to_string(decoded->env.seq));
      if (!fn(r.position, *decoded))
        return status{};
    }
    if (page.size() < static_cast<std::size_t>(page_rows))
      return status{};
    from_position = page.back().position + 1;
  }
  return status{};
}

status pg_log::highest_seq(job_id job, std::uint64_t& out) const {
  out = 0;
  return impl_->with_reader("highest_seq", [&](pg_connection& c) {
    pg_rows rows;
    auto st = c.exec("SELECT highest_seq FROM almanac_streams WHERE job = $1",
                     pg_params{}.add_i64(to_db(job.value)), &rows);
    if (st && rows.size() == 1)
      out = from_db(rows.i64(0, 0));
    return st;
  });
}

status pg_log::highest_position(std::uint64_t& out) const {
  out = 0;
  return impl_->with_reader("highest_position", [&](pg_connection& c) {
    pg_rows rows;
    auto st = c.exec("SELECT highest FROM almanac_position WHERE id", &rows);
    if (st && rows.size() == 1)
      out = from_db(rows.i64(0, 0));
    return st;
  });
}

status pg_log::for_each_stream(const std::function<bool(const stream_info&)>& fn) const {
  std::vector<stream_info> all;
  auto st = impl_->with_reader("for_each_stream", [&](pg_connection& c) {
    all.clear();
    pg_rows rows;
    // Unsigned job order: the ids whose top bit is set are the negative bigints, and come last.
    auto st = c.exec("SELECT job, highest_seq,"
                     " (extract(epoch FROM deleted_at) * 1000000)::bigint,"
                     " (purged_seq IS NOT NULL AND purged_seq = highest_seq)::integer"
                     " FROM almanac_streams ORDER BY job < 0, job",
                     &rows);
    if (!st)
      return st;
    for (int r = 0; r < rows.size(); ++r) {
      stream_info info;
      info.job = job_id{from_db(rows.i64(r, 0))};
      info.highest_seq = from_db(rows.i64(r, 1));
      if (!rows.is_null(r, 2))
        info.deleted_at = from_unix_us(rows.i64(r, 2));
      info.purged = rows.i32(r, 3) != 0;
      all.push_back(info);
    }
    return status{};
  });
  if (!st)
    return st;
  for (auto& info : all)
    if (!fn(info))
      break;
  return status{};
}

status pg_log::save_snapshot(job_id job, const job_state& state) {
  if (impl_->opts.read_only)
    return refuse_read_only("snapshot of job " + to_string(job));
  if (auto st = check_snapshot_to_save(*this, job, state); !st)
    return st;
  auto bytes = encode_state(state);
  return impl_->with_reader("snapshot of job " + to_string(job), [&](pg_connection& c) {
    // An older snapshot never replaces a newer one (they may race from two writers).
    return c.exec("INSERT INTO almanac_snapshots AS cur (job, seq, state) VALUES ($1, $2, $3)"
                  " ON CONFLICT (job) DO UPDATE SET seq = EXCLUDED.seq, state = EXCLUDED.state,"
                  " saved_at = now() WHERE cur.seq <= EXCLUDED.seq",
                  pg_params{}.add_i64(to_db(job.value)).add_i64(to_db(state.seq)).add_bytes(bytes));
  });
}

status pg_log::load_latest_snapshot(job_id job, loaded_snapshot& out) const {
  out = {};
  std::optional<std::pair<std::uint64_t, std::string>> found;
  auto st = impl_->with_reader("snapshot of job " + to_string(job), [&](pg_connection& c) {
    pg_rows rows;
    auto st = c.exec("SELECT seq, state FROM almanac_snapshots WHERE job = $1",
                     pg_params{}.add_i64(to_db(job.value)), &rows);
    if (st && rows.size() == 1)
      found.emplace(from_db(rows.i64(0, 0)), std::string{rows.bytes(0, 1)});
    return st;
  });
  if (!st || !found)
    return st;
  check_snapshot(job, found->first, found->second, out);
  return status{};
}

namespace {

// Streams (with their snapshots) and event rows per query of load_jobs: what bounds its memory.
std::atomic<std::size_t> load_jobs_streams_page{load_jobs_pages{}.streams};
std::atomic<std::size_t> load_jobs_events_page{load_jobs_pages{}.events};

} // namespace

load_jobs_pages detail::set_load_jobs_pages(load_jobs_pages pages) {
  return {load_jobs_streams_page.exchange(pages.streams),
          load_jobs_events_page.exchange(pages.events)};
}

namespace {

// One page of streams with their latest snapshots, in job order within [$1, $2] (one sign of
// the bigint at a time, so that the pages run in unsigned order). Purged streams are left out.
constexpr std::string_view load_streams_sql =
  "SELECT s.job, sn.seq, sn.state FROM almanac_streams s"
  " LEFT JOIN almanac_snapshots sn ON sn.job = s.job"
  " WHERE s.job >= $1 AND s.job <= $2"
  "   AND (s.purged_seq IS NULL OR s.purged_seq <> s.highest_seq)"
  " ORDER BY s.job LIMIT $3";

// The events of the page's jobs after the seq given for each, in the jobs' order and then by
// seq, at most $3 rows. Each job is an index range scan, and the outer order is the ordinality's
// (already sorted), so the server stops once it has $3 rows.
constexpr std::string_view load_events_sql =
  "SELECT j.job, e.seq, e.payload"
  " FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS j(job, after, n)"
  " CROSS JOIN LATERAL (SELECT seq, payload FROM almanac_events"
  "   WHERE job = j.job AND seq > j.after ORDER BY seq LIMIT $3) e"
  " ORDER BY j.n, e.seq LIMIT $3";

// A job of the current page while its events are folded.
struct recovering {
  job_state state;
  std::string warning;
  // The events after this seq are still to come.
  std::uint64_t after = 0;
};

using load_fn = std::function<bool(job_state&&, const std::string& warning)>;

// The walk of load_jobs from `next` (the lowest unsigned job id not yet handed to `fn`), inside
// one snapshot of the database. `next` advances as jobs are handed over, so after a lost
// connection a new walk resumes at the first job not handed over. `stopped`: fn returned false.
status load_walk(pg_connection& c, std::uint64_t& next, bool& finished, bool& stopped,
                 const load_fn& fn) {
  if (auto st = c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !st)
    return st;
  auto streams_page = static_cast<std::int64_t>(std::max<std::size_t>(1, load_jobs_streams_page));
  auto events_page = static_cast<std::int64_t>(std::max<std::size_t>(1, load_jobs_events_page));
  std::vector<recovering> page;
  auto hand_over = [&](recovering& r) {
    auto job = r.state.id.value;
    if (!fn(std::move(r.state), r.warning))
      stopped = true;
    if (job == std::numeric_limits<std::uint64_t>::max())
      finished = true;
    else
      next = job + 1;
  };
  while (!finished && !stopped) {
    // Ids below 2^63 are the non-negative bigints; the others, the negative ones, come after.
    bool high = next > db_max;
    auto upper = high ? std::int64_t{-1} : std::numeric_limits<std::int64_t>::max();
    page.clear();
    {
      pg_rows rows;
      auto st = c.exec(
        load_streams_sql,
        pg_params{}.add_i64(to_db(next)).add_i64(upper).add_i64(streams_page), &rows);
      if (!st)
        return st;
      for (int r = 0; r < rows.size(); ++r) {
        auto& job = page.emplace_back();
        job.state.id = job_id{from_db(rows.i64(r, 0))};
        if (rows.is_null(r, 1))
          continue;
        // A snapshot that cannot be used is a warning, and the job replays from seq 1.
        loaded_snapshot snap;
        check_snapshot(job.state.id, from_db(rows.i64(r, 1)), rows.bytes(r, 2), snap);
        job.warning = std::move(snap.warning);
        if (snap.state) {
          job.state = std::move(*snap.state);
          job.after = job.state.seq;
        }
      }
    }
    // A short page is the last of its sign.
    bool sign_done = page.size() < static_cast<std::size_t>(streams_page);
    // The page's events, folded as they come; `first` is the first job not handed over.
    std::size_t first = 0;
    while (first < page.size() && !stopped) {
      std::vector<std::int64_t> jobs, afters;
      for (auto i = first; i < page.size(); ++i) {
        jobs.push_back(to_db(page[i].state.id.value));
        afters.push_back(to_db(page[i].after));
      }
      pg_rows rows;
      auto st = c.exec(load_events_sql,
                       pg_params{}.add_i64_array(jobs).add_i64_array(afters).add_i64(events_page),
                       &rows);
      if (!st)
        return st;
      auto at = first;
      for (int r = 0; r < rows.size() && !stopped; ++r) {
        job_id job{from_db(rows.i64(r, 0))};
        while (at < page.size() && page[at].state.id != job && !stopped)
          hand_over(page[at++]);
        if (at == page.size() || stopped)
          break;
        auto seq = from_db(rows.i64(r, 1));
        event e;
        if (auto dst = decode_at(job, seq, rows.bytes(r, 2), e); !dst)
          return dst;
        page[at].state = evolve(std::move(page[at].state), e);
        page[at].after = seq;
      }
      if (rows.size() < events_page) {
        // Every job of the page has all its events.
        while (at < page.size() && !stopped)
          hand_over(page[at++]);
      }
      first = at;
    }
    if (sign_done && !stopped) {
      if (high)
        finished = true;
      else
        next = std::max(next, db_max + 1);
    }
  }
  return c.exec("COMMIT");
}

} // namespace

status pg_log::load_jobs(const load_fn& fn) const {
  if (impl_->closed)
    return status::unavailable("load_jobs: the log is closed");
  // A connection of its own: the walk keeps one transaction open across its pages (every page
  // sees the same snapshot), while `fn` may use the log's reading connection meanwhile.
  pg_connection c{impl_->conninfo};
  std::uint64_t next = 0;
  bool finished = false;
  bool stopped = false;
  for (int attempt = 0;; ++attempt) {
    auto st = c.ensure();
    if (st)
      st = load_walk(c, next, finished, stopped, fn);
    if (st || !c.lost() || attempt == 1)
      return st;
  }
}

// One batch as one statement: the erases, the puts and the checkpoints (data-modifying CTEs see
// one snapshot and commit together). The batch is reduced first to the last write per key, so no
// row is touched twice, which ON CONFLICT DO UPDATE forbids within a statement.
constexpr std::string_view write_projections_sql =
  "WITH del AS ("
  "  DELETE FROM almanac_projections p USING unnest($1::bytea[], $2::bytea[]) AS d(n, k)"
  "   WHERE p.name = d.n AND p.key = d.k),"
  " ins AS ("
  "  INSERT INTO almanac_projections (name, key, value)"
  "  SELECT n, k, v FROM unnest($3::bytea[], $4::bytea[], $5::bytea[]) AS i(n, k, v)"
  "  ON CONFLICT (name, key) DO UPDATE SET value = EXCLUDED.value)"
  "INSERT INTO almanac_checkpoints (name, position)"
  "  SELECT n, p FROM unnest($6::bytea[], $7::bigint[]) AS c(n, p)"
  "  ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position";

status pg_log::write_projections(const projection_batch& batch) {
  if (impl_->opts.read_only)
    return refuse_read_only("write_projections");
  if (impl_->closed)
    return status::unavailable("write_projections: the log is closed");
  using kind = projection_batch::op::kind;
  // (name, key) -> the value of the last put, or nullptr for an erase.
  std::map<std::pair<std::string_view, std::string_view>, const std::string*> entries;
  std::map<std::string_view, std::uint64_t> checkpoints;
  for (auto& op : batch.ops()) {
    if (auto st = check_projection_name(op.projection); !st)
      return st;
    switch (op.what) {
      case kind::put:
        entries[{op.projection, op.key}] = &op.value;
        break;
      case kind::erase:
        entries[{op.projection, op.key}] = nullptr;
        break;
      case kind::checkpoint:
        checkpoints[op.projection] = op.position;
        break;
    }
  }
  if (entries.empty() && checkpoints.empty())
    return status{};
  std::vector<std::string_view> del_name, del_key, put_name, put_key, put_value, cp_name;
  std::vector<std::int64_t> cp_position;
  for (auto& [where, value] : entries) {
    if (value) {
      put_name.push_back(where.first);
      put_key.push_back(where.second);
      put_value.push_back(*value);
    } else {
      del_name.push_back(where.first);
      del_key.push_back(where.second);
    }
  }
  for (auto& [name, position] : checkpoints) {
    if (position > db_max)
      return status::invalid_argument("checkpoint of projection " + std::string{name} + " at "
                                      + std::to_string(position)
                                      + ": positions beyond 2^63 - 1 are not stored");
    cp_name.push_back(name);
    cp_position.push_back(to_db(position));
  }
  pg_params params;
  params.add_bytes_array(del_name)
    .add_bytes_array(del_key)
    .add_bytes_array(put_name)
    .add_bytes_array(put_key)
    .add_bytes_array(put_value)
    .add_bytes_array(cp_name)
    .add_i64_array(cp_position);
  return impl_->with_reader(
    "writing " + std::to_string(batch.size()) + " projection entries",
    [&](pg_connection& c) { return c.exec(write_projections_sql, params); });
}

status pg_log::read_checkpoint(std::string_view projection, std::uint64_t& position) const {
  position = 0;
  if (auto st = check_projection_name(projection); !st)
    return st;
  return impl_->with_reader("read_checkpoint", [&](pg_connection& c) {
    pg_rows rows;
    auto st = c.exec("SELECT position FROM almanac_checkpoints WHERE name = $1::bytea",
                     pg_params{}.add_bytes(projection), &rows);
    if (st && rows.size() == 1)
      position = from_db(rows.i64(0, 0));
    return st;
  });
}

status pg_log::get_projection(std::string_view projection, std::string_view key,
                              std::string& value) const {
  if (auto st = check_projection_name(projection); !st)
    return st;
  auto where = "projection " + std::string{projection} + " key " + printable_key(key);
  bool found = false;
  auto st = impl_->with_reader(where, [&](pg_connection& c) {
    pg_rows rows;
    auto st = c.exec("SELECT value FROM almanac_projections WHERE name = $1::bytea"
                     " AND key = $2::bytea",
                     pg_params{}.add_bytes(projection).add_bytes(key), &rows);
    if (st && rows.size() == 1) {
      found = true;
      value.assign(rows.bytes(0, 0));
    }
    return st;
  });
  if (st && !found)
    return status::not_found(where);
  return st;
}

status pg_log::scan_projection(std::string_view projection, const projection_scan& scan,
                               std::vector<projection_row>& out) const {
  if (auto st = check_projection_name(projection); !st)
    return st;
  if (impl_->closed)
    return status::unavailable("scan_projection: the log is closed");
  if (scan.limit == 0)
    return status{};
  bool forward = scan.direction == scan_direction::forward;
  // The prefix is the range [prefix, successor): no successor (a prefix of 0xff bytes only, or
  // none) leaves the range open above. `from` bounds the start side; after the first page the
  // last key returned does, exclusively.
  auto upper = prefix_successor(scan.prefix);
  std::optional<std::string> start;
  if (!scan.from.empty())
    start = scan.from;
  bool after = false;
  std::size_t left = scan.limit;
  while (left > 0) {
    auto page = static_cast<std::int64_t>(std::min<std::size_t>(left, page_rows));
    std::string sql = "SELECT key, value FROM almanac_projections WHERE name = $1::bytea"
                      " AND key >= $2::bytea";
    pg_params params;
    params.add_bytes(projection).add_bytes(scan.prefix).add_i64(page);
    int next = 4;
    if (!upper.empty()) {
      sql += " AND key < $" + std::to_string(next++) + "::bytea";
      params.add_bytes(upper);
    }
    if (start) {
      sql += std::string{" AND key "} + (forward ? ">" : "<") + (after ? "" : "=") + " $"
             + std::to_string(next++) + "::bytea";
      params.add_bytes(*start);
    }
    sql += forward ? " ORDER BY key" : " ORDER BY key DESC";
    sql += " LIMIT $3";
    std::size_t got = 0;
    auto st =
      impl_->with_reader("scanning projection " + std::string{projection}, [&](pg_connection& c) {
        pg_rows rows;
        auto st = c.exec(sql, params, &rows);
        if (!st)
          return st;
        got = static_cast<std::size_t>(rows.size());
        for (int r = 0; r < rows.size(); ++r)
          out.push_back({std::string{rows.bytes(r, 0)}, std::string{rows.bytes(r, 1)}});
        return status{};
      });
    if (!st)
      return st;
    left -= got;
    if (got < static_cast<std::size_t>(page))
      break;
    start = out.back().key;
    after = true;
  }
  return status{};
}

status pg_log::drop_projection(std::string_view projection) {
  if (impl_->opts.read_only)
    return refuse_read_only("dropping projection " + std::string{projection});
  if (auto st = check_projection_name(projection); !st)
    return st;
  return impl_->with_reader(
    "dropping projection " + std::string{projection}, [&](pg_connection& c) {
      return c.exec("WITH e AS (DELETE FROM almanac_projections"
                    " WHERE name = $1::bytea)"
                    " DELETE FROM almanac_checkpoints WHERE name = $1::bytea",
                    pg_params{}.add_bytes(projection));
    });
}

// The streams due lose their events and snapshots; their row stays with its highest sequence
// (and the counter its highest position), so neither is ever reused. The deletion time is
// cleared with the purge, as event_log drops its deletion record.
constexpr std::string_view purge_sql =
  "WITH due AS ("
  "  UPDATE almanac_streams SET purged_seq = highest_seq, deleted_at = NULL"
  "   WHERE deleted_at <= timestamptz 'epoch' + $1::bigint * interval '1 microsecond'"
  "   RETURNING job),"
  " ev AS (DELETE FROM almanac_events WHERE job IN (SELECT job FROM due)),"
  " sn AS (DELETE FROM almanac_snapshots WHERE job IN (SELECT job FROM due))"
  "SELECT count(*) FROM due";

status pg_log::purge_deleted(instant now, duration retention, std::uint64_t* purged) {
  if (purged)
    *purged = 0;
  if (impl_->opts.read_only)
    return refuse_read_only("purge_deleted");
  auto cutoff = to_unix_us(now - retention);
  std::uint64_t count = 0;
  auto st = impl_->with_reader("purge_deleted", [&](pg_connection& c) {
    auto fail = [&](status st) {
      if (!c.lost())
        static_cast<void>(c.exec("ROLLBACK"));
      return st;
    };
    if (auto st = c.exec("BEGIN"); !st)
      return st;
    // The counter's lock keeps appends out until the purge commits: an append to a stream
    // being purged lands either wholly before (and goes with it) or after (a new stream).
    if (auto st = c.exec("SELECT highest FROM almanac_position WHERE id FOR UPDATE"); !st)
      return fail(std::move(st));
    pg_rows rows;
    if (auto st = c.exec(purge_sql, pg_params{}.add_i64(cutoff), &rows); !st)
      return fail(std::move(st));
    count = rows.size() == 1 ? from_db(rows.i64(0, 0)) : 0;
    return c.exec("COMMIT");
  });
  if (st && purged)
    *purged = count;
  return st;
}

namespace {

std::string where(job_id job, std::uint64_t seq) {
  return "job " + to_string(job) + " seq " + std::to_string(seq);
}

struct verify_stream {
  std::uint64_t highest = 0;
  // Events start after it (the seq kept by a purge).
  std::uint64_t purged_seq = 0;
  bool seen = false;
};

// The walk of verify(), inside one snapshot of the database.
status verify_walk(pg_connection& c, verify_report& out) {
  std::uint64_t counter = 0;
  {
    pg_rows rows;
    if (auto st = c.exec("SELECT highest FROM almanac_position WHERE id", &rows); !st)
      return st;
    if (rows.size() == 1)
      counter = from_db(rows.i64(0, 0));
  }
  std::map<std::uint64_t, verify_stream> streams;
  {
    pg_rows rows;
    auto st =
      c.exec("SELECT job, highest_seq, coalesce(purged_seq, 0) FROM almanac_streams", &rows);
    if (!st)
      return st;
    for (int r = 0; r < rows.size(); ++r)
      streams[from_db(rows.i64(r, 0))] = {from_db(rows.i64(r, 1)), from_db(rows.i64(r, 2))};
  }
  out.streams = streams.size();
  for (auto& [job, s] : streams)
    if (s.purged_seq != 0 && s.purged_seq == s.highest)
      ++out.purged_streams;

  // The events in (job, seq) order, a page at a time. Each row is also the event's global entry
  // (its position column), so an entry pointing nowhere or an event without one cannot exist;
  // what can go wrong is in the rows themselves and against the counters.
  job_id job{};
  std::uint64_t last_seq = 0;
  std::uint64_t last_position = 0;
  verify_stream* current = nullptr;
  bool any = false;
  auto finish = [&] {
    if (current && last_seq < current->highest)
      out.add({problem_kind::gap, job, last_seq + 1, 0,
               where(job, last_seq + 1) + " to " + std::to_string(current->highest)
                 + " are missing (the stream's highest seq is " + std::to_string(current->highest)
                 + ")"});
  };
  struct row {
    job_id job;
    std::uint64_t seq;
    std::uint64_t position;
    std::string bytes;
  };
  std::vector<row> page;
  std::optional<std::pair<std::int64_t, std::int64_t>> after;
  for (;;) {
    {
      page.clear();
      pg_rows rows;
      pg_params params;
      std::string sql = "SELECT job, seq, position, payload FROM almanac_events";
      params.add_i64(page_rows);
      if (after) {
        sql += " WHERE (job, seq) > ($2::bigint, $3::bigint)";
        params.add_i64(after->first).add_i64(after->second);
      }
      sql += " ORDER BY job, seq LIMIT $1";
      auto st = c.exec(sql, params, &rows);
      if (!st)
        return st;
      for (int r = 0; r < rows.size(); ++r)
        page.push_back({job_id{from_db(rows.i64(r, 0))}, from_db(rows.i64(r, 1)),
                        from_db(rows.i64(r, 2)), std::string{rows.bytes(r, 3)}});
    }
    for (auto& r : page) {
      ++out.events;
      ++out.global_entries;
      if (!any || r.job != job) {
        finish();
        any = true;
        job = r.job;
        last_position = 0;
        auto s = streams.find(job.value);
        if (s == streams.end()) {
          current = nullptr;
          out.add({problem_kind::dangling_global, job, r.seq, r.position,
                   where(job, r.seq) + " is in no stream: almanac_streams has no row for job "
                     + to_string(job)});
        } else {
          current = &s->second;
          current->seen = true;
          auto expected = current->purged_seq + 1;
          if (r.seq > expected)
            out.add({problem_kind::gap, job, expected, 0,
                     where(job, expected) + " to " + std::to_string(r.seq - 1)
                       + " are missing (stream starts at seq " + std::to_string(r.seq) + ")"});
        }
      } else if (r.seq > last_seq + 1) {
        out.add({problem_kind::gap, job, last_seq + 1, 0,
                 where(job, last_seq + 1) + " to " + std::to_string(r.seq - 1) + " are missing"});
      }
      if (current && r.seq > current->highest)
        out.add({problem_kind::counter_mismatch, job, r.seq, r.position,
                 where(job, r.seq) + " is beyond the stream's highest seq "
                   + std::to_string(current->highest)});
      if (r.position > counter)
        out.add({problem_kind::counter_mismatch, job, r.seq, r.position,
                 where(job, r.seq) + " has position " + std::to_string(r.position)
                   + ", beyond the position counter at " + std::to_string(counter)});
      if (last_position != 0 && r.position <= last_position)
        out.add({problem_kind::order_mismatch, job, r.seq, r.position,
                 "position " + std::to_string(r.position) + " holds " + where(job, r.seq)
                   + " but seq " + std::to_string(last_seq) + " of job " + to_string(job)
                   + " is at position " + std::to_string(last_position)});
      last_seq = r.seq;
      last_position = std::max(last_position, r.position);
      auto decoded = decode_event(r.bytes);
      if (!decoded)
        out.add({problem_kind::undecodable, job, r.seq, 0,
                 where(job, r.seq) + " does not decode: " + decoded.err().message});
      else if (decoded->env.job != job || decoded->env.seq != r.seq)
        out.add(
          {problem_kind::envelope_mismatch, job, r.seq, 0,
           where(job, r.seq) + " holds an event of " + where(decoded->env.job, decoded->env.seq)});
    }
    if (page.size() < static_cast<std::size_t>(page_rows))
      break;
    after.emplace(to_db(page.back().job.value), to_db(page.back().seq));
  }
  finish();
  // A stream with a highest seq beyond its purge and no events at all lost them.
  for (auto& [id, s] : streams)
    if (!s.seen && s.highest > s.purged_seq)
      out.add({problem_kind::gap, job_id{id}, s.purged_seq + 1, 0,
               where(job_id{id}, s.purged_seq + 1) + " to " + std::to_string(s.highest)
                 + " are missing (the stream has no events)"});
  return status{};
}

} // namespace

status pg_log::verify(verify_report& out) const {
  // One REPEATABLE READ transaction: the counters and every page see the same snapshot, so
  // appends made meanwhile are neither half seen nor mistaken for damage.
  return impl_->with_reader("verify", [&](pg_connection& c) {
    out = {};
    if (auto st = c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !st)
      return st;
    if (auto st = verify_walk(c, out); !st) {
      if (!c.lost())
        static_cast<void>(c.exec("ROLLBACK"));
      return st;
    }
    return c.exec("COMMIT");
  });
}

} // namespace almanac::store
