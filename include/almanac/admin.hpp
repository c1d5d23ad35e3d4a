// The admin interface's messages: what an embedding application, the daemon's CLI and HTTP API,
// or a peer on another node send to the admin actor, and what it answers. Plain structs, each
// with an inspect() listing every field so CAF can ship them between nodes. Every request that
// changes a job says who acts (`actor`: "user:NAME", "node:ID") and may carry a note; both land
// in the log and the audit trail.
//
// A job is named by its 16-hex-digit id or by its name (case-insensitive).
//
// Errors come back as caf::error of the "almanac" category; the code is an almanac::errc and the
// context holds a message a person can act on.
#pragma once

#include <almanac/history.hpp>
#include <almanac/job.hpp>
#include <almanac/job_state.hpp>
#include <almanac/result.hpp>
#include <almanac/schedule.hpp>
#include <almanac/time.hpp>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace almanac {

struct create_request {
  job_spec spec;
  std::string actor;
  std::string note;
};

struct update_request {
  std::string job;
  update_job changes;
  std::string actor;
  std::string note;
};

struct pause_request {
  std::string job;
  std::string actor;
  std::string note;
};

struct resume_request {
  std::string job;
  bool force = false;
  std::string actor;
  std::string note;
};

struct run_now_request {
  std::string job;
  std::string actor;
  std::string note;
};

struct delete_request {
  std::string job;
  std::string actor;
  std::string note;
};

struct get_request {
  std::string job;
};

// -- pages ------------------------------------------------------------------------------------
//
// Every list comes in pages. A request's `limit` is the page size: 0 asks for
// default_page_size, one above max_page_size is refused (invalid_input) and nothing is read. A
// reply's `next_cursor` is empty on the last page; otherwise passing it as the next request's
// `cursor` (with the same filters) continues right after the last item returned. A cursor names
// a position (a job id, a log position, a run id), not an offset, so items created or deleted
// between pages shift nothing: each item that exists throughout the walk is returned exactly
// once. A cursor is opaque text; one that does not parse, or that belongs to another kind of
// list, is refused (invalid_input). The cursor fields have `{}` initialisers so that requests
// written without them still compile cleanly under -Wextra.

// The page size when a request's limit is 0.
inline constexpr std::uint32_t default_page_size = 100;
// The largest page a request may ask for.
inline constexpr std::uint32_t max_page_size = 1000;
// A page of jobs also ends once the jobs in it hold this many bytes (their encoded state, which
// the JSON of the page is about the size of), so large jobs cannot make a page large; it always
// holds at least one job. Default: 1 MiB.
inline constexpr std::size_t max_page_bytes = std::size_t{1} << 20;

// Jobs filtered by status ("" for all) and by a case-insensitive substring of the name, in id
// order, one page.
struct list_request {
  std::string status;
  std::string name;
  std::uint32_t limit = 0;
  std::string cursor{};
};

struct job_list {
  std::vector<job_state> jobs;
  std::string next_cursor{};
};

// The audit trail of one job ("" for all jobs), newest first, one page. `before` (a log
// position, 0: the newest) is the older form of a cursor; a cursor, when given, wins.
struct audit_request {
  std::string job;
  std::uint32_t limit = 0;
  std::uint64_t before = 0;
  std::string cursor{};
};

struct audit_page {
  std::vector<audit_entry> entries;
  std::string next_cursor{};
};

// The runs of one job, newest first, one page.
struct runs_request {
  std::string job;
  std::uint32_t limit = 0;
  std::string cursor{};
};

struct run_page {
  std::vector<run_record> runs;
  std::string next_cursor{};
};

// The next `count` fires of a schedule strictly after `from`.
struct preview_request {
  schedule sched = at_schedule{};
  instant from{};
  std::uint32_t count = 5;
};

struct preview_result {
  std::vector<instant> fires;
};

struct health_request {};

struct stuck_run {
  job_id job;
  std::string job_name;
  std::uint64_t run_id = 0;
  instant started_at{};
  duration age{};
  // Older than the job's run timeout.
  bool stuck = false;
};

// The log's storage as the scheduler sees it now.
struct store_health {
  // "rocksdb" or "postgresql".
  std::string backend;
  // Where the log is: the data directory, or the database as postgresql://user@host:port/db
  // (never with a password).
  std::string location;
  // PostgreSQL: whether the log's writer reaches the server (it reconnects by itself, trying
  // once a second). Always true for RocksDB.
  bool connected = true;
  std::uint64_t connection_losses = 0;
  std::uint64_t reconnects = 0;
  // The last storage failure since start ("" when none).
  std::string last_error;
};

struct health_report {
  std::uint64_t active = 0;
  std::uint64_t paused = 0;
  std::uint64_t failed = 0;
  std::uint64_t completed = 0;
  // Active jobs with at least one consecutive error.
  std::uint64_t erroring = 0;
  std::vector<stuck_run> runs_in_flight;
  // Jobs that became failed within the alert window, and whether that crossed the threshold.
  std::uint64_t recently_failed = 0;
  bool fleet_alert = false;
  // Jobs whose log could not be loaded at start-up (quarantined), with the reason.
  std::vector<std::string> quarantined;
  // Every salvage of a damaged write-ahead log recorded in the log, oldest first: acknowledged
  // events were lost there (see the audit trail's "salvage" entries).
  std::vector<std::string> log_salvages;
  store_health store;
  instant started_at{};
  instant now{};
};

