#include "tools/almanacd/http_api.hpp"

#include "tools/almanacd/ui_assets.hpp"
#include "tools/edge/admin_client.hpp"
#include "tools/edge/endpoint.hpp"
#include "tools/edge/error_table.hpp"
#include "tools/edge/health_json.hpp"
#include "tools/edge/json_reader.hpp"
#include "tools/edge/json_writer.hpp"

#include <almanac/admin_actor.hpp>
#include <almanac/almanac.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <memory>
#include <regex>
#include <vector>

namespace almanac::tools {

namespace {

using handler_fn = std::function<void(const http_request&, http_response&)>;

struct route {
  std::regex pattern;
  std::string text;
  std::vector<std::pair<std::string, handler_fn>> methods;
};

struct api {
  caf::actor_system& sys;
  admin_actor admin;
  const scheduler& sched;
  http_api_options opts;
  std::vector<route> routes;

  template <class R, class Req>
  result<R> call(Req req) {
    return ask<R>(sys, admin, opts.request_timeout, std::move(req));
  }
};

void send_json(http_response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(http_response& res, const error& err) {
  send_json(res, http_status(err.code), error_to_json(err));
}

void send_error(http_response& res, http_refusal r, std::string message) {
  send_json(res, r.status, json{{"error", r.code}, {"message", std::move(message)}});
}

template <class T, class F>
void answer(http_response& res, const result<T>& r, F&& to_json, int ok_status = 200) {
  if (r)
    send_json(res, ok_status, to_json(*r));
  else
    send_error(res, r.err());
}

std::string actor_of(const http_request& req) {
  auto who = req.get_header_value("X-Almanac-Actor");
  if (who.empty())
    return "http";
  if (who.size() > 100)
    who.resize(100);
  return "http:" + who;
}

// The body as JSON; an empty body is `empty` (the routes whose body is optional).
result<json> body_json(const http_request& req, json empty = json::object()) {
  if (req.body.empty())
    return empty;
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded())
    return fail(errc::invalid_input, "the body is not valid JSON");
  return j;
}

// The page size of a list (admin.hpp: 0 there is the default page, so it is not accepted here).
result<std::uint32_t> limit_of(const http_request& req) {
  if (!req.has_param("limit"))
    return default_page_size;
  auto text = req.get_param_value("limit");
  std::uint32_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < 1
      || n > max_page_size)
    return fail(errc::invalid_input, "limit: '" + text.substr(0, 40) + "' is not a number 1-" +
                                       std::to_string(max_page_size) +
                                       " (follow next_cursor for more)");
  return n;
}

// A page's reply: `items` under `key`, and next_cursor unless it is the last page.
json page_json(const char* key, json items, const std::string& next_cursor) {
  json out{{key, std::move(items)}};
  if (!next_cursor.empty())
    out["next_cursor"] = next_cursor;
  return out;
}

// The optional {"note"} or {"force", "note"} bodies of pause, run and resume.
struct action_body {
  bool force = false;
  std::string note;
};

result<action_body> parse_action(const http_request& req, bool allow_force) {
  auto j = body_json(req);
  if (!j)
    return std::move(j).err();
  if (!j->is_object())
    return fail(errc::invalid_input, "the body must be a JSON object");
  action_body out;
  for (auto& [key, v] : j->items()) {
    if (key == "note" && v.is_string())
      out.note = v.get<std::string>();
    else if (key == "note")
      return fail(errc::invalid_input, "note: must be a string");
    else if (key == "force" && allow_force && v.is_boolean())
      out.force = v.get<bool>();
    else if (key == "force" && allow_force)
      return fail(errc::invalid_input, "force: must be true or false");
    else
      return fail(errc::invalid_input, key + ": unknown field");
  }
  return out;
}

json job_list_json(const job_list& l) {
  json jobs = json::array();
  for (const auto& s : l.jobs)
    jobs.push_back(job_to_json(s));
  return page_json("jobs", std::move(jobs), l.next_cursor);
}

// The most jobs one filtered-by-group list call reads before it answers with what it has.
constexpr std::size_t group_scan = 10000;

void add(api& a, std::string pattern, std::string method, handler_fn fn) {
  for (auto& r : a.routes)
    if (r.text == pattern) {
      r.methods.emplace_back(std::move(method), std::move(fn));
      return;
    }
  a.routes.push_back(route{std::regex{pattern}, pattern, {{std::move(method), std::move(fn)}}});
}

void install_routes(api& a) {
  const std::string job = R"(/api/jobs/([^/]+))";
  add(a, "/api/jobs", "GET", [&a](const http_request& req, http_response& res) {
    auto limit = limit_of(req);
    if (!limit)
      return send_error(res, limit.err());
    list_request lr{req.get_param_value("status"), req.get_param_value("name"), *limit,
                    req.get_param_value("cursor")};
    if (!req.has_param("group"))
      return answer(res, a.call<job_list>(lr), job_list_json);
    // The admin lists by status and name; the group is matched here, page by page of theirs,
    // each taken whole so that next_cursor stays theirs. A page may hold fewer than `limit`
    // jobs, even none, while next_cursor is there: at most `group_scan` jobs are read per call.
    auto group = req.get_param_value("group");
    job_list out;
    std::size_t scanned = 0;
    for (;;) {
      lr.limit = std::max<std::uint32_t>(1, *limit - static_cast<std::uint32_t>(out.jobs.size()));
      auto page = a.call<job_list>(lr);
      if (!page)
        return send_error(res, page.err());
      scanned += page->jobs.size();
      for (auto& j : page->jobs)
        if (j.policies.group == group)
          out.jobs.push_back(std::move(j));
      out.next_cursor = page->next_cursor;
      if (out.next_cursor.empty() || out.jobs.size() >= *limit || scanned >= group_scan)
        break;
      lr.cursor = out.next_cursor;
    }
    send_json(res, 200, job_list_json(out));
  });
  add(a, "/api/jobs", "POST", [&a](const http_request& req, http_response& res) {
    auto j = body_json(req, nullptr);
    if (!j)
      return send_error(res, j.err());
    auto spec = parse_job_spec(*j);
    if (!spec)
      return send_error(res, spec.err());
    auto r = a.call<job_state>(create_request{std::move(*spec), actor_of(req), ""});
    if (r)
      res.set_header("Location", "/api/jobs/" + to_string(r->id));
    answer(res, r, job_to_json, 201);
  });
  add(a, job, "GET", [&a](const http_request& req, http_response& res) {
    answer(res, a.call<job_state>(get_request{req.matches[1]}), job_to_json);
  });
  add(a, job, "PATCH", [&a](const http_request& req, http_response& res) {
    auto j = body_json(req, nullptr);
    if (!j)
      return send_error(res, j.err());
    // No read first: a partial "policies" travels as a patch that the update merges onto the
    // job's policies as they are when it is decided, so a concurrent change is never undone.
    auto changes = parse_update(*j);
    if (!changes)
      return send_error(res, changes.err());
    auto updated =
      a.call<job_state>(update_request{req.matches[1], std::move(*changes), actor_of(req), ""});
    answer(res, updated, job_to_json);
  });
  add(a, job, "DELETE", [&a](const http_request& req, http_response& res) {
    answer(res, a.call<job_state>(delete_request{req.matches[1], actor_of(req), ""}), job_to_json);
  });
  add(a, job + "/pause", "POST", [&a](const http_request& req, http_response& res) {
    auto b = parse_action(req, false);
    if (!b)
      return send_error(res, b.err());
    answer(res, a.call<job_state>(pause_request{req.matches[1], actor_of(req), b->note}),
           job_to_json);
  });
  add(a, job + "/resume", "POST", [&a](const http_request& req, http_response& res) {
    auto b = parse_action(req, true);
    if (!b)
      return send_error(res, b.err());
    answer(res,
           a.call<job_state>(resume_request{req.matches[1], b->force, actor_of(req), b->note}),
           job_to_json);
  });
  add(a, job + "/run", "POST", [&a](const http_request& req, http_response& res) {
    auto b = parse_action(req, false);
    if (!b)
      return send_error(res, b.err());
    answer(res, a.call<job_state>(run_now_request{req.matches[1], actor_of(req), b->note}),
           job_to_json);
  });
  add(a, job + "/audit", "GET", [&a](const http_request& req, http_response& res) {
    auto limit = limit_of(req);
    if (!limit)
      return send_error(res, limit.err());
    // The audit trail outlives a deleted job, but an id nobody ever had is a 404.
    std::string id = req.matches[1];
    auto r = a.call<audit_page>(audit_request{id, *limit, 0, req.get_param_value("cursor")});
    if (r && r->entries.empty() && !a.call<job_state>(get_request{id}))
      return send_error(res, fail(errc::not_found, "no job '" + id + "'"));
    answer(res, r, [](const audit_page& p) {
      json entries = json::array();
      for (const auto& e : p.entries)
        entries.push_back(audit_to_json(e));
      return page_json("entries", std::move(entries), p.next_cursor);
    });
  });
  add(a, job + "/runs", "GET", [&a](const http_request& req, http_response& res) {
    auto limit = limit_of(req);
    if (!limit)
      return send_error(res, limit.err());
    std::string id = req.matches[1];
    auto r = a.call<run_page>(runs_request{id, *limit, req.get_param_value("cursor")});
    if (r && r->runs.empty() && !a.call<job_state>(get_request{id}))
      return send_error(res, fail(errc::not_found, "no job '" + id + "'"));
    answer(res, r, [](const run_page& p) {
      json runs = json::array();
      for (const auto& r : p.runs)
        runs.push_back(run_to_json(r));
      return page_json("runs", std::move(runs), p.next_cursor);
    });
  });
  add(a, "/api/preview", "POST", [&a](const http_request& req, http_response& res) {
    auto j = body_json(req, nullptr);
    if (!j)
      return send_error(res, j.err());
    if (!j->is_object() || !j->contains("schedule"))
      return send_error(res, fail(errc::invalid_input, "schedule: is required"));
    preview_request pr;
    for (auto& [key, v] : j->items()) {
      if (key == "schedule") {
        auto s = parse_schedule(v);
        if (!s)
          return send_error(res, s.err());
        pr.sched = std::move(*s);
      } else if (key == "from") {
        auto t = v.is_string() ? parse_instant(v.get<std::string>())
                               : result<instant>{fail(errc::invalid_input, "must be a string")};
        if (!t)
          return send_error(res, fail(errc::invalid_input, "from: " + t.err().message));
        pr.from = *t;
      } else if (key == "count") {
        if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1 || v.get<std::uint64_t>() > 1000)
          return send_error(res, fail(errc::invalid_input, "count: must be a number 1-1000"));
        pr.count = v.get<std::uint32_t>();
      } else {
        return send_error(res, fail(errc::invalid_input, key + ": unknown field"));
      }
    }
    if (!j->contains("from"))
      pr.from = std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
    answer(res, a.call<preview_result>(pr), [](const preview_result& p) {
      json fires = json::array();
      for (auto t : p.fires)
        fires.push_back(format_instant(t));
      return json{{"fires", fires}};
    });
  });
  add(a, "/api/health", "GET", [&a](const http_request&, http_response& res) {
    answer(res, a.call<health_report>(health_request{}), health_to_json);
  });
  add(a, "/metrics", "GET", [&a](const http_request&, http_response& res) {
    auto h = a.call<health_report>(health_request{});
    if (!h)
      return send_error(res, h.err());
    res.status = 200;
    res.set_content(a.sched.render_metrics(*h), "text/plain; version=0.0.4");
  });
}

void dispatch(api& a, http_request& req, http_response& res) {
  // First, and whatever follows in the path: the server lets these through without the token, so
  // they must never reach a route that answers with data.
  if (is_ui_path(req.path))
    return serve_ui(req, res);
  for (auto& r : a.routes) {
    std::smatch m;
    if (!std::regex_match(req.path, m, r.pattern))
      continue;
    std::string allow;
    for (auto& [method, fn] : r.methods) {
      if (method == req.method || (req.method == "HEAD" && method == "GET")) {
        req.matches = std::move(m);
        return fn(req, res);
      }
      allow += (allow.empty() ? "" : ", ") + method;
    }
    res.set_header("Allow", allow);
    return send_error(res, http_refusals::method_not_allowed,
                      req.method + " is not allowed on " + req.path + " (allowed: " + allow + ")");
  }
  send_error(res, http_refusals::no_route, "no route " + req.path);
}

} // namespace

http_handler make_http_api(caf::actor_system& sys, const scheduler& sched,
                           http_api_options opts) {
  auto a = std::shared_ptr<api>(new api{sys, sched.admin(), sched, std::move(opts), {}});
  install_routes(*a);
  return [a](http_request& req, http_response& res) { dispatch(*a, req, res); };
}

} // namespace almanac::tools
