#include "projections/history.hpp"

#include <almanac/time.hpp>

#include <nlohmann/json.hpp>

namespace almanac {

using nlohmann::json;

namespace {

std::string iso(instant t) { return t == instant{} ? std::string{} : format_instant(t); }

instant from_iso(const json& j, const char* key) {
  auto text = j.value(key, std::string{});
  if (text.empty())
    return {};
  auto r = parse_instant(text);
  return r ? *r : instant{};
}

std::string next_text(const std::optional<instant>& t) {
  return t ? format_instant(*t) : std::string{"none"};
}

} // namespace

std::string be_key(std::uint64_t a) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, a >>= 8)
    k[static_cast<std::size_t>(i)] = static_cast<char>(a & 0xff);
  return k;
}

std::string be_key(std::uint64_t a, std::uint64_t b) { return be_key(a) + be_key(b); }

void to_json(json& j, const audit_entry& e) {
  j = json{{"position", e.position}, {"at", iso(e.at)},           {"job_id", to_string(e.job)},
           {"job_name", e.job_name}, {"action", e.action},         {"from_status", e.from_status},
           {"to_status", e.to_status}, {"actor", e.actor},        {"note", e.note},
           {"detail", e.detail}};
}

void from_json(const json& j, audit_entry& e) {
  e.position = j.value("position", std::uint64_t{0});
  e.at = from_iso(j, "at");
  auto id = parse_job_id(j.value("job_id", std::string{}));
  e.job = id ? *id : job_id{};
  e.job_name = j.value("job_name", "");
  e.action = j.value("action", "");
  e.from_status = j.value("from_status", "");
  e.to_status = j.value("to_status", "");
  e.actor = j.value("actor", "");
  e.note = j.value("note", "");
  e.detail = j.value("detail", "");
}

