// `almanac-replay`: reads a log, live or stopped, in a data directory (RocksDB) or a PostgreSQL
// database, and answers from the event log alone: the events in order, any job's state as of
// any instant or position (time travel by folding the log), the audit trail and run history
// rebuilt from the log (and compared with the daemon's projections), an integrity check,
// statistics and a JSON-lines export; and copies a log to another place or backend. It opens
// RocksDB as a secondary (it follows a running daemon's writes), else read-only, and PostgreSQL
// read-only; it never takes the directory lock and never writes the log it reads.
#include "tools/edge/error_table.hpp"
#include "tools/edge/json_writer.hpp"
#include "tools/replay/event_json.hpp"

#include "projections/history.hpp"
#include "projections/job_states.hpp"
#include "store/event_log.hpp"
#include "store/journal_copy.hpp"
#include "store/open_journal.hpp"

#include <almanac/time.hpp>
#include <almanac/version.hpp>

#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <unordered_map>

#include <unistd.h>

using namespace almanac;
using namespace almanac::tools;
namespace fs = std::filesystem;

namespace {

// A failure that ends the command with an exit code and a message on stderr.
struct stop_with {
  int code;
  std::string message;
};

// `where` as messages show it: never a password (store::describe_location), and not at all a
// string that is no URI but may hold one (libpq's "host=... password=..." form).
std::string shown(const std::string& where) {
  if (!store::is_postgres_uri(where) && where.find("password") != std::string::npos)
    return "(a string naming a password)";
  return store::describe_location(where);
}

// The log opened for reading, and the secondary's scratch directory removed afterwards.
class opened_log {
public:
  explicit opened_log(const std::string& where) : where_(where) {
    if (store::is_postgres_uri(where)) {
      // Read-only: no schema created, read-only sessions, no writer. PostgreSQL readers see
      // the latest commits, so this follows a live daemon as the RocksDB secondary does.
      store::open_options o;
      o.mode = store::open_mode::read_only;
      if (auto st = store::open_journal(where, o, log_); !st.is_ok())
        throw stop_with{exit_refused,
                        "cannot open the log at " + shown(where) + ": " + st.to_string()};
      return;
    }
    open_rocksdb(where);
  }
  ~opened_log() {
    if (log_)
      (void)log_->close();
    log_.reset();
    std::error_code ec;
    if (!scratch_.empty())
      fs::remove_all(scratch_, ec);
  }
  opened_log(const opened_log&) = delete;
  opened_log& operator=(const opened_log&) = delete;

  const store::journal& operator*() const { return *log_; }
  const store::journal* operator->() const { return log_.get(); }
  // The RocksDB log, for what only RocksDB has; nullptr on PostgreSQL.
  const store::event_log* rocksdb() const { return rocks_; }
  const std::string& where() const { return where_; }

private:
  void open_rocksdb(const fs::path& dir) {
    if (!fs::is_directory(dir))
      throw stop_with{exit_refused,
                      "no data directory at '" + shown(dir.string()) + "'"
                        + (dir.string().find('=') != std::string::npos
                             ? " (a PostgreSQL database is given as a postgresql:// URI)"
                             : "")};
    char tmpl[] = "/tmp/almanac-replay-XXXXXX";
    if (const char* made = ::mkdtemp(tmpl))
      scratch_ = made;
    store::open_options o;
    // Reads what a damaged write-ahead log still holds and says what is missing (verify reports
    // it as a problem), instead of refusing as the daemon does.
    o.salvage = true;
    o.mode = store::open_mode::secondary;
    o.secondary_path = scratch_.string();
    std::unique_ptr<store::event_log> rocks;
    auto s = scratch_.empty() ? store::status::io_error("no scratch directory")
                              : store::event_log::open(dir, o, rocks);
    if (!s.is_ok()) {
      // A secondary needs a scratch directory and a readable MANIFEST; read-only is the fallback.
      o.mode = store::open_mode::read_only;
      auto r = store::event_log::open(dir, o, rocks);
      if (!r.is_ok())
        throw stop_with{exit_refused, "cannot open the log in '" + dir.string() + "': " +
                                        r.to_string() + " (as secondary: " + s.to_string() + ")"};
    }
    if (const auto& d = rocks->wal_damage_found())
      std::cerr << "warning: " << d->describe() << '\n';
    rocks_ = rocks.get();
    log_ = std::move(rocks);
  }

