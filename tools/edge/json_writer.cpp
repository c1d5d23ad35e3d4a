#include "tools/edge/json_writer.hpp"

#include <chrono>
#include <string_view>

namespace almanac::tools {

namespace {

json values_json(const std::map<std::string, std::string>& plain,
                 const std::map<std::string, secret_ref>& secrets) {
  json out = plain;
  for (const auto& [k, r] : secrets)
    out[k] = {{r.source == secret_source::file ? "from_file" : "from_env", r.name}};
  return out;
}

std::string iso(instant t) { return format_instant(t); }

std::string_view misfire_name(misfire_policy p) {
  switch (p) {
    case misfire_policy::fire_once: return "fire_once";
    case misfire_policy::skip: return "skip";
    case misfire_policy::catch_up: return "catch_up";
  }
  return "fire_once";
}

std::string_view overlap_name(overlap_policy p) {
  switch (p) {
    case overlap_policy::skip: return "skip";
    case overlap_policy::buffer_one: return "buffer_one";
    case overlap_policy::allow: return "allow";
  }
  return "skip";
}

} // namespace

json instant_or_null(const std::optional<instant>& t) {
  return t ? json(iso(*t)) : json(nullptr);
}

json schedule_to_json(const schedule& s) {
  struct visitor {
    json operator()(const at_schedule& a) const { return {{"kind", "at"}, {"at", iso(a.at)}}; }
    json operator()(const every_schedule& e) const {
      return {{"kind", "every"},
              {"every", format_duration(e.interval)},
              {"anchor", e.anchor == instant{} ? json(nullptr) : json(iso(e.anchor))},
              {"mode", e.mode == every_anchor::grid ? "grid" : "after_run_end"}};
    }
    json operator()(const cron_schedule& c) const {
      return {{"kind", "cron"}, {"cron", c.expr}, {"tz", c.zone}};
    }
  };
  return std::visit(visitor{}, s);
}

json target_to_json(const target& t) {
  struct visitor {
    json operator()(const exec_target& e) const {
      return {{"kind", "exec"},
              {"argv", e.argv},
              {"env", values_json(e.env, e.secret_env)},
              {"cwd", e.cwd}};
    }
    json operator()(const http_target& h) const {
      return {{"kind", "http"},
              {"method", h.method},
              {"url", h.url},
              {"headers", values_json(h.headers, h.secret_headers)},
              {"body", h.body}};
    }
    json operator()(const handler_target& h) const {
      return {{"kind", "handler"}, {"name", h.name}, {"payload", h.payload}};
    }
  };
  return std::visit(visitor{}, t);
}

json policies_to_json(const job_policies& p) {
  json backoff = json::array();
  for (auto d : p.backoff)
    backoff.push_back(format_duration(d));
  return {{"max_consecutive_errors",
           p.max_consecutive_errors ? json(*p.max_consecutive_errors) : json(nullptr)},
          {"backoff", backoff},
          {"timeout", format_duration(p.timeout)},
          {"misfire", misfire_name(p.misfire)},
          {"catch_up_limit", p.catch_up_limit},
          {"overlap", overlap_name(p.overlap)},
          {"group", p.group},
          {"jitter", format_duration(p.jitter)},
          {"misfire_grace", format_duration(p.misfire_grace)},
          {"end_at", instant_or_null(p.end_at)},
          {"max_runs", p.max_runs ? json(*p.max_runs) : json(nullptr)},
          {"delete_after_run", p.delete_after_run}};
}

json job_to_json(const job_state& s) {
  json last_run = nullptr;
  if (s.last_run)
    last_run = {{"run_id", s.last_run->run_id},
                {"outcome", s.last_run->ok ? "succeeded" : "failed"},
                {"error", s.last_run->error},
                {"started_at", iso(s.last_run->started_at)},
                {"finished_at", iso(s.last_run->finished_at)}};
  json in_flight = json::array();
  for (const auto& r : s.in_flight)
    in_flight.push_back({{"run_id", r.run_id},
                         {"scheduled_for", iso(r.scheduled_for)},
                         {"started_at", iso(r.started_at)},
                         {"trigger", to_string(r.trigger)}});
  return {{"id", to_string(s.id)},
          {"name", s.name},
          {"status", s.deleted ? std::string_view{"deleted"} : to_string(s.status)},
          {"schedule", schedule_to_json(s.sched)},
          {"target", target_to_json(s.what)},
          {"policies", policies_to_json(s.policies)},
          {"next_run_at", instant_or_null(s.next_run_at)},
          {"consecutive_errors", s.consecutive_errors},
          {"max_consecutive_errors", max_errors(s)},
          {"consecutive_infra_failures", s.consecutive_infra_failures},
          {"last_error", s.last_error},
          {"last_run", last_run},
          {"created_at", iso(s.created_at)},
          {"created_by", s.created_by},
          {"updated_at", iso(s.updated_at)},
          {"seq", s.seq},
          {"runs_started", s.runs_started},
          {"runs_in_flight", in_flight},
          {"queued_fire", instant_or_null(s.queued_fire)}};
}

json audit_to_json(const audit_entry& e) {
  return {{"position", e.position}, {"at", iso(e.at)},         {"job_id", to_string(e.job)},
          {"job_name", e.job_name}, {"action", e.action},       {"from_status", e.from_status},
          {"to_status", e.to_status}, {"actor", e.actor},      {"note", e.note},
          {"detail", e.detail}};
}

json run_to_json(const run_record& r) {
  return {{"job_id", to_string(r.job)},
          {"run_id", r.run_id},
          {"scheduled_for", iso(r.scheduled_for)},
          {"started_at", iso(r.started_at)},
          {"finished_at", r.finished_at == instant{} ? json(nullptr) : json(iso(r.finished_at))},
          {"trigger", r.trigger},
          {"outcome", r.outcome},
          {"error", r.error},
          {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(r.took).count()},
          {"output_tail", r.output_tail}};
}

json error_to_json(const error& err) {
  return {{"error", to_string(err.code)}, {"message", err.message}};
}

} // namespace almanac::tools