// What an actor registered as a handler (scheduler::register_actor_handler) receives for each run
// of a job whose target names it, and answers. The run key (job, scheduled_for, run_id) lets the
// actor be idempotent under at-least-once delivery.
struct run_message {
  job_id job;
  instant scheduled_for{};
  std::uint64_t run_id = 0;
  std::string payload;
};

struct run_reply {
  bool ok = true;
  std::string error;
  std::string output;
};

// -- inspection -------------------------------------------------------------------------------

// The wire form of the values with many fields: the log's codec bytes, so there is one encoding
// on disk and on the wire, and the decoder's checks (unknown tags, bad zones, sizes) guard what
// arrives from another node too. from_wire leaves `out` unchanged on error (invalid_input or
// the codec's unknown_event / newer_format / corrupt_event).
std::string to_wire(const job_state& x);
std::string to_wire(const job_spec& x);
std::string to_wire(const update_job& x);
std::string to_wire(const schedule& x);
result<void> from_wire(std::string_view bytes, job_state& out);
result<void> from_wire(std::string_view bytes, job_spec& out);
result<void> from_wire(std::string_view bytes, update_job& out);
result<void> from_wire(std::string_view bytes, schedule& out);

namespace detail {

template <class Inspector, class T>
typename Inspector::result_type inspect_wire(Inspector& f, T& x, const char* name) {
  std::string bytes;
  if constexpr (Inspector::reads_state)
    bytes = to_wire(x);
  auto load = [&]() -> caf::error {
    if (auto r = from_wire(bytes, x); !r)
      return caf::make_error(caf::sec::invalid_argument, r.err().message);
    return caf::none;
  };
  return f(caf::meta::type_name(name), bytes, caf::meta::load_callback(load));
}

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_id& x) {
  return f(caf::meta::type_name("almanac::job_id"), x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_state& x) {
  return detail::inspect_wire(f, x, "almanac::job_state");
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_spec& x) {
  return detail::inspect_wire(f, x, "almanac::job_spec");
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_job& x) {
  return detail::inspect_wire(f, x, "almanac::update_job");
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_request& x) {
  return f(caf::meta::type_name("almanac::create_request"), x.spec, x.actor, x.note);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_request& x) {
  return f(caf::meta::type_name("almanac::update_request"), x.job, x.changes, x.actor, x.note);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pause_request& x) {
  return f(caf::meta::type_name("almanac::pause_request"), x.job, x.actor, x.note);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resume_request& x) {
  return f(caf::meta::type_name("almanac::resume_request"), x.job, x.force, x.actor, x.note);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_now_request& x) {
  return f(caf::meta::type_name("almanac::run_now_request"), x.job, x.actor, x.note);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delete_request& x) {
  return f(caf::meta::type_name("almanac::delete_request"), x.job, x.actor, x.note);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_request& x) {
  return f(caf::meta::type_name("almanac::get_request"), x.job);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_request& x) {
  return f(caf::meta::type_name("almanac::list_request"), x.status, x.name, x.limit,
           x.cursor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_list& x) {
  return f(caf::meta::type_name("almanac::job_list"), x.jobs, x.next_cursor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_entry& x) {
  return f(caf::meta::type_name("almanac::audit_entry"), x.position, x.at, x.job, x.job_name,
           x.action, x.from_status, x.to_status, x.actor, x.note, x.detail);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_request& x) {
  return f(caf::meta::type_name("almanac::audit_request"), x.job, x.limit, x.before,
           x.cursor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_page& x) {
  return f(caf::meta::type_name("almanac::audit_page"), x.entries, x.next_cursor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_record& x) {
  return f(caf::meta::type_name("almanac::run_record"), x.job, x.run_id, x.scheduled_for,
           x.started_at, x.finished_at, x.trigger, x.outcome, x.error, x.took, x.output_tail);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, runs_request& x) {
  return f(caf::meta::type_name("almanac::runs_request"), x.job, x.limit, x.cursor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_page& x) {
  return f(caf::meta::type_name("almanac::run_page"), x.runs, x.next_cursor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, schedule& x) {
  return detail::inspect_wire(f, x, "almanac::schedule");
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, preview_request& x) {
  return f(caf::meta::type_name("almanac::preview_request"), x.sched, x.from, x.count);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, preview_result& x) {
  return f(caf::meta::type_name("almanac::preview_result"), x.fires);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_message& x) {
  return f(caf::meta::type_name("almanac::run_message"), x.job, x.scheduled_for, x.run_id,
           x.payload);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_reply& x) {
  return f(caf::meta::type_name("almanac::run_reply"), x.ok, x.error, x.output);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_request&) {
  return f(caf::meta::type_name("almanac::health_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stuck_run& x) {
  return f(caf::meta::type_name("almanac::stuck_run"), x.job, x.job_name, x.run_id, x.started_at,
           x.age, x.stuck);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_health& x) {
  return f(caf::meta::type_name("almanac::store_health"), x.backend, x.location, x.connected,
           x.connection_losses, x.reconnects, x.last_error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_report& x) {
  return f(caf::meta::type_name("almanac::health_report"), x.active, x.paused, x.failed,
           x.completed, x.erroring, x.runs_in_flight, x.recently_failed, x.fleet_alert,
           x.quarantined, x.log_salvages, x.store, x.started_at, x.now);
}

} // namespace almanac