void to_json(json& j, const run_record& r) {
  j = json{{"job_id", to_string(r.job)},
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

void from_json(const json& j, run_record& r) {
  auto id = parse_job_id(j.value("job_id", std::string{}));
  r.job = id ? *id : job_id{};
  r.run_id = j.value("run_id", std::uint64_t{0});
  r.scheduled_for = from_iso(j, "scheduled_for");
  r.started_at = from_iso(j, "started_at");
  r.finished_at = j.contains("finished_at") && j["finished_at"].is_string()
                    ? from_iso(j, "finished_at")
                    : instant{};
  r.trigger = j.value("trigger", "");
  r.outcome = j.value("outcome", "");
  r.error = j.value("error", "");
  r.took = std::chrono::milliseconds{j.value("duration_ms", std::int64_t{0})};
  r.output_tail = j.value("output_tail", "");
}

history_projector::job_summary& history_projector::summary(job_id job) {
  auto [i, added] = jobs_.try_emplace(job);
  if (added && stored_) {
    std::string value;
    if (stored_->get_projection(jobs_projection, be_key(job.value), value).ok()) {
      auto j = json::parse(value, nullptr, false);
      if (j.is_object()) {
        i->second.name = j.value("name", "");
        i->second.status = j.value("status", "");
      }
    }
  }
  return i->second;
}

std::optional<run_record> history_projector::take_run(job_id job, std::uint64_t run_id) {
  auto& runs = open_runs_[job];
  for (auto i = runs.begin(); i != runs.end(); ++i)
    if (i->run_id == run_id) {
      auto r = std::move(*i);
      runs.erase(i);
      if (runs.empty())
        open_runs_.erase(job);
      return r;
    }
  if (runs.empty())
    open_runs_.erase(job);
  if (stored_) {
    std::string value;
    if (stored_->get_projection(runs_projection, be_key(job.value, run_id), value).ok()) {
      auto j = json::parse(value, nullptr, false);
      if (j.is_object())
        return j.get<run_record>();
    }
  }
  return std::nullopt;
}

history_change history_projector::apply(std::uint64_t position, const event& e) {
  auto& job = summary(e.env.job);
  history_change change;
  auto audit = [&](std::string action, std::string to_status, std::string detail = {}) {
    audit_entry a;
    a.position = position;
    a.at = e.env.recorded_at;
    a.job = e.env.job;
    a.job_name = job.name;
    a.action = std::move(action);
    a.from_status = job.status;
    a.to_status = std::move(to_status);
    a.actor = e.env.actor;
    a.note = e.env.note;
    a.detail = std::move(detail);
    job.status = a.to_status;
    change.audit = std::move(a);
  };
  auto finish = [&](std::uint64_t run_id, std::string outcome, std::string error, duration took,
                    std::string output) {
    auto r = take_run(e.env.job, run_id);
    if (!r) {
      r = run_record{};
      r->job = e.env.job;
      r->run_id = run_id;
    }
    r->finished_at = e.env.recorded_at;
    r->outcome = std::move(outcome);
    r->error = std::move(error);
    r->took = took;
    r->output_tail = std::move(output);
    change.run = std::move(r);
  };
  struct visitor {
    history_projector& self;
    const event& e;
    job_summary& job;
    decltype(audit)& add;
    decltype(finish)& done;
    history_change& change;

    void operator()(const job_created& c) {
      job.name = c.name;
      job.status.clear();
      add("create", "active", "schedule " + describe(c.sched) + ", first run at " +
                                next_text(c.next_run_at));
    }
    void operator()(const job_updated& u) {
      std::string what;
      auto field = [&](bool changed, const char* name) {
        if (changed)
          what += what.empty() ? name : std::string{", "} + name;
      };
      field(u.name.has_value(), "name");
      field(u.sched.has_value(), "schedule");
      field(u.what.has_value(), "target");
      field(u.policies.has_value(), "policies");
      if (u.name)
        job.name = *u.name;
      add("update", job.status, "changed " + what +
                                  (u.next_run_at ? "; next run at " + next_text(u.next_run_at)
                                                 : std::string{}));
    }
    void operator()(const job_paused&) { add("pause", "paused"); }
    void operator()(const job_resumed& r) {
      add(e.env.cause == "resume:force" ? "resume:force" : "resume", "active",
          "next run at " + next_text(r.next_run_at));
    }
    void operator()(const job_revived& r) {
      add("resume:force", "active",
          "revived: cleared " + std::to_string(r.cleared_errors) +
            " consecutive errors; next run at " + next_text(r.next_run_at));
    }
    void operator()(const run_started& s) {
      run_record r;
      r.job = e.env.job;
      r.run_id = s.run_id;
      r.scheduled_for = s.scheduled_for;
      r.started_at = e.env.recorded_at;
      r.trigger = std::string{to_string(s.trigger)};
      self.open_runs_[e.env.job].push_back(r);
      if (s.trigger == run_trigger::manual)
        add("run_now", job.status, "run " + std::to_string(s.run_id));
      change.run = std::move(r);
    }
    void operator()(const run_succeeded& s) { done(s.run_id, "succeeded", "", s.took, s.output_tail); }
    void operator()(const run_failed& f) {
      done(f.run_id, "failed", f.error, f.took, f.output_tail);
      // A failure that leaves the job active with a retry planned is a backoff.
      if (f.consecutive_errors > 0 && f.next_run_at && job.status == "active")
        add("backoff", "active", "run " + std::to_string(f.run_id) + " failed (" + f.error +
                                   "); consecutive errors " +
                                   std::to_string(f.consecutive_errors) + "; retry at " +
                                   next_text(f.next_run_at));
    }
    void operator()(const run_skipped&) {}
    void operator()(const run_queued&) {}
    void operator()(const run_abandoned& a) { done(a.run_id, "abandoned", a.reason, {}, {}); }
    void operator()(const job_failed& f) {
      add("failed", "failed", "after " + std::to_string(f.consecutive_errors) +
                                " consecutive errors; last error: " + f.last_error);
    }
    void operator()(const job_completed&) { add("completed", "completed"); }
    void operator()(const job_deleted&) { add("delete", "deleted"); }
    void operator()(const log_salvaged& l) {
      job.name = "(the log)";
      add("salvage", "", "write-ahead log " + l.files + " damaged (" + l.reason + "); positions " +
                           std::to_string(l.kept_through + 1) + " to " +
                           std::to_string(l.seen_up_to) + " lost; damaged files copied to " +
                           l.backup);
    }
  };
  std::visit(visitor{*this, e, job, audit, finish, change}, e.body);
  return change;
}

void history_projector::stage(const history_change& change, const event& e,
                              store::projection_batch& batch) const {
  if (change.audit) {
    auto value = json(*change.audit).dump();
    batch.put(audit_projection, be_key(change.audit->position), value);
    batch.put(audit_by_job_projection, be_key(e.env.job.value, change.audit->position), value);
    if (auto i = jobs_.find(e.env.job); i != jobs_.end())
      batch.put(jobs_projection, be_key(e.env.job.value),
                json{{"name", i->second.name}, {"status", i->second.status}}.dump());
  }
  if (change.run)
    batch.put(runs_projection, be_key(e.env.job.value, change.run->run_id),
              json(*change.run).dump());
}

store::status read_audit(const store::journal& log, std::optional<job_id> job, std::size_t limit,
                         std::uint64_t before, std::vector<audit_entry>& out) {
  store::projection_scan scan;
  scan.direction = store::scan_direction::backward;
  scan.limit = limit;
  std::string_view projection = audit_projection;
  if (job) {
    projection = audit_by_job_projection;
    scan.prefix = be_key(job->value);
    scan.from = before ? be_key(job->value, before - 1) : std::string{};
  } else {
    scan.from = before ? be_key(before - 1) : std::string{};
  }
  if (before == 1)
    return store::status{};
  std::vector<store::projection_row> rows;
  auto st = log.scan_projection(projection, scan, rows);
  if (!st.ok())
    return st;
  for (auto& row : rows) {
    auto j = json::parse(row.value, nullptr, false);
    if (j.is_object())
      out.push_back(j.get<audit_entry>());
  }
  return st;
}

store::status read_runs(const store::journal& log, job_id job, std::size_t limit,
                        std::vector<run_record>& out, std::uint64_t before) {
  if (before == 1)
    return store::status{};
  store::projection_scan scan;
  scan.direction = store::scan_direction::backward;
  scan.limit = limit;
  scan.prefix = be_key(job.value);
  scan.from = before ? be_key(job.value, before - 1) : std::string{};
  std::vector<store::projection_row> rows;
  auto st = log.scan_projection(runs_projection, scan, rows);
  if (!st.ok())
    return st;
  for (auto& row : rows) {
    auto j = json::parse(row.value, nullptr, false);
    if (j.is_object())
      out.push_back(j.get<run_record>());
  }
  return st;
}

} // namespace almanac