  std::string where_;
  fs::path scratch_;
  std::unique_ptr<store::journal> log_;
  const store::event_log* rocks_ = nullptr;
};

void check(const store::status& s, const char* what) {
  if (!s.is_ok())
    throw stop_with{exit_refused, std::string{what} + ": " + s.to_string()};
}

// A progress line on stderr, only when stderr is a terminal, at most five times a second.
class progress {
public:
  explicit progress(std::string what) : what_(std::move(what)), tty_(::isatty(2) != 0) {}
  ~progress() {
    if (tty_ && shown_)
      std::cerr << "\r\033[K" << std::flush;
  }
  void tick(std::uint64_t done, std::uint64_t total = 0) {
    if (!tty_)
      return;
    auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds{200})
      return;
    last_ = now;
    shown_ = true;
    std::cerr << "\r" << what_ << ": " << done;
    if (total)
      std::cerr << " / " << total;
    std::cerr << std::flush;
  }

private:
  std::string what_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

std::uint64_t to_u64(const std::string& s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

instant instant_arg(const std::string& text, const char* option) {
  auto t = parse_instant(text);
  if (!t)
    throw stop_with{exit_usage, std::string{option} + ": " + t.err().message};
  return *t;
}

// A job given by id, or by the name of a live job.
job_id resolve_job(const store::journal& log, const std::string& text) {
  if (auto id = parse_job_id(text))
    return *id;
  std::optional<job_id> found;
  auto lower = [](std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  check(log.load_jobs([&](job_state&& s, const std::string&) {
          if (s.live() && lower(s.name) == lower(text))
            found = s.id;
          return !found;
        }),
        "reading the jobs");
  if (!found)
    throw stop_with{exit_refused, "no job with id or name '" + text + "'"};
  return *found;
}

struct common_options {
  std::string data, store;
  bool json = false;

  // Where the log is: --store, or --data (the same, kept for scripts that name a directory).
  std::string where() const {
    if (data.empty() == store.empty())
      throw stop_with{exit_usage, "give exactly one of --store WHERE (a data directory or a "
                                  "postgresql:// URI) and --data DIR"};
    return data.empty() ? store : data;
  }
};

// -- events ---------------------------------------------------------------------------------

struct events_options {
  std::string job, type, since, until;
};

json own_fields(json j) {
  for (const char* k : {"position", "seq", "job_id", "type", "recorded_at", "actor", "note", "cause"})
    j.erase(k);
  return j;
}

int run_events(const common_options& c, const events_options& o) {
  opened_log log{c.where()};
  std::optional<job_id> job;
  if (!o.job.empty())
    job = resolve_job(*log, o.job);
  std::optional<instant> since, until_at;
  std::optional<std::uint64_t> until_num;
  if (!o.since.empty())
    since = instant_arg(o.since, "--since");
  if (all_digits(o.until))
    until_num = to_u64(o.until);
  else if (!o.until.empty())
    until_at = instant_arg(o.until, "--until");
  progress bar{"events"};
  std::uint64_t seen = 0;
  check(log->read_all(1,
                      [&](std::uint64_t pos, const event& e) {
                        bar.tick(++seen);
                        // A number bounds the job's sequence with --job, else the position.
                        if (until_num && (job ? e.env.seq : pos) > *until_num)
                          return !job.has_value() ? false : true;
                        if (job && e.env.job != *job)
                          return true;
                        if (!o.type.empty() && event_name(e.body) != o.type)
                          return true;
                        if (since && e.env.recorded_at < *since)
                          return true;
                        if (until_at && e.env.recorded_at > *until_at)
                          return true;
                        auto j = event_to_json(pos, e);
                        if (c.json) {
                          std::cout << j.dump() << '\n';
                        } else {
                          std::cout << pos << "  " << format_instant(e.env.recorded_at) << "  "
                                    << to_string(e.env.job) << "  #" << e.env.seq << "  "
                                    << event_name(e.body) << "  " << e.env.actor
                                    << (e.env.cause.empty() ? "" : "  (" + e.env.cause + ")")
                                    << (e.env.note.empty() ? "" : "  note: " + e.env.note) << "  "
                                    << own_fields(j).dump() << '\n';
                        }
                        return true;
                      }),
        "reading the log");
  return exit_ok;
}

// -- state ------------------------------------------------------------------------------------

struct state_options {
  std::string job, at;
};

int run_state(const common_options& c, const state_options& o) {
  opened_log log{c.where()};
  std::optional<job_id> job;
  if (!o.job.empty())
    job = resolve_job(*log, o.job);
  std::optional<std::uint64_t> at_pos;
  std::optional<instant> at_time;
  if (all_digits(o.at))
    at_pos = to_u64(o.at);
  else if (!o.at.empty())
    at_time = instant_arg(o.at, "--at");
  std::map<job_id, job_state> states;
  progress bar{"state"};
  std::uint64_t seen = 0;
  check(log->read_all(1,
                      [&](std::uint64_t pos, const event& e) {
                        bar.tick(++seen);
                        if (at_pos && pos > *at_pos)
                          return false;
                        if (at_time && e.env.recorded_at > *at_time)
                          return true;
                        if (job && e.env.job != *job)
                          return true;
                        auto& s = states[e.env.job];
                        s = fold(std::move(s), e);
                        return true;
                      }),
        "reading the log");
  if (job && !states.count(*job))
    throw stop_with{exit_refused, "job " + to_string(*job) + " did not exist at that point"};
  if (c.json) {
    if (job) {
      std::cout << job_to_json(states.at(*job)).dump(2) << '\n';
    } else {
      json all = json::array();
      for (const auto& [id, s] : states)
        all.push_back(job_to_json(s));
      std::cout << json{{"jobs", all}}.dump(2) << '\n';
    }
    return exit_ok;
  }
  for (const auto& [id, s] : states)
    std::cout << to_string(id) << "  " << s.name << "  "
              << (s.deleted ? std::string_view{"deleted"} : to_string(s.status)) << "  seq "
              << s.seq << "  " << describe(s.sched) << "  next "
              << (s.next_run_at ? format_instant(*s.next_run_at) : "-") << "  errors "
              << s.consecutive_errors
              << (s.last_error.empty() ? "" : "  last error: " + s.last_error) << '\n';
  return exit_ok;
}

// -- audit and runs ----------------------------------------------------------------------------

struct history_options {
  std::string job;
  bool compare = false;
};

// Folds the log into history with a projector that writes nothing, up to `last` (0: the end).
template <class F>
void fold_history(const store::journal& log, std::uint64_t last, F&& on_change) {
  history_projector projector{nullptr};
  progress bar{"history"};
  check(log.read_all(1,
                     [&](std::uint64_t pos, const event& e) {
                       if (last && pos > last)
                         return false;
                       bar.tick(pos, last);
                       on_change(projector.apply(pos, e));
                       return true;
                     }),
        "reading the log");
}

// The history projections' checkpoint for --compare (0 without it). A log with events but no
// checkpoint (never projected, or a copy: projections are not copied) has nothing to compare
// with; an empty log matches its empty projection.
std::uint64_t compared_checkpoint(const store::journal& log, bool compare) {
  std::uint64_t checkpoint = 0;
  if (!compare)
    return checkpoint;
  check(log.read_checkpoint(history_checkpoint, checkpoint), "reading the checkpoint");
  std::uint64_t highest = 0;
  check(log.highest_position(highest), "reading the highest position");
  if (checkpoint == 0 && highest != 0)
    throw stop_with{exit_refused, "--compare: the log holds no history projection to compare "
                                  "with (no checkpoint); almanacd builds it from position 1 "
                                  "when it starts on this log"};
  return checkpoint;
}

int run_audit(const common_options& c, const history_options& o) {
  opened_log log{c.where()};
  std::optional<job_id> job;
  if (!o.job.empty())
    job = resolve_job(*log, o.job);
  auto checkpoint = compared_checkpoint(*log, o.compare);
  std::vector<audit_entry> rebuilt;
  fold_history(*log, o.compare ? checkpoint : 0, [&](const history_change& ch) {
    if (ch.audit && (!job || ch.audit->job == *job))
      rebuilt.push_back(*ch.audit);
  });
  if (!o.compare) {
    for (const auto& e : rebuilt) {
      if (c.json)
        std::cout << audit_to_json(e).dump() << '\n';
      else
        std::cout << format_instant(e.at) << "  " << (e.job_name.empty() ? to_string(e.job) : e.job_name)
                  << "  " << e.action << "  " << e.from_status << " -> " << e.to_status << "  "
                  << e.actor << (e.note.empty() ? "" : "  note: " + e.note)
                  << (e.detail.empty() ? "" : "  " + e.detail) << '\n';
    }
    return exit_ok;
  }
  std::vector<audit_entry> stored;
  check(read_audit(*log, job, std::numeric_limits<std::size_t>::max(), 0, stored),
        "reading the stored audit trail");
  std::map<std::uint64_t, json> a, b;
  for (const auto& e : rebuilt)
    a[e.position] = audit_to_json(e);
  for (const auto& e : stored)
    b[e.position] = audit_to_json(e);
  std::uint64_t differences = 0;
  for (const auto& [pos, j] : a) {
    auto i = b.find(pos);
    if (i == b.end()) {
      std::cout << "missing from the projection: " << j.dump() << '\n';
      ++differences;
    } else if (i->second != j) {
      std::cout << "differs at position " << pos << ":\n  log:        " << j.dump()
                << "\n  projection: " << i->second.dump() << '\n';
      ++differences;
    }
  }
  for (const auto& [pos, j] : b)
    if (!a.count(pos)) {
      std::cout << "only in the projection: " << j.dump() << '\n';
      ++differences;
    }
  std::cout << (differences ? "audit trail differs: " : "audit trail matches: ") << a.size()
            << " entries rebuilt from the log up to position " << checkpoint << ", "
            << b.size() << " in the projection, " << differences << " differences\n";
  return differences ? exit_refused : exit_ok;
}

int run_runs(const common_options& c, const history_options& o) {
  opened_log log{c.where()};
  auto job = resolve_job(*log, o.job);
  auto checkpoint = compared_checkpoint(*log, o.compare);
  std::map<std::uint64_t, run_record> rebuilt;
  fold_history(*log, o.compare ? checkpoint : 0, [&](const history_change& ch) {
    if (ch.run && ch.run->job == job)
      rebuilt[ch.run->run_id] = *ch.run;
  });
  if (!o.compare) {
    for (const auto& [id, r] : rebuilt) {
      if (c.json)
        std::cout << run_to_json(r).dump() << '\n';
      else
        std::cout << "run " << r.run_id << "  " << r.trigger << "  scheduled "
                  << format_instant(r.scheduled_for) << "  started " << format_instant(r.started_at)
                  << "  " << r.outcome << (r.error.empty() ? "" : ": " + r.error) << '\n';
    }
    return exit_ok;
  }
  std::vector<run_record> stored;
  check(read_runs(*log, job, std::numeric_limits<std::size_t>::max(), stored),
        "reading the stored run history");
  std::map<std::uint64_t, json> b;
  for (const auto& r : stored)
    b[r.run_id] = run_to_json(r);
  std::uint64_t differences = 0;
  for (const auto& [id, r] : rebuilt) {
    auto j = run_to_json(r);
    auto i = b.find(id);
    if (i == b.end()) {
      std::cout << "missing from the projection: " << j.dump() << '\n';
      ++differences;
    } else if (i->second != j) {
      std::cout << "run " << id << " differs:\n  log:        " << j.dump()
                << "\n  projection: " << i->second.dump() << '\n';
      ++differences;
    }
  }
  for (const auto& [id, j] : b)
    if (!rebuilt.count(id)) {
      std::cout << "only in the projection: " << j.dump() << '\n';
      ++differences;
    }
  std::cout << (differences ? "run history differs: " : "run history matches: ")
            << rebuilt.size() << " runs rebuilt from the log up to position " << checkpoint
            << ", " << b.size() << " in the projection, " << differences << " differences\n";
  return differences ? exit_refused : exit_ok;
}

// -- verify ------------------------------------------------------------------------------------

int run_verify(const common_options& c) {
  // A directory too damaged to open is a failed verification, not a usage error.
  auto where = c.where();
  std::optional<opened_log> log;
  try {
    log.emplace(where);
  } catch (const stop_with& x) {
    std::cout << "FAILED: " << x.message << '\n';
    return exit_refused;
  }
  store::verify_report report;
  auto s = (*log)->verify(report);
  json problems = json::array();
  for (const auto& p : report.problems)
    problems.push_back({{"kind", to_string(p.kind)},
                        {"job_id", to_string(p.job)},
                        {"seq", p.seq},
                        {"position", p.position},
                        {"message", p.message}});
  if (!s.is_ok())
    problems.push_back({{"kind", "verify_failed"}, {"message", s.to_string()}});
  // The state machine's invariants, after every event of every stream.
  std::uint64_t streams = 0, checked = 0;
  progress bar{"invariants"};
  std::vector<job_id> ids;
  // A listing that fails is one more problem to report, not a reason to stop reporting.
  if (auto st = (*log)->for_each_stream([&](const store::stream_info& i) {
        // The log's own stream holds no job: no job invariants to check.
        if (!i.purged && i.job != log_stream)
          ids.push_back(i.job);
        return true;
      });
      !st.is_ok())
    problems.push_back({{"kind", "streams_unreadable"},
                        {"job_id", "-"},
                        {"seq", 0},
                        {"position", 0},
                        {"message", st.to_string()}});
  auto total = ids.size();
  // Live jobs by name, case-insensitively as the scheduler resolves names: a log written before
  // renames reserved their name can hold two live jobs of one name.
  std::map<std::string, std::vector<job_id>> live_names;
  auto name_key = [](std::string s) {
    for (auto& ch : s)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  for (auto id : ids) {
    bar.tick(++streams, total);
    job_state state;
    state.id = id;
    bool reported = false;
    // The invariants hold between commands, not inside one: RunFailed then JobFailed are one
    // append, and the state between them is not one anybody sees. The events of one command
    // share their recorded_at and cause, so the state is checked where those change, and at the
    // end of the stream.
    std::optional<event_envelope> pending;
    auto check_state = [&] {
      if (!pending || reported)
        return;
      if (auto ok = check_invariants(state); !ok) {
        problems.push_back({{"kind", "invariant"},
                            {"job_id", to_string(id)},
                            {"seq", pending->seq},
                            {"position", 0},
                            {"message", ok.err().message}});
        reported = true;
      }
    };
    auto st = (*log)->scan_stream(id, 1, store::max_seq, [&](const event& e) {
      if (pending && (pending->recorded_at != e.env.recorded_at || pending->cause != e.env.cause))
        check_state();
      state = fold(std::move(state), e);
      pending = e.env;
      ++checked;
      return !reported;
    });
    check_state();
    if (!st.is_ok() && !reported)
      problems.push_back({{"kind", "stream_unreadable"},
                          {"job_id", to_string(id)},
                          {"seq", 0},
                          {"position", 0},
                          {"message", st.to_string()}});
    if (st.is_ok() && state.deleted && !state.in_flight.empty()) {
      // Deletes close their runs in flight; one left open stays "running" in every view.
      std::string runs;
      for (const auto& r : state.in_flight)
        runs += (runs.empty() ? "" : ", ") + std::to_string(r.run_id);
      problems.push_back({{"kind", "open_run"},
                          {"job_id", to_string(id)},
                          {"seq", state.seq},
                          {"position", 0},
                          {"message", "the job is deleted with run(s) " + runs +
                                        " still in flight in its log"}});
    }
    if (st.is_ok() && state.live())
      live_names[name_key(state.name)].push_back(id);
  }
  for (const auto& [key, holders] : live_names) {
    if (holders.size() < 2)
      continue;
    std::string list;
    for (auto id : holders)
      list += (list.empty() ? "" : ", ") + to_string(id);
    problems.push_back({{"kind", "duplicate_name"},
                        {"job_id", to_string(holders.front())},
                        {"seq", 0},
                        {"position", 0},
                        {"message", std::to_string(holders.size()) + " live jobs are named '" +
                                      key + "' (case-insensitively): " + list +
                                      "; rename or delete all but one"}});
  }
  bool ok = problems.empty();
  if (c.json) {
    std::cout << json{{"ok", ok},
                      {"streams", report.streams},
                      {"events", report.events},
                      {"global_entries", report.global_entries},
                      {"purged_streams", report.purged_streams},
                      {"events_checked", checked},
                      {"problems_total", report.problems_total + (problems.size() - report.problems.size())},
                      {"problems", problems}}
                   .dump(2)
              << '\n';
  } else {
    for (const auto& p : problems)
      std::cout << p["kind"].get<std::string>() << ": job " << p.value("job_id", "-") << " seq "
                << p.value("seq", std::uint64_t{0}) << ": " << p["message"].get<std::string>()
                << '\n';
    std::cout << (ok ? "OK: " : "FAILED: ") << report.streams << " streams, " << report.events
              << " events, " << report.global_entries << " global entries, "
              << report.purged_streams << " purged streams; invariants checked after " << checked
              << " events; " << problems.size() << " problems\n";
  }
  return ok ? exit_ok : exit_refused;
}

// -- stats and export --------------------------------------------------------------------------

std::uintmax_t directory_bytes(const fs::path& dir) {
  std::uintmax_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file(ec))
      total += it->file_size(ec);
  return total;
}

int run_stats(const common_options& c) {
  opened_log log{c.where()};
  std::map<std::string, std::uint64_t> by_type;
  std::unordered_map<job_id, job_state> states;
  std::optional<instant> oldest, newest;
  std::uint64_t events = 0, last_pos = 0;
  progress bar{"stats"};
  check(log->read_all(1,
                      [&](std::uint64_t pos, const event& e) {
                        bar.tick(++events);
                        last_pos = pos;
                        ++by_type[std::string{event_name(e.body)}];
                        if (!oldest || e.env.recorded_at < *oldest)
                          oldest = e.env.recorded_at;
                        if (!newest || e.env.recorded_at > *newest)
                          newest = e.env.recorded_at;
                        auto& s = states[e.env.job];
                        s = fold(std::move(s), e);
                        return true;
                      }),
        "reading the log");
  std::map<std::string, std::uint64_t> by_status;
  for (const auto& [id, s] : states)
    ++by_status[s.deleted ? "deleted" : std::string{to_string(s.status)}];
  json j{{"jobs", by_status},
         {"events", events},
         {"events_by_type", by_type},
         {"highest_position", last_pos},
         {"oldest_event_at", instant_or_null(oldest)},
         {"newest_event_at", instant_or_null(newest)},
         // RocksDB only: a PostgreSQL database's size is the server's to tell.
         {"directory_bytes", log.rocksdb() ? json(directory_bytes(log.where())) : json(nullptr)}};
  if (c.json) {
    std::cout << j.dump(2) << '\n';
    return exit_ok;
  }
  std::cout << "jobs:";
  for (const auto& [k, v] : by_status)
    std::cout << " " << k << "=" << v;
  std::cout << "\nevents: " << events << " (highest position " << last_pos << ")\n";
  for (const auto& [k, v] : by_type)
    std::cout << "  " << k << ": " << v << '\n';
  std::cout << "oldest event: " << (oldest ? format_instant(*oldest) : "-")
            << "\nnewest event: " << (newest ? format_instant(*newest) : "-")
            << "\ndirectory size: "
            << (log.rocksdb() ? std::to_string(directory_bytes(log.where())) + " bytes"
                              : std::string{"- (RocksDB only; on PostgreSQL: SELECT "
                                            "pg_database_size(current_database()))"})
            << '\n';
  return exit_ok;
}

int run_export(const common_options& c) {
  opened_log log{c.where()};
  progress bar{"export"};
  std::uint64_t n = 0;
  check(log->read_all(1,
                      [&](std::uint64_t pos, const event& e) {
                        bar.tick(++n);
                        std::cout << event_to_json(pos, e).dump() << '\n';
                        return true;
                      }),
        "reading the log");
  return exit_ok;
}

// -- copy --------------------------------------------------------------------------------------

// Whether the log at `to` is empty, without writing anything there: a missing or empty
// directory, a database with no Almanac schema, or a log whose highest position is 0. Refuses
// (naming the destination) when it holds events or cannot be read.
void check_destination_empty(const std::string& to) {
  auto refuse = [&](const std::string& why) {
    throw stop_with{exit_refused, "the destination " + shown(to) + " " + why
                                    + "; copy writes only into an empty log, and changed nothing"};
  };
  if (!store::is_postgres_uri(to)) {
    std::error_code ec;
    if (!fs::exists(to, ec) || (fs::is_directory(to, ec) && fs::is_empty(to, ec)))
      return;
    if (!fs::is_directory(to, ec))
      refuse("is not a directory");
  }
  store::open_options o;
  o.mode = store::open_mode::read_only;
  std::unique_ptr<store::journal> log;
  auto st = store::open_journal(to, o, log);
  if (st.is_not_found() && store::is_postgres_uri(to))
    return;
  if (!st.is_ok())
    refuse("cannot be read: " + st.to_string());
  std::uint64_t highest = 0;
  st = log->highest_position(highest);
  (void)log->close();
  if (!st.is_ok())
    refuse("cannot be read: " + st.to_string());
  if (highest != 0)
    refuse("is not empty (highest position " + std::to_string(highest) + ")");
}

int run_copy(const common_options& c, const std::string& to) {
  auto from_where = c.where();
  if (to == from_where)
    throw stop_with{exit_usage, "--to names the log being copied"};
  opened_log from{from_where};
  check_destination_empty(to);
  store::open_options o;
  o.mode = store::open_mode::read_write;
  std::unique_ptr<store::journal> dest;
  if (auto st = store::open_journal(to, o, dest); !st.is_ok())
    throw stop_with{exit_refused, "cannot open the destination " + shown(to) + ": " + st.to_string()
                                    + "; copy changed nothing"};
  // Checked again on the writable open: something may have written between the two opens.
  std::uint64_t highest = 0;
  if (auto st = dest->highest_position(highest); !st.is_ok() || highest != 0) {
    (void)dest->close();
    throw stop_with{exit_refused, "the destination " + shown(to) + " "
                                    + (st.is_ok() ? "is not empty (highest position "
                                                      + std::to_string(highest) + ")"
                                                  : "cannot be read: " + st.to_string())
                                    + "; copy changed nothing"};
  }
  std::uint64_t total = 0;
  (void)from->highest_position(total);
  progress bar{"copy"};
  store::journal_copy_options co;
  co.on_event = [&](std::uint64_t n) { bar.tick(n, total); };
  store::journal_copy_result copied;
  auto started = std::chrono::steady_clock::now();
  auto st = store::copy_journal(*from, *dest, co, copied);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!st.is_ok()) {
    (void)dest->close();
    throw stop_with{exit_refused, "copy to " + shown(to) + " failed after "
                                    + std::to_string(copied.events) + " events: " + st.to_string()
                                    + "; the destination holds a partial copy: empty it (a new "
                                      "directory, or a new database) before copying again"};
  }
  std::cout << "copied " << copied.streams << " streams, " << copied.events << " events from "
            << shown(from_where) << " to " << shown(to) << " in " << std::fixed
            << std::setprecision(2) << seconds << " s (" << std::setprecision(0)
            << (seconds > 0 ? copied.events / seconds : 0.0) << " events/s)\n"
            << std::defaultfloat;
  // The copy's own check: what verify finds on the destination, then the two logs side by side.
  std::uint64_t problems = 0;
  store::verify_report report;
  if (auto vs = dest->verify(report); !vs.is_ok()) {
    std::cout << "verify of the destination failed: " << vs.to_string() << '\n';
    ++problems;
  }
  for (const auto& p : report.problems)
    std::cout << "verify: " << to_string(p.kind) << ": job " << to_string(p.job) << " seq " << p.seq
              << ": " << p.message << '\n';
  problems += report.problems_total;
  std::vector<std::string> differences;
  if (auto cs = store::compare_journals(*from, *dest, differences); !cs.is_ok()) {
    std::cout << "comparison failed: " << cs.to_string() << '\n';
    ++problems;
  }
  for (const auto& d : differences)
    std::cout << "differs: " << d << '\n';
  problems += differences.size();
  auto closed = dest->close();
  if (!closed.is_ok()) {
    std::cout << "closing the destination failed: " << closed.to_string() << '\n';
    ++problems;
  }
  std::cout << (problems ? "FAILED: " : "OK: ") << "the destination verifies with "
            << report.problems_total << " problems; compared with the source, "
            << differences.size() << " differences\n";
  return problems ? exit_refused : exit_ok;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"almanac-replay: read an Almanac event log (live or stopped) in a data directory "
               "or a PostgreSQL database, or copy it"};
  app.set_version_flag("--version", std::string{"almanac-replay "} + almanac::version);
  app.require_subcommand(1);
  common_options c;
  app.add_option("--store", c.store,
                 "Where the log is: a data directory or a postgresql:// URI (read only)");
  app.add_option("--data", c.data, "The data directory (the same as --store DIR)");
  app.add_flag("--json", c.json, "JSON output (one object a line for events, audit, runs)");
  app.fallthrough();
  int rc = exit_ok;
  auto guarded = [&rc](auto fn) {
    return [&rc, fn] {
      try {
        rc = fn();
      } catch (const stop_with& x) {
        std::cerr << "almanac-replay: " << x.message << '\n';
        rc = x.code;
      }
    };
  };

  events_options eo;
  auto* events = app.add_subcommand("events", "The log in order, one event a line");
  events->add_option("--job", eo.job, "Only this job (id or name)");
  events->add_option("--type", eo.type, "Only this event type (JobRevived, RunFailed, ...)");
  events->add_option("--since", eo.since, "Recorded at or after this instant (ISO-8601)");
  events->add_option("--until", eo.until,
                     "Recorded at or before this instant, or up to this sequence number (with "
                     "--job) or position");
  events->callback(guarded([&] { return run_events(c, eo); }));

  state_options so;
  auto* state = app.add_subcommand("state", "Job states rebuilt by replay, as of a point in time");
  state->add_option("--job", so.job, "Only this job (id or name)");
  state->add_option("--at", so.at, "As of this instant (ISO-8601) or global position");
  state->callback(guarded([&] { return run_state(c, so); }));

  history_options ho;
  auto* audit = app.add_subcommand("audit", "The audit trail rebuilt from the log");
  audit->add_option("--job", ho.job, "Only this job (id or name)");
  audit->add_flag("--compare", ho.compare, "Compare with the daemon's stored projection");
  audit->callback(guarded([&] { return run_audit(c, ho); }));

  auto* runs = app.add_subcommand("runs", "A job's run history rebuilt from the log");
  runs->add_option("--job", ho.job, "The job (id or name)")->required();
  runs->add_flag("--compare", ho.compare, "Compare with the daemon's stored projection");
  runs->callback(guarded([&] { return run_runs(c, ho); }));

  app.add_subcommand("verify", "Store integrity and state-machine invariants; exit 1 on problems")
    ->callback(guarded([&] { return run_verify(c); }));
  app.add_subcommand("stats", "Jobs by status, events by type, sizes, oldest and newest events")
    ->callback(guarded([&] { return run_stats(c); }));
  bool jsonl = false;
  auto* exp = app.add_subcommand("export", "Every event as one JSON object a line");
  exp->add_flag("--jsonl", jsonl, "JSON lines (the only format)")->required();
  exp->callback(guarded([&] { return run_export(c); }));

  std::string copy_to;
  auto* copy = app.add_subcommand(
    "copy", "Copy the whole log to an empty destination (another backend, or another place), "
            "then verify the copy and compare it with the source; exit 1 on any difference");
  copy->add_option("--to", copy_to, "The destination: a data directory or a postgresql:// URI")
    ->required();
  copy->callback(guarded([&] { return run_copy(c, copy_to); }));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : exit_usage;
  }
  std::cout.flush();
  return rc;
}
