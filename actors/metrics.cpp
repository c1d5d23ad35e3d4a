#include "actors/metrics.hpp"

#include <sstream>

namespace almanac {

namespace {

void render(std::ostringstream& out, const char* name, const char* help, const histogram& h) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < histogram::bounds.size(); ++i) {
    cumulative += h.bucket(i);
    out << name << "_bucket{le=\"" << histogram::bounds[i] << "\"} " << cumulative << '\n';
  }
  cumulative += h.bucket(histogram::bounds.size());
  out << name << "_bucket{le=\"+Inf\"} " << cumulative << '\n';
  out << name << "_sum " << h.sum_seconds() << '\n' << name << "_count " << cumulative << '\n';
}

} // namespace

std::string render_prometheus(const runtime_metrics& m, std::uint64_t active, std::uint64_t paused,
                              std::uint64_t failed, std::uint64_t completed,
                              const store::journal_health& log) {
  std::ostringstream out;
  out << "# HELP almanac_jobs Jobs by status.\n# TYPE almanac_jobs gauge\n"
      << "almanac_jobs{status=\"active\"} " << active << '\n'
      << "almanac_jobs{status=\"paused\"} " << paused << '\n'
      << "almanac_jobs{status=\"failed\"} " << failed << '\n'
      << "almanac_jobs{status=\"completed\"} " << completed << '\n';
  out << "# HELP almanac_runs_total Finished runs by outcome.\n# TYPE almanac_runs_total counter\n"
      << "almanac_runs_total{outcome=\"succeeded\"} " << m.runs_succeeded.load() << '\n'
      << "almanac_runs_total{outcome=\"failed\"} " << m.runs_failed.load() << '\n'
      << "almanac_runs_total{outcome=\"abandoned\"} " << m.runs_abandoned.load() << '\n'
      << "almanac_runs_total{outcome=\"skipped\"} " << m.runs_skipped.load() << '\n';
  out << "# HELP almanac_infra_failures_total Runs the daemon could not carry out for want of its "
         "own resources (file descriptors, memory, processes); retried, never the job's failure.\n"
      << "# TYPE almanac_infra_failures_total counter\n"
      << "almanac_infra_failures_total " << m.runs_infra_failed.load() << '\n'
      << "# HELP almanac_infra_retries_total Runs started again after the daemon could not carry "
         "out the one before.\n"
      << "# TYPE almanac_infra_retries_total counter\n"
      << "almanac_infra_retries_total " << m.infra_retries.load() << '\n';
  render(out, "almanac_run_duration_seconds", "Run wall time.", m.run_duration);
  render(out, "almanac_run_lateness_seconds", "Run start minus its scheduled instant.",
         m.run_lateness);
  out << "# HELP almanac_log_appends_total Appends made durable.\n"
      << "# TYPE almanac_log_appends_total counter\n"
      << "almanac_log_appends_total " << m.log_appends.load() << '\n'
      << "# HELP almanac_log_events_total Events made durable.\n"
      << "# TYPE almanac_log_events_total counter\n"
      << "almanac_log_events_total " << m.log_events.load() << '\n'
      << "# HELP almanac_log_append_errors_total Appends refused or failed.\n"
      << "# TYPE almanac_log_append_errors_total counter\n"
      << "almanac_log_append_errors_total " << m.log_append_errors.load() << '\n'
      << "# HELP almanac_actors_passivated_total Idle job actors stopped (the jobs stay).\n"
      << "# TYPE almanac_actors_passivated_total counter\n"
      << "almanac_actors_passivated_total " << m.actors_passivated.load() << '\n';
  render(out, "almanac_log_append_seconds", "Append until durable (group commit and fsync).",
         m.append_latency);
  out << "# HELP almanac_log_group_writes_total Synced group-commit writes.\n"
      << "# TYPE almanac_log_group_writes_total counter\n"
      << "almanac_log_group_writes_total " << log.group_writes << '\n'
      << "# HELP almanac_log_write_seconds_total Time in group-commit writes, fsync included.\n"
      << "# TYPE almanac_log_write_seconds_total counter\n"
      << "almanac_log_write_seconds_total "
      << std::chrono::duration<double>(log.write_time).count() << '\n'
      << "# HELP almanac_store_connected Whether the log's writer reaches its storage (1) or not "
         "(0): a PostgreSQL server that is down or unreachable.\n"
      << "# TYPE almanac_store_connected gauge\n"
      << "almanac_store_connected{backend=\"" << log.backend << "\"} " << (log.connected ? 1 : 0)
      << '\n'
      << "# HELP almanac_store_connection_losses_total Connections to the storage lost.\n"
      << "# TYPE almanac_store_connection_losses_total counter\n"
      << "almanac_store_connection_losses_total " << log.connection_losses << '\n'
      << "# HELP almanac_store_reconnects_total Connections to the storage made again after a "
         "loss.\n"
      << "# TYPE almanac_store_reconnects_total counter\n"
      << "almanac_store_reconnects_total " << log.reconnects << '\n'
      << "# HELP almanac_log_queued_events Events waiting for the log's writer.\n"
      << "# TYPE almanac_log_queued_events gauge\n"
      << "almanac_log_queued_events " << log.queued_events << '\n'
      << "# HELP almanac_log_appends_waiting Blocking appends waiting for room in the writer's "
         "queue (backpressure).\n"
      << "# TYPE almanac_log_appends_waiting gauge\n"
      << "almanac_log_appends_waiting " << log.appends_waiting << '\n';
  return std::move(out).str();
}

} // namespace almanac
