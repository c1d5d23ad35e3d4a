#include "tools/replay/event_json.hpp"

#include "tools/edge/json_writer.hpp"

#include <almanac/time.hpp>

namespace almanac::tools {

namespace {

json duration_json(duration d) { return format_duration(d); }

} // namespace

json event_to_json(std::uint64_t position, const event& e) {
  json j = {{"position", position},
            {"seq", e.env.seq},
            {"job_id", to_string(e.env.job)},
            {"type", event_name(e.body)},
            {"recorded_at", format_instant(e.env.recorded_at)},
            {"actor", e.env.actor},
            {"note", e.env.note},
            {"cause", e.env.cause}};
  struct visitor {
    json& j;
    void operator()(const job_created& c) const {
      j["name"] = c.name;
      j["schedule"] = schedule_to_json(c.sched);
      j["target"] = target_to_json(c.what);
      j["policies"] = policies_to_json(c.policies);
      j["created_by"] = c.created_by;
      j["next_run_at"] = instant_or_null(c.next_run_at);
    }
    void operator()(const job_updated& u) const {
      if (u.name)
        j["name"] = *u.name;
      if (u.sched)
        j["schedule"] = schedule_to_json(*u.sched);
      if (u.what)
        j["target"] = target_to_json(*u.what);
      if (u.policies)
        j["policies"] = policies_to_json(*u.policies);
      j["next_run_at"] = instant_or_null(u.next_run_at);
    }
    void operator()(const job_paused&) const {
      // nop: the envelope says it all
    }
    void operator()(const job_resumed& r) const { j["next_run_at"] = instant_or_null(r.next_run_at); }
    void operator()(const job_revived& r) const {
      j["cleared_errors"] = r.cleared_errors;
      j["next_run_at"] = instant_or_null(r.next_run_at);
    }
    void operator()(const run_started& r) const {
      j["run_id"] = r.run_id;
      j["scheduled_for"] = format_instant(r.scheduled_for);
      j["trigger"] = to_string(r.trigger);
      j["next_run_at"] = instant_or_null(r.next_run_at);
    }
    void operator()(const run_succeeded& r) const {
      j["run_id"] = r.run_id;
      j["took"] = duration_json(r.took);
      j["output_tail"] = r.output_tail;
      j["next_run_at"] = instant_or_null(r.next_run_at);
    }
    void operator()(const run_failed& r) const {
      j["run_id"] = r.run_id;
      j["error"] = r.error;
      j["consecutive_errors"] = r.consecutive_errors;
      j["took"] = duration_json(r.took);
      j["output_tail"] = r.output_tail;
      j["next_run_at"] = instant_or_null(r.next_run_at);
    }
    void operator()(const run_skipped& r) const {
      j["scheduled_for"] = format_instant(r.scheduled_for);
      j["reason"] = to_string(r.reason);
      j["next_run_at"] = instant_or_null(r.next_run_at);
    }
    void operator()(const run_queued& r) const {
      j["scheduled_for"] = format_instant(r.scheduled_for);
      j["next_run_at"] = instant_or_null(r.next_run_at);
    }
    void operator()(const run_abandoned& r) const {
      j["run_id"] = r.run_id;
      j["reason"] = r.reason;
      j["next_run_at"] = instant_or_null(r.next_run_at);
      j["infra_failures"] = r.infra_failures;
    }
    void operator()(const job_failed& f) const {
      j["consecutive_errors"] = f.consecutive_errors;
      j["last_error"] = f.last_error;
    }
    void operator()(const job_completed&) const {
      // nop: no fields of its own
    }
    void operator()(const job_deleted&) const {
      // nop: no fields of its own
    }
    void operator()(const log_salvaged& l) const {
      j["files"] = l.files;
      j["reason"] = l.reason;
      j["bytes_dropped"] = l.bytes_dropped;
      j["kept_through"] = l.kept_through;
      j["seen_up_to"] = l.seen_up_to;
      j["backup"] = l.backup;
    }
  };
  std::visit(visitor{j}, e.body);
  return j;
}

} // namespace almanac::tools
