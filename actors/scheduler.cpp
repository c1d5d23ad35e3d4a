#include <almanac/almanac.hpp>

#include "actors/metrics.hpp"
#include "actors/projector.hpp"
#include "actors/recovery.hpp"
#include "actors/supervisor.hpp"
#include "actors/testing.hpp"
#include "store/event_log.hpp"
#include "store/open_journal.hpp"

#include <almanac/caf_error.hpp>

#include <caf/all.hpp>

#include <thread>

namespace almanac {

result<void> make_data_directory(const std::filesystem::path& dir) {
  if (auto s = store::make_data_directory(dir); !s.ok())
    return store::to_error(s);
  return {};
}

std::string describe_store(std::string_view store) { return store::describe_location(store); }

bool store_uri_has_password(std::string_view store) { return store::uri_has_password(store); }

struct scheduler::impl {
  caf::actor_system& sys;
  system_clock wall;
  std::unique_ptr<store::journal> log;
  std::unique_ptr<job_log> jobs;
  std::unique_ptr<executor> exec;
  std::shared_ptr<runtime_context> ctx;
  caf::actor projector;
  supervisor_actor supervisor;
  recovered_jobs recovered;
  bool stopped = false;
  std::size_t left_in_flight = 0;
};

result<std::unique_ptr<scheduler>> scheduler::start(caf::actor_system& sys,
                                                    scheduler_options opts) {
  if (!opts.store.empty() && !store::is_postgres_uri(opts.store))
    return fail(errc::invalid_input,
                "store: not a postgresql:// URI (a RocksDB log is given as data_dir)");
  if (opts.store.empty() && opts.data_dir.empty())
    return fail(errc::invalid_input, "no data directory given (or a postgresql:// store)");
  if (opts.settings.max_jobs == 0)
    return fail(errc::invalid_input, "max_jobs: must be at least 1");
  auto p = std::make_unique<impl>(impl{sys, {}, {}, {}, {}, {}, {}, {}, {}, false, 0});
  store::open_options o;
  o.sync = opts.durability;
  o.memtable_bytes = opts.memtable_bytes;
  o.salvage = opts.salvage;
  o.salvage_at = opts.clk ? opts.clk->now() : p->wall.now();
  auto where = opts.store.empty() ? opts.data_dir.string() : opts.store;
  if (auto s = store::open_journal(where, o, p->log); !s.ok()) {
    auto err = store::to_error(s);
    if (err.code == errc::corrupt_event)
      err.message += " (run almanac-replay verify on the log for a full report)";
    return err;
  }
  p->exec = std::make_unique<executor>(opts.executor);
  for (auto& [name, fn] : opts.handlers)
    p->exec->register_handler(name, std::move(fn));
  p->ctx = std::make_shared<runtime_context>();
  p->ctx->log = p->log.get();
  p->ctx->store_location = store::describe_location(where);
  p->jobs = std::make_unique<journal_job_log>(*p->log);
  p->ctx->jobs = p->jobs.get();
  p->ctx->exec = p->exec.get();
  p->ctx->clk = opts.clk ? opts.clk : &p->wall;
  p->ctx->settings = opts.settings;
  p->ctx->logger = std::move(opts.logger);
  auto recovered = recover_jobs(*p->ctx);
  if (!recovered)
    return std::move(recovered).err();
  p->recovered.quarantined = recovered->quarantined;
  p->recovered.log_salvages = recovered->log_salvages;
  p->recovered.events_total = recovered->events_total;
  p->recovered.snapshot_warnings = recovered->snapshot_warnings;
  p->recovered.took = recovered->took;
  for (const auto& q : recovered->quarantined)
    p->ctx->say(log_level::error, "quarantined: " + q);
  if (opts.projections)
    p->projector = spawn_projector(sys, p->ctx);
  p->supervisor = spawn_supervisor(sys, p->ctx, p->projector, std::move(*recovered));
  return std::unique_ptr<scheduler>(new scheduler(std::move(p)));
}

scheduler::scheduler(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

scheduler::~scheduler() { stop(duration::zero()); }

admin_actor scheduler::admin() const { return caf::actor_cast<admin_actor>(impl_->supervisor); }

void scheduler::register_handler(std::string name, handler fn) {
  impl_->exec->register_handler(std::move(name), std::move(fn));
}

void scheduler::register_actor_handler(std::string name, caf::actor target) {
  auto& sys = impl_->sys;
  impl_->exec->register_handler(std::move(name), [&sys, target](const run_context& run) {
    auto* h = std::get_if<handler_target>(&run.what);
    run_reply reply{false, "no reply from the handler actor", {}};
    {
      // Scoped to this run: a scoped_actor that outlives its scope keeps the system alive.
      caf::scoped_actor self{sys};
      self
        ->request(target, caf::infinite,
                  run_message{run.key.job, run.key.scheduled_for, run.key.run_id,
                              h ? h->payload : std::string{}})
        .receive([&](run_reply& r) { reply = std::move(r); },
                 [&](caf::error& err) {
                   reply = run_reply{false, "handler actor: " + from_caf_error(err).message, {}};
                 });
    }
    if (!reply.ok)
      throw std::runtime_error(reply.error);
  });
}

void scheduler::set_exec_runner(runner fn) { impl_->exec->set_exec_runner(std::move(fn)); }

void scheduler::set_http_runner(runner fn) { impl_->exec->set_http_runner(std::move(fn)); }

void scheduler::check_timers() { caf::anon_send(impl_->supervisor, tick{0}); }

const runtime_metrics& scheduler::metrics() const noexcept { return *impl_->ctx->metrics; }

std::string scheduler::render_metrics(const health_report& h) const {
  return render_prometheus(*impl_->ctx->metrics, h.active, h.paused, h.failed, h.completed,
                           impl_->log->health());
}

store::journal& scheduler_testing::journal(scheduler& s) { return *s.impl_->log; }

store::event_log& scheduler_testing::log(scheduler& s) {
  auto* rocks = dynamic_cast<store::event_log*>(s.impl_->log.get());
  if (!rocks)
    throw std::logic_error("scheduler_testing::log: the log is not RocksDB");
  return *rocks;
}

const recovered_jobs& scheduler_testing::recovery(const scheduler& s) {
  return s.impl_->recovered;
}

caf::actor scheduler_testing::job_actor_of(scheduler& s, job_id id) {
  caf::actor result;
  caf::scoped_actor self{s.impl_->sys};
  self->request(s.impl_->supervisor, std::chrono::seconds{10}, get_atom::value, id)
    .receive([&](caf::actor a) { result = std::move(a); }, [](caf::error&) {});
  return result;
}

std::size_t scheduler::stop(duration grace) {
  auto& p = *impl_;
  if (p.stopped)
    return p.left_in_flight;
  p.stopped = true;
  {
    // Scoped so that no scoped_actor outlives this block: one in scope keeps the actor system
    // from shutting down.
    caf::scoped_actor self{p.sys};
    self->request(p.supervisor, std::chrono::seconds{10}, stop_atom::value)
      .receive([](std::uint64_t) {}, [](caf::error&) {});
  }
  p.left_in_flight = p.exec->stop(grace);
  // Let the outcomes of the runs that finished within the grace period reach the log: each is
  // one message to its job actor and one append, so wait until nothing is executing and the
  // job actors have had a moment to record them.
  if (grace > duration::zero()) {
    caf::scoped_actor self{p.sys};
    self->request(p.supervisor, std::chrono::seconds{10}, health_request{})
      .receive([](health_report&) {}, [](caf::error&) {});
  }
  caf::anon_send_exit(p.supervisor, caf::exit_reason::user_shutdown);
  if (p.projector)
    caf::anon_send_exit(p.projector, caf::exit_reason::user_shutdown);
  // The log closes once no actor can append any more: the job actors are linked to the
  // supervisor, so wait for the supervisor (and with it every job actor) to be gone.
  {
    caf::scoped_actor self{p.sys};
    self->wait_for(p.supervisor);
    if (p.projector)
      self->wait_for(p.projector);
  }
  (void) p.log->close();
  return p.left_in_flight;
}

} // namespace almanac
