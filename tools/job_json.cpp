#include "tools/job_json.hpp"

#include "events/event.hpp"
#include "events/decide.hpp"
#include "projections/history.hpp"

#include <almanac/admin.hpp>
#include <almanac/job_state.hpp>
#include <almanac/time.hpp>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <string_view>

namespace almanac::tools {

namespace {

// Thrown inside this file only, and turned into an error at each public function: parsing a
// nested object is a dozen checks deep, and each would otherwise repeat the same early return.
struct bad_input {
  error err;
};

[[noreturn]] void reject(errc code, std::string message) { throw bad_input{{code, std::move(message)}}; }
[[noreturn]] void reject(const std::string& field, const std::string& why) {
  reject(errc::invalid_input, field + ": " + why);
}

template <class T>
T unwrap(result<T> r, const std::string& field) {
  if (!r)
    reject(r.err().code, field + ": " + r.err().message);
  return std::move(r).value();
}

std::string join(const std::string& where, std::string_view key) {
  return where.empty() ? std::string{key} : where + "." + std::string{key};
}

void object_with(const json& j, const std::string& where,
                 std::initializer_list<std::string_view> allowed) {
  if (!j.is_object())
    reject(where.empty() ? std::string{"body"} : where, "must be a JSON object");
  for (const auto& [key, value] : j.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      reject(join(where, key), "unknown field");
}

std::string get_string(const json& j, const std::string& field) {
  if (!j.is_string())
    reject(field, "must be a string");
  return j.get<std::string>();
}

bool get_bool(const json& j, const std::string& field) {
  if (!j.is_boolean())
    reject(field, "must be true or false");
  return j.get<bool>();
}

std::uint64_t get_uint(const json& j, const std::string& field, std::uint64_t max) {
  if (!j.is_number_integer() || (j.is_number_integer() && !j.is_number_unsigned() && j.get<std::int64_t>() < 0))
    reject(field, "must be a non-negative integer");
  auto v = j.get<std::uint64_t>();
  if (v > max)
    reject(field, std::to_string(v) + " is over the limit of " + std::to_string(max));
  return v;
}

duration get_duration(const json& j, const std::string& field) {
  return unwrap(parse_duration(get_string(j, field)), field);
}

instant get_instant(const json& j, const std::string& field) {
  return unwrap(parse_instant(get_string(j, field)), field);
}

// An env or headers object: each value is a string, or a secret reference {"from_env": NAME} or
// {"from_file": NAME}, which goes into `secrets`.
void get_values(const json& j, const std::string& where, std::map<std::string, std::string>& plain,
                std::map<std::string, secret_ref>& secrets) {
  if (!j.is_object())
    reject(where, "must be an object of strings or secret references");
  for (const auto& [k, v] : j.items()) {
    auto f = join(where, k);
    if (v.is_string()) {
      plain[k] = v.get<std::string>();
      continue;
    }
    if (!v.is_object() || v.size() != 1)
      reject(f, "must be a string, {\"from_env\": NAME} or {\"from_file\": NAME}");
    auto [key, name] = *v.items().begin();
    secret_ref r;
    if (key == "from_env")
      r.source = secret_source::env;
    else if (key == "from_file")
      r.source = secret_source::file;
    else
      reject(join(f, key), "unknown field (a secret reference is from_env or from_file)");
    r.name = get_string(name, join(f, key));
    secrets[k] = std::move(r);
  }
}

json values_json(const std::map<std::string, std::string>& plain,
                 const std::map<std::string, secret_ref>& secrets) {
  json out = plain;
  for (const auto& [k, r] : secrets)
    out[k] = {{r.source == secret_source::file ? "from_file" : "from_env", r.name}};
  return out;
}

const json* field(const json& j, std::string_view key) {
  auto i = j.find(key);
  return i == j.end() ? nullptr : &*i;
}

const json& required(const json& j, const std::string& where, std::string_view key) {
  auto* f = field(j, key);
  if (!f)
    reject(join(where, key), "is required");
  return *f;
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

schedule read_schedule(const json& j, const std::string& where) {
  object_with(j, where, {"kind", "at", "every", "cron", "tz", "anchor", "mode"});
  auto kind = get_string(required(j, where, "kind"), join(where, "kind"));
  auto only = [&](std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : j.items())
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        reject(join(where, key), "does not apply to a schedule of kind '" + kind + "'");
  };
  if (kind == "at") {
    only({"kind", "at"});
    return at_schedule{get_instant(required(j, where, "at"), join(where, "at"))};
  }
  if (kind == "every") {
    only({"kind", "every", "anchor", "mode"});
    every_schedule e;
    e.interval = get_duration(required(j, where, "every"), join(where, "every"));
    if (auto* a = field(j, "anchor"); a && !a->is_null())
      e.anchor = get_instant(*a, join(where, "anchor"));
    if (auto* m = field(j, "mode")) {
      auto mode = get_string(*m, join(where, "mode"));
      if (mode == "grid")
        e.mode = every_anchor::grid;
      else if (mode == "after_run_end")
        e.mode = every_anchor::after_run_end;
      else
        reject(join(where, "mode"), "'" + mode + "' is not grid or after_run_end");
    }
    if (e.interval <= duration::zero() || e.interval > max_interval)
      reject(errc::invalid_schedule,
             join(where, "every") + ": the interval must be positive and at most 366 days");
    return e;
  }
  if (kind == "cron") {
    only({"kind", "cron", "tz"});
    auto expr = get_string(required(j, where, "cron"), join(where, "cron"));
    std::string tz = "UTC";
    if (auto* z = field(j, "tz"); z && !z->is_null())
      tz = get_string(*z, join(where, "tz"));
    return unwrap(make_cron(expr, tz), join(where, "cron"));
  }
  reject(join(where, "kind"), "'" + kind + "' is not at, every or cron");
}

target read_target(const json& j, const std::string& where) {
  object_with(j, where, {"kind", "argv", "env", "cwd", "method", "url", "headers", "body", "name",
                         "payload"});
  auto kind = get_string(required(j, where, "kind"), join(where, "kind"));
  auto only = [&](std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : j.items())
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        reject(join(where, key), "does not apply to a target of kind '" + kind + "'");
  };
  if (kind == "exec") {
    only({"kind", "argv", "env", "cwd"});
    exec_target t;
    const auto& argv = required(j, where, "argv");
    if (!argv.is_array() || argv.empty())
      reject(join(where, "argv"), "must be a non-empty array of strings");
    for (std::size_t i = 0; i < argv.size(); ++i)
      t.argv.push_back(get_string(argv[i], join(where, "argv") + "[" + std::to_string(i) + "]"));
    if (auto* e = field(j, "env"))
      get_values(*e, join(where, "env"), t.env, t.secret_env);
    if (auto* c = field(j, "cwd"))
      t.cwd = get_string(*c, join(where, "cwd"));
    return t;
  }
  if (kind == "http") {
    only({"kind", "method", "url", "headers", "body"});
    http_target t;
    t.url = get_string(required(j, where, "url"), join(where, "url"));
    if (auto* m = field(j, "method")) {
      t.method = get_string(*m, join(where, "method"));
      std::transform(t.method.begin(), t.method.end(), t.method.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      static constexpr std::string_view methods[] = {"GET",    "POST", "PUT",
                                                     "DELETE", "PATCH", "HEAD"};
      if (std::find(std::begin(methods), std::end(methods), t.method) == std::end(methods))
        reject(join(where, "method"), "'" + t.method + "' is not GET, POST, PUT, DELETE, PATCH or HEAD");
    }
    if (auto* h = field(j, "headers"))
      get_values(*h, join(where, "headers"), t.headers, t.secret_headers);
    if (auto* b = field(j, "body"))
      t.body = get_string(*b, join(where, "body"));
    return t;
  }
  if (kind == "handler") {
    only({"kind", "name", "payload"});
    handler_target t;
    t.name = get_string(required(j, where, "name"), join(where, "name"));
    if (auto* p = field(j, "payload"))
      t.payload = get_string(*p, join(where, "payload"));
    return t;
  }
  reject(join(where, "kind"), "'" + kind + "' is not exec, http or handler");
}

// "fire_once", "skip", "catch_up" or "catch_up:N".
void read_misfire(const std::string& text, const std::string& where, job_policies& p) {
  if (text == "fire_once") {
    p.misfire = misfire_policy::fire_once;
  } else if (text == "skip") {
    p.misfire = misfire_policy::skip;
  } else if (text.rfind("catch_up", 0) == 0) {
    p.misfire = misfire_policy::catch_up;
    if (text.size() > 8) {
      if (text[8] != ':' || text.size() == 9
          || text.find_first_not_of("0123456789", 9) != std::string::npos || text.size() > 18)
        reject(where, "'" + text + "' is not catch_up:N");
      p.catch_up_limit = static_cast<std::uint32_t>(std::stoul(text.substr(9)));
      if (p.catch_up_limit == 0)
        reject(where, "catch_up:N needs N >= 1");
    }
  } else {
    reject(where, "'" + text + "' is not fire_once, skip, catch_up or catch_up:N");
  }
}

job_policies read_policies(const json& j, const std::string& where, job_policies p) {
  object_with(j, where, {"max_consecutive_errors", "backoff", "timeout", "misfire",
                         "catch_up_limit", "overlap", "group", "jitter", "delete_after_run",
                         "misfire_grace", "end_at", "max_runs"});
  constexpr auto u32 = std::numeric_limits<std::uint32_t>::max();
  for (const auto& [key, v] : j.items()) {
    auto f = join(where, key);
    if (key == "max_consecutive_errors") {
      p.max_consecutive_errors.reset();
      if (!v.is_null())
        p.max_consecutive_errors = static_cast<std::uint32_t>(get_uint(v, f, u32));
    } else if (key == "backoff") {
      if (!v.is_array())
        reject(f, "must be an array of durations");
      p.backoff.clear();
      for (std::size_t i = 0; i < v.size(); ++i)
        p.backoff.push_back(get_duration(v[i], f + "[" + std::to_string(i) + "]"));
    } else if (key == "timeout") {
      p.timeout = v.is_null() ? duration{} : get_duration(v, f);
    } else if (key == "jitter") {
      p.jitter = v.is_null() ? duration{} : get_duration(v, f);
    } else if (key == "misfire_grace") {
      p.misfire_grace = get_duration(v, f);
    } else if (key == "misfire") {
      read_misfire(get_string(v, f), f, p);
    } else if (key == "catch_up_limit") {
      p.catch_up_limit = static_cast<std::uint32_t>(get_uint(v, f, u32));
    } else if (key == "overlap") {
      auto o = get_string(v, f);
      if (o == "skip")
        p.overlap = overlap_policy::skip;
      else if (o == "buffer_one")
        p.overlap = overlap_policy::buffer_one;
      else if (o == "allow")
        p.overlap = overlap_policy::allow;
      else
        reject(f, "'" + o + "' is not skip, buffer_one or allow");
    } else if (key == "group") {
      p.group = get_string(v, f);
    } else if (key == "delete_after_run") {
      p.delete_after_run = get_bool(v, f);
    } else if (key == "end_at") {
      p.end_at.reset();
      if (!v.is_null())
        p.end_at = get_instant(v, f);
    } else if (key == "max_runs") {
      p.max_runs.reset();
      if (!v.is_null())
        p.max_runs = get_uint(v, f, std::numeric_limits<std::uint64_t>::max());
    }
  }
  if (auto ok = validate_policies(p); !ok)
    reject(ok.err().code, where + ": " + ok.err().message);
  return p;
}

template <class F>
auto guarded(F&& f) -> result<decltype(f())> {
  try {
    return f();
  } catch (const bad_input& x) {
    return x.err;
  } catch (const json::exception& x) {
    return fail(errc::invalid_input, x.what());
  }
}

json duration_json(duration d) { return format_duration(d); }

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

result<schedule> parse_schedule(const json& j) {
  return guarded([&] { return read_schedule(j, "schedule"); });
}

result<target> parse_target(const json& j) {
  return guarded([&] {
    auto t = read_target(j, "target");
    if (auto ok = validate_target(t); !ok)
      reject(ok.err().code, "target: " + ok.err().message);
    return t;
  });
}

result<job_policies> parse_policies(const json& j, job_policies base) {
  return guarded([&] { return read_policies(j, "policies", std::move(base)); });
}

result<job_spec> parse_job_spec(const json& body) {
  return guarded([&] {
    object_with(body, "", {"name", "schedule", "target", "policies"});
    job_spec spec;
    spec.name = get_string(required(body, "", "name"), "name");
    if (auto ok = validate_name(spec.name); !ok)
      reject(ok.err().code, "name: " + ok.err().message);
    spec.sched = read_schedule(required(body, "", "schedule"), "schedule");
    spec.what = read_target(required(body, "", "target"), "target");
    if (auto ok = validate_target(spec.what); !ok)
      reject(ok.err().code, "target: " + ok.err().message);
    if (auto* p = field(body, "policies"))
      spec.policies = read_policies(*p, "policies", {});
    return spec;
  });
}

result<update_job> parse_update(const json& body, const job_policies& current) {
  return guarded([&] {
    object_with(body, "", {"name", "schedule", "target", "policies"});
    if (body.empty())
      reject("body", "names no field to change (name, schedule, target, policies)");
    update_job u;
    if (auto* n = field(body, "name")) {
      u.name = get_string(*n, "name");
      if (auto ok = validate_name(*u.name); !ok)
        reject(ok.err().code, "name: " + ok.err().message);
    }
    if (auto* s = field(body, "schedule"))
      u.sched = read_schedule(*s, "schedule");
    if (auto* t = field(body, "target")) {
      u.what = read_target(*t, "target");
      if (auto ok = validate_target(*u.what); !ok)
        reject(ok.err().code, "target: " + ok.err().message);
    }
    if (auto* p = field(body, "policies"))
      u.policies = read_policies(*p, "policies", current);
    return u;
  });
}

json event_to_json(std::uint64_t position, const event& e) {
  json j = {{"position", position},
            {"seq", e.env.seq},
            {"job_id", to_string(e.env.job)},
            {"type", event_name(e.body)},
            {"recorded_at", iso(e.env.recorded_at)},
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
      j["scheduled_for"] = iso(r.scheduled_for);
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
      j["scheduled_for"] = iso(r.scheduled_for);
      j["reason"] = to_string(r.reason);
      j["next_run_at"] = instant_or_null(r.next_run_at);
    }
    void operator()(const run_queued& r) const {
      j["scheduled_for"] = iso(r.scheduled_for);
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

json audit_to_json(const audit_entry& e) {
  json j;
  to_json(j, e);
  return j;
}

json run_to_json(const run_record& r) {
  json j;
  to_json(j, r);
  return j;
}

json health_to_json(const health_report& h) {
  json runs = json::array();
  for (const auto& r : h.runs_in_flight)
    runs.push_back({{"job_id", to_string(r.job)},
                    {"job_name", r.job_name},
                    {"run_id", r.run_id},
                    {"started_at", iso(r.started_at)},
                    {"age", format_duration(r.age)},
                    {"stuck", r.stuck}});
  return {{"jobs",
           {{"active", h.active},
            {"paused", h.paused},
            {"failed", h.failed},
            {"completed", h.completed}}},
          {"erroring", h.erroring},
          {"runs_in_flight", runs},
          {"recently_failed", h.recently_failed},
          {"fleet_alert", h.fleet_alert},
          {"quarantined", h.quarantined},
          {"log_salvages", h.log_salvages},
          {"started_at", iso(h.started_at)},
          {"now", iso(h.now)}};
}

json error_to_json(const error& err) {
  return {{"error", to_string(err.code)}, {"message", err.message}};
}

} // namespace almanac::tools
