// Almanac embedded in a C++ application: start a scheduler inside an existing caf::actor_system,
// talk to it through the admin actor, register the handlers its jobs run, stop it cleanly.
//
//   caf::actor_system_config cfg;
//   almanac::add_message_types(cfg);            // before the actor system exists
//   caf::actor_system sys{cfg};
//   almanac::scheduler_options opts;
//   opts.data_dir = "/var/lib/myapp/almanac";
//   opts.handlers["send-report"] = [](const almanac::run_context& run) { ... };
//   auto s = almanac::scheduler::start(sys, std::move(opts));
//   caf::scoped_actor self{sys};
//   self->request((*s)->admin(), caf::infinite, almanac::create_request{...}).receive(...);
//   (*s)->stop(std::chrono::seconds{30});
#pragma once

#include <almanac/actor_system.hpp>
#include <almanac/admin.hpp>
#include <almanac/admin_actor.hpp>
#include <almanac/clock.hpp>
#include <almanac/job.hpp>
#include <almanac/metrics.hpp>
#include <almanac/options.hpp>
#include <almanac/result.hpp>
#include <almanac/run.hpp>
#include <almanac/time.hpp>

#include <caf/fwd.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace almanac {

struct scheduler_options {
  // The data directory of a RocksDB log (created, mode 0700, when missing). Required unless
  // `store` names a PostgreSQL database.
  std::filesystem::path data_dir;
  // The log in PostgreSQL instead: a postgresql:// (or postgres://) URI, e.g.
  // "postgresql://almanac@db.example:5432/almanac". Credentials come from the URI, PGPASSFILE or
  // PGPASSWORD and are never logged or shown. The schema is created, or migrated, on first use;
  // docs/STORAGE.md says what each backend guarantees. Empty (default): RocksDB in data_dir.
  std::string store;
  // Default: every append durable before it is acknowledged (RocksDB: fsync'd; PostgreSQL:
  // committed under the server's synchronous_commit). durability::none: RocksDB writes without
  // fsync, PostgreSQL commits with synchronous_commit off (tests and benchmarks only).
  almanac::durability durability = almanac::durability::sync;
  // RocksDB: the log's write memory (memtables of all column families). Default: 64 MiB.
  std::size_t memtable_bytes = std::size_t{64} << 20;
  // Default (null): the system clock. Tests pass a manual_clock.
  const clock* clk = nullptr;
  // RocksDB: start even when the write-ahead log is damaged, accepting the loss: the damaged files are
  // copied aside, what reads back up to the damage is kept, and the loss is recorded in the log
  // (audit trail and health show it). Without it start() refuses a damaged log with
  // corrupt_event naming the file. Default: refuse.
  bool salvage = false;
  executor_options executor;
  runtime_settings settings;
  // Where operator-relevant log lines go (start, recovery, run failed, job failed, revived).
  log_sink logger;
  // Keep the audit trail and run history projections. Default: on.
  bool projections = true;
  // Handlers in place before recovery: a job overdue at start-up is dispatched at once, so a
  // handler registered only after start() can miss it (that run fails naming the handler).
  std::map<std::string, handler> handlers;
};

// Creates `dir` and each missing parent with mode 0700, leaving the mode of every directory that
// exists alone, as start() does: for an application that takes a lock in the directory first.
// Errors: io_error naming the directory.
result<void> make_data_directory(const std::filesystem::path& dir);

// scheduler_options::store as logs and messages may show it: postgresql://user@host:port/db,
// without the password or any other parameter.
std::string describe_store(std::string_view store);

// Whether a postgresql:// URI holds a password itself (then `ps` shows it to every local user;
// PGPASSFILE is the better place for one).
bool store_uri_has_password(std::string_view store);

class scheduler {
public:
  // Opens the log, recovers every job, spawns the actors and arms the timers. Errors:
  // invalid_input (neither data_dir nor a postgresql:// store, or a store that is not one);
  // storage_error (the directory is in use by another process, unreadable; PostgreSQL cannot be
  // reached: the message names host, port, database and user, never the password); unknown_event /
  // newer_format / corrupt_event naming job and sequence (unless settings.quarantine_undecodable).
  static result<std::unique_ptr<scheduler>> start(caf::actor_system& sys, scheduler_options opts);

  // Stops with no grace period if stop() was not called.
  ~scheduler();

  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // The admin actor: works in-process, and from other nodes once published with the middleman.
  admin_actor admin() const;

  // Registers a C++ handler for jobs whose target is handler_target{name}. Thread-safe; may be
  // called before or after jobs exist (a run with no handler fails with a message naming it).
  // Handlers that overdue jobs need at start-up belong in scheduler_options::handlers.
  void register_handler(std::string name, handler fn);

  // Registers an actor as the handler `name`: each run sends it a run_message and waits (on an
  // executor thread, never an actor's) for its run_reply; an error reply, or the actor being
  // gone, is a failed run. The actor may live on another node.
  void register_actor_handler(std::string name, caf::actor target);

  // Sets the runner of exec or http targets (the daemon installs its own), replacing the one
  // in scheduler_options::executor. Thread-safe; runs already executing keep theirs.
  void set_exec_runner(runner fn);
  void set_http_runner(runner fn);

  // Makes the supervisor look at its timers now. With the system clock its own wake-up does
  // this; with a manual clock, call it after moving the clock.
  void check_timers();

  // Counters and histograms for operators.
  const runtime_metrics& metrics() const noexcept;

  // metrics(), the job counts of `health` and the log writer's figures as Prometheus text (the
  // daemon's GET /metrics).
  std::string render_metrics(const health_report& health) const;

  // Stops starting runs, waits up to `grace` for runs in progress and their outcomes to be
  // recorded, stops the actors and closes the log. Returns the runs still in flight at the end
  // (recorded RunAbandoned at the next start). Idempotent.
  std::size_t stop(duration grace);

  struct impl;

private:
  // The uninstalled testing header (actors/testing.hpp) reaches the log and the job actors.
  friend class scheduler_testing;
  explicit scheduler(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace almanac
