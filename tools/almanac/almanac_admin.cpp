#include "tools/almanac/almanac_admin.hpp"

#include "tools/edge/admin_client.hpp"
#include "tools/edge/admin_tls.hpp"
#include "tools/edge/credentials.hpp"
#include "tools/edge/endpoint.hpp"
#include "tools/edge/error_table.hpp"
#include "tools/edge/health_json.hpp"
#include "tools/edge/json_reader.hpp"
#include "tools/edge/json_writer.hpp"

#include <almanac/text.hpp>

#include <almanac/admin.hpp>
#include <almanac/almanac.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <tuple>

#include <unistd.h>

namespace almanac::tools {

namespace {

struct client_options {
  // Unset: $ALMANAC_CONNECT, else the daemon of --data, else 127.0.0.1:7317.
  std::optional<std::string> connect;
  std::string secret;
  std::optional<std::string> secret_file;
  std::optional<std::string> data;
  bool json = false;
  std::string request_timeout = "30s";
  // The client side of the admin port's mutual TLS: all three, else the set almanacd generated
  // in DATA/credentials (found through --data or the connection record).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
};

class client {
public:
  client(caf::actor_system& sys, caf::actor gate, std::string secret, duration timeout)
    : sys_(sys), gate_(std::move(gate)), secret_(std::move(secret)), timeout_(timeout) {}

  template <class R, class Request>
  result<R> call(Request req) {
    return ask<R>(sys_, gate_, timeout_, secret_, std::move(req));
  }

private:
  caf::actor_system& sys_;
  caf::actor gate_;
  std::string secret_;
  duration timeout_;
};

// Said after a refused secret: where this one came from, or that none was found. One CLI
// process talks to one daemon.
std::string unauthorized_hint;

int refuse(const error& err) {
  // Messages quote what was sent (a name, an id): printable, whoever sent it.
  std::cerr << "almanac: " << printable(err.message) << '\n';
  if (err.code == errc::unauthorized && !unauthorized_hint.empty())
    std::cerr << "almanac: " << unauthorized_hint << '\n';
  return exit_code(err.code);
}

int usage(const std::string& message) {
  std::cerr << "almanac: " << printable(message) << '\n';
  return exit_usage;
}

std::string who() {
  for (const char* var : {"USER", "LOGNAME"})
    if (const char* v = std::getenv(var); v && *v)
      return std::string{"user:"} + v;
  return "user:uid" + std::to_string(::getuid());
}

// The daemon to talk to and the secret to present, or a usage message.
struct daemon_address {
  endpoint ep;
  std::string secret;
  // Where the secret came from, for the message when the daemon refuses it.
  std::string secret_source;
  std::optional<connection_record> record;
};

// --connect (or $ALMANAC_CONNECT), else --data's record, else the default port. The secret:
// --secret (or $ALMANAC_SECRET), else --secret-file, else the file the daemon itself reads (named
// by --data, or by the connection record almanacd left in this user's runtime directory).
result<daemon_address> resolve_daemon(const client_options& o) {
  daemon_address out;
  if (o.data) {
    out.record = data_dir_connection_record(*o.data);
    if (!out.record && !o.connect)
      return fail(errc::invalid_input, "--data " + *o.data
                                         + ": no almanacd has run on it (no almanacd.endpoint)");
  }
  std::string connect = o.connect                  ? *o.connect
                        : out.record               ? out.record->admin
                                                   : "127.0.0.1:"
                                                       + std::to_string(default_admin_port);
  auto ep = parse_endpoint(connect);
  if (!ep)
    return fail(errc::invalid_input, "--connect: " + ep.err().message);
  out.ep = *ep;
  if (!out.record)
    out.record = find_connection_record(out.ep);
  if (!o.secret.empty()) {
    out.secret = o.secret;
    out.secret_source = "--secret";
    return out;
  }
  std::filesystem::path file;
  if (o.secret_file)
    file = *o.secret_file;
  else if (out.record && !out.record->secret_file.empty())
    file = out.record->secret_file;
  else if (o.data)
    file = std::filesystem::path{*o.data} / credentials_dir_name / admin_secret_file;
  if (file.empty())
    return out;
  auto secret = read_credential_file(file);
  if (!secret)
    return fail(errc::invalid_input, (o.secret_file ? "--secret-file: " : "")
                                       + secret.err().message);
  out.secret = std::move(*secret);
  out.secret_source = file.string();
  return out;
}

// The client certificate, key and CA to connect with: --tls-cert/--tls-key/--tls-ca (or
// ALMANAC_TLS_*), else the set the daemon generated, named by its connection record or found in
// --data's credentials. Errors: invalid_input when only some of the three are given, when none
// are found, or when check_admin_tls_files refuses them.
result<admin_tls_files> client_tls_files(const client_options& o, const daemon_address& addr) {
  admin_tls_files files;
  int given = !o.tls_cert.empty() + !o.tls_key.empty() + !o.tls_ca.empty();
  if (given == 3)
    files = {o.tls_cert, o.tls_key, o.tls_ca};
  else if (given != 0)
    return fail(errc::invalid_input, "--tls-cert, --tls-key and --tls-ca go together");
  else if (addr.record && !addr.record->admin_client_cert.empty())
    files = {addr.record->admin_client_cert, addr.record->admin_client_key,
             addr.record->admin_ca};
  else if (o.data)
    files = admin_client_files(std::filesystem::path{*o.data} / credentials_dir_name);
  else
    return fail(errc::invalid_input,
                "no client certificate found for " + addr.ep.to_string()
                  + " (no connection record in " + runtime_dir().string()
                  + "): give --data DIR for the ones almanacd generated in DIR/credentials, or "
                    "--tls-cert, --tls-key and --tls-ca (or ALMANAC_TLS_CERT, ALMANAC_TLS_KEY, "
                    "ALMANAC_TLS_CA)");
  if (auto c = check_admin_tls_files(files); !c)
    return std::move(c).err();
  return files;
}

// Connects, runs `f` with a client, and disconnects; the actor system (and with it every
// connection) is gone before this returns, so the process exits promptly.
template <class F>
int with_client(const client_options& o, F&& f) {
  auto addr = resolve_daemon(o);
  if (!addr)
    return usage(addr.err().message);
  auto* ep = &addr->ep;
  unauthorized_hint =
    addr->secret_source.empty()
      ? "no admin secret found for " + ep->to_string() + " (no connection record in "
          + runtime_dir().string() + "): give --data DIR, --secret-file FILE or --secret"
      : "the secret was read from " + addr->secret_source;
  auto timeout = parse_duration(o.request_timeout);
  if (!timeout || *timeout <= duration::zero())
    return usage("--request-timeout: '" + o.request_timeout + "' is not a positive duration");
  auto tls = client_tls_files(o, *addr);
  if (!tls)
    return usage(tls.err().message);
  caf::actor_system_config cfg;
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  cfg.set("openssl.certificate", tls->certificate.string());
  cfg.set("openssl.key", tls->key.string());
  cfg.set("openssl.cafile", tls->ca.string());
  caf::actor_system sys{cfg};
  auto gate = caf::openssl::remote_actor(sys, ep->host, ep->port);
  if (!gate) {
    std::cerr << "almanac: cannot reach almanacd at " << ep->to_string() << ": "
              << sys.render(gate.error()) << '\n';
    return exit_unreachable;
  }
  int rc = 0;
  {
    client c{sys, std::move(*gate), addr->secret, *timeout};
    rc = f(c);
  }
  std::cout.flush();
  return rc;
}

void run_command(int rc) {
  if (rc != exit_ok)
    throw CLI::RuntimeError(rc);
}

// Left-aligned columns, two spaces apart. Every cell is made printable: names, actors and notes
// come from clients and must not drive the terminal.
void print_table(std::vector<std::vector<std::string>> rows) {
  for (auto& row : rows)
    for (auto& cell : row)
      cell = printable(cell);
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i)
        width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

std::string when(const std::optional<instant>& t) { return t ? format_instant(*t) : "-"; }

std::string describe_target(const target& t) {
  struct visitor {
    std::string operator()(const exec_target& e) const {
      std::string out = "exec";
      for (const auto& a : e.argv)
        out += " " + (a.find_first_of(" \t'\"") == std::string::npos ? a : json(a).dump());
      return out;
    }
    std::string operator()(const http_target& h) const { return "http " + h.method + " " + h.url; }
    std::string operator()(const handler_target& h) const { return "handler " + h.name; }
  };
  return std::visit(visitor{}, t);
}

std::string status_of(const job_state& s) {
  return s.deleted ? std::string{"deleted"} : std::string{to_string(s.status)};
}

void print_job(const job_state& s) {
  std::vector<std::vector<std::string>> rows{
    {"id", to_string(s.id)},
    {"name", s.name},
    {"status", status_of(s)},
    {"schedule", describe(s.sched)},
    {"target", describe_target(s.what)},
  };
  // Plain values as given; a secret only as its reference (its value is never in the job).
  auto values = [&](const char* label, const std::map<std::string, std::string>& plain,
                    const std::map<std::string, secret_ref>& secrets) {
    for (const auto& [k, v] : plain)
      rows.push_back({label, k + "=" + v});
    for (const auto& [k, r] : secrets)
      rows.push_back({label, k + " <- " + to_string(r)});
  };
  if (auto* e = std::get_if<exec_target>(&s.what))
    values("env", e->env, e->secret_env);
  if (auto* h = std::get_if<http_target>(&s.what))
    values("header", h->headers, h->secret_headers);
  rows.insert(rows.end(), {
    {"next run", when(s.next_run_at)},
    {"errors", std::to_string(s.consecutive_errors) + " of " + std::to_string(max_errors(s))},
  });
  if (!s.last_error.empty())
    rows.push_back({"last error", s.last_error});
  if (s.last_run)
    rows.push_back({"last run", std::string{s.last_run->ok ? "succeeded" : "failed"} + " at "
                                  + format_instant(s.last_run->finished_at)
                                  + (s.last_run->error.empty() ? "" : ": " + s.last_run->error)});
  for (const auto& r : s.in_flight)
    rows.push_back({"running", "run " + std::to_string(r.run_id) + " since "
                                 + format_instant(r.started_at)});
  rows.push_back({"created", format_instant(s.created_at) + " by " + s.created_by});
  rows.push_back({"updated", format_instant(s.updated_at)});
  print_table(rows);
}

// The answer of commands that return one job: the object with --json, else `line`.
int print_one(const client_options& o, const result<job_state>& r, const std::string& verb) {
  if (!r)
    return refuse(r.err());
  if (o.json)
    std::cout << job_to_json(*r).dump(2) << '\n';
  else if (verb.empty())
    print_job(*r);
  else
    std::cout << verb << " " << to_string(r->id) << " (" << printable(r->name) << "): " << status_of(*r)
              << ", next run " << when(r->next_run_at) << '\n';
  return exit_ok;
}

// What `almanac create` collects before it becomes a POST-style JSON body.
struct create_options {
  std::string name;
  std::optional<std::string> cron, tz, every, at, http, method, body, cwd;
  bool exec = false;
  std::vector<std::string> argv, env, headers;
  // Secret references: NAME=VAR / NAME=FILE and 'Name: VAR' / 'Name: FILE'.
  std::vector<std::string> env_from_env, env_from_file, header_from_env, header_from_file;
  std::optional<std::uint32_t> max_errors;
  std::optional<std::string> backoff, timeout, misfire, overlap, group, jitter;
  bool delete_after_run = false;
  std::string note;
};

result<job_spec> build_spec(const create_options& c) {
  json body{{"name", c.name}};
  int kinds = (c.cron ? 1 : 0) + (c.every ? 1 : 0) + (c.at ? 1 : 0);
  if (kinds != 1)
    return fail(errc::invalid_input, "give exactly one of --cron, --every, --at");
  if (c.tz && !c.cron)
    return fail(errc::invalid_input, "--tz applies to --cron only");
  if (c.cron)
    body["schedule"] = {{"kind", "cron"}, {"cron", *c.cron}, {"tz", c.tz.value_or("UTC")}};
  else if (c.every)
    body["schedule"] = {{"kind", "every"}, {"every", *c.every}};
  else
    body["schedule"] = {{"kind", "at"}, {"at", *c.at}};
  bool is_exec = c.exec || !c.argv.empty();
  if (is_exec == c.http.has_value())
    return fail(errc::invalid_input, "give exactly one of --exec -- ARGV... or --http URL");
  if (is_exec && !(c.header_from_env.empty() && c.header_from_file.empty()))
    return fail(errc::invalid_input, "--header-from-env and --header-from-file apply to --http");
  if (!is_exec && !(c.env_from_env.empty() && c.env_from_file.empty()))
    return fail(errc::invalid_input, "--env-from-env and --env-from-file apply to --exec");
  if (is_exec) {
    if (c.argv.empty())
      return fail(errc::invalid_input, "--exec needs the command after it: --exec -- prog args...");
    json env = json::object();
    for (const auto& kv : c.env) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail(errc::invalid_input, "--env '" + kv + "' is not NAME=VALUE");
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (auto [flag, list, key] : {std::tuple{"--env-from-env", &c.env_from_env, "from_env"},
                                   std::tuple{"--env-from-file", &c.env_from_file, "from_file"}})
      for (const auto& kv : *list) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0 || env.contains(kv.substr(0, eq)))
          return fail(errc::invalid_input, std::string{flag} + " '" + kv
                                             + "' is not NAME=REF, or names a variable twice");
        env[kv.substr(0, eq)] = {{key, kv.substr(eq + 1)}};
      }
    body["target"] = {{"kind", "exec"}, {"argv", c.argv}, {"env", env}, {"cwd", c.cwd.value_or("")}};
  } else {
    json headers = json::object();
    for (const auto& kv : c.headers) {
      auto colon = kv.find(':');
      if (colon == std::string::npos || colon == 0)
        return fail(errc::invalid_input, "--header '" + kv + "' is not 'Name: value'");
      auto value = kv.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers[kv.substr(0, colon)] = value;
    }
    for (auto [flag, list, key] :
         {std::tuple{"--header-from-env", &c.header_from_env, "from_env"},
          std::tuple{"--header-from-file", &c.header_from_file, "from_file"}})
      for (const auto& kv : *list) {
        auto colon = kv.find(':');
        if (colon == std::string::npos || colon == 0 || headers.contains(kv.substr(0, colon)))
          return fail(errc::invalid_input, std::string{flag} + " '" + kv
                                             + "' is not 'Name: REF', or names a header twice");
        auto ref = kv.substr(colon + 1);
        ref.erase(0, ref.find_first_not_of(' '));
        headers[kv.substr(0, colon)] = {{key, ref}};
      }
    body["target"] = {{"kind", "http"},
                      {"url", *c.http},
                      {"method", c.method.value_or("POST")},
                      {"headers", headers},
                      {"body", c.body.value_or("")}};
  }
  json p = json::object();
  if (c.max_errors)
    p["max_consecutive_errors"] = *c.max_errors;
  if (c.backoff) {
    json steps = json::array();
    std::stringstream in{*c.backoff};
    for (std::string step; std::getline(in, step, ',');)
      steps.push_back(step);
    p["backoff"] = steps;
  }
  if (c.timeout)
    p["timeout"] = *c.timeout;
  if (c.misfire)
    p["misfire"] = *c.misfire;
  if (c.overlap)
    p["overlap"] = *c.overlap;
  if (c.group)
    p["group"] = *c.group;
  if (c.jitter)
    p["jitter"] = *c.jitter;
  if (c.delete_after_run)
    p["delete_after_run"] = true;
  body["policies"] = p;
  return parse_job_spec(body);
}

void add_create(CLI::App& app, std::shared_ptr<client_options> o) {
  auto c = std::make_shared<create_options>();
  auto* cmd = app.add_subcommand("create", "Create a job; prints its id (--json: the job)");
  cmd->footer("Examples:\n"
              "  almanac create --name backup --cron '30 2 * * *' --tz Europe/Berlin --exec -- "
              "/usr/local/bin/backup --full\n"
              "  almanac create --name ping --every 5m --http https://example.com/hook --method GET\n"
              "Durations: 250ms, 90s, 5m, 1h, 1h30m.");
  cmd->add_option("--name", c->name, "Job name (unique, case-insensitive)")->required();
  cmd->add_option("--cron", c->cron, "Cron expression (5 or 6 fields, or @daily...)");
  cmd->add_option("--tz", c->tz, "IANA zone of the cron's wall clock (default UTC)");
  cmd->add_option("--every", c->every, "Fixed interval (90s, 5m, 1h)");
  cmd->add_option("--at", c->at, "One instant (ISO-8601)");
  cmd->add_flag("--exec", c->exec, "Run a program: --exec -- PROG ARGS... (never via a shell)");
  cmd->add_option("argv", c->argv, "The program and its arguments, after --");
  cmd->add_option("--env", c->env, "NAME=VALUE added to the program's environment (repeat)");
  cmd->add_option("--env-from-env", c->env_from_env,
                  "NAME=VAR: NAME gets the daemon's variable VAR when a run starts (repeat)");
  cmd->add_option("--env-from-file", c->env_from_file,
                  "NAME=FILE: NAME gets the content of DATA/secrets/FILE when a run starts "
                  "(repeat)");
  cmd->add_option("--cwd", c->cwd, "Working directory of the program");
  cmd->add_option("--http", c->http, "Make an HTTP request to this URL");
  cmd->add_option("--method", c->method, "HTTP method (default POST)");
  cmd->add_option("--header", c->headers, "'Name: value' HTTP header (repeat)");
  cmd->add_option("--header-from-env", c->header_from_env,
                  "'Name: VAR': the header's value is the daemon's variable VAR (repeat)");
  cmd->add_option("--header-from-file", c->header_from_file,
                  "'Name: FILE': the header's value is DATA/secrets/FILE (repeat)");
  cmd->add_option("--body", c->body, "HTTP request body");
  cmd->add_option("--max-errors", c->max_errors,
                  "Consecutive failures that make the job failed (default 10, 3 for --at)");
  cmd->add_option("--backoff", c->backoff, "Retry delays DUR[,DUR...] (last repeats)");
  cmd->add_option("--timeout", c->timeout, "Cancel a run after this long");
  cmd->add_option("--misfire", c->misfire, "fire_once (default), skip or catch_up:N");
  cmd->add_option("--overlap", c->overlap, "skip (default), buffer_one or allow");
  cmd->add_option("--group", c->group, "Jobs of one group never run at once");
  cmd->add_option("--jitter", c->jitter, "Delay each fire by up to this much");
  cmd->add_flag("--delete-after-run", c->delete_after_run, "Delete after the first success");
  cmd->add_option("--note", c->note, "Why (recorded in the audit trail)");
  cmd->callback([o, c] {
    auto spec = build_spec(*c);
    if (!spec)
      return run_command(usage(spec.err().message));
    run_command(with_client(*o, [&](client& cl) {
      auto r = cl.call<job_state>(create_request{std::move(*spec), who(), c->note});
      if (!r)
        return refuse(r.err());
      if (o->json)
        std::cout << job_to_json(*r).dump(2) << '\n';
      else
        std::cout << to_string(r->id) << '\n';
      return exit_ok;
    }));
  });
}

// pause / resume / run / delete: one job, a note, maybe force.
void add_action(CLI::App& app, std::shared_ptr<client_options> o, const std::string& name,
                const std::string& help, const std::string& verb) {
  struct action_options {
    std::string job;
    std::string note;
    bool force = false;
  };
  auto a = std::make_shared<action_options>();
  auto* cmd = app.add_subcommand(name, help);
  cmd->add_option("job", a->job, "Job id or name")->required();
  cmd->add_option("--note", a->note, "Why (recorded in the audit trail)");
  if (name == "resume")
    cmd->add_flag("--force", a->force, "Also revive a failed job (clears its errors)");
  cmd->callback([o, a, name, verb] {
    run_command(with_client(*o, [&](client& c) {
      result<job_state> r = fail(errc::invalid_input, "unknown action");
      if (name == "pause")
        r = c.call<job_state>(pause_request{a->job, who(), a->note});
      else if (name == "resume")
        r = c.call<job_state>(resume_request{a->job, a->force, who(), a->note});
      else if (name == "run")
        r = c.call<job_state>(run_now_request{a->job, who(), a->note});
      else
        r = c.call<job_state>(delete_request{a->job, who(), a->note});
      return print_one(*o, r, verb);
    }));
  });
}

struct query_options {
  std::string job;
  std::string status;
  std::string name;
  std::uint32_t limit = 0;
  std::string cursor;
  bool all = false;
};

void add_page_options(CLI::App* cmd, query_options& q, const std::string& what,
                      const std::string& dflt) {
  cmd->add_option("--limit", q.limit,
                  "At most this many " + what + " per page (1-" + std::to_string(max_page_size) +
                    ", default " + std::to_string(default_page_size) + ")");
  cmd->add_option("--cursor", q.cursor, "Start after this cursor (a previous page's next_cursor)");
  cmd->add_flag("--all", q.all, "Follow the cursors to the last page" + dflt);
}

// One page from q.cursor on, or with `all` every page after it, concatenated. `fetch(cursor)`
// asks for one page; `items(page)` is its vector.
template <class Page, class Fetch, class Items>
result<Page> fetch_pages(const query_options& q, bool all, Fetch fetch, Items items) {
  auto r = fetch(q.cursor);
  if (!r || !all)
    return r;
  while (!r->next_cursor.empty()) {
    auto more = fetch(r->next_cursor);
    if (!more)
      return more;
    auto& into = items(*r);
    auto& from = items(*more);
    into.insert(into.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    r->next_cursor = std::move(more->next_cursor);
  }
  return r;
}

// The --json object of a page: next_cursor only when another page follows.
json page_json(const char* key, json items, const std::string& next_cursor) {
  json out{{key, std::move(items)}};
  if (!next_cursor.empty())
    out["next_cursor"] = next_cursor;
  return out;
}

// Below a table, where the next page starts: on stderr, so the table stays what stdout holds.
void hint_more(const std::string& next_cursor) {
  if (!next_cursor.empty())
    std::cerr << "more: --cursor " << next_cursor << " (or --all)\n";
}

void add_queries(CLI::App& app, std::shared_ptr<client_options> o) {
  auto q = std::make_shared<query_options>();

  auto* jobs = app.add_subcommand("jobs", "List jobs");
  jobs->add_option("--status", q->status, "active, paused, failed or completed");
  jobs->add_option("--name", q->name, "Only names containing this (case-insensitive)");
  add_page_options(jobs, *q, "jobs", " (the default without --limit and --cursor)");
  jobs->callback([o, q] {
    run_command(with_client(*o, [&](client& c) {
      bool all = q->all || (q->limit == 0 && q->cursor.empty());
      auto r = fetch_pages<job_list>(
        *q, all,
        [&](const std::string& cursor) {
          return c.call<job_list>(list_request{q->status, q->name, q->limit, cursor});
        },
        [](job_list& l) -> auto& { return l.jobs; });
      if (!r)
        return refuse(r.err());
      if (o->json) {
        json all = json::array();
        for (const auto& s : r->jobs)
          all.push_back(job_to_json(s));
        std::cout << page_json("jobs", std::move(all), r->next_cursor).dump(2) << '\n';
        return exit_ok;
      }
      std::vector<std::vector<std::string>> rows{
        {"ID", "NAME", "STATUS", "SCHEDULE", "NEXT RUN", "ERRORS", "LAST RUN"}};
      for (const auto& s : r->jobs)
        rows.push_back({to_string(s.id), s.name, status_of(s), describe(s.sched),
                        when(s.next_run_at), std::to_string(s.consecutive_errors),
                        s.last_run ? (s.last_run->ok ? "succeeded" : "failed: " + s.last_run->error)
                                   : "-"});
      print_table(rows);
      hint_more(r->next_cursor);
      return exit_ok;
    }));
  });

  auto* show = app.add_subcommand("show", "Show one job");
  show->add_option("job", q->job, "Job id or name")->required();
  show->callback([o, q] {
    run_command(with_client(*o, [&](client& c) {
      return print_one(*o, c.call<job_state>(get_request{q->job}), "");
    }));
  });

  auto* audit = app.add_subcommand("audit", "The audit trail of one job, or of all jobs");
  audit->add_option("job", q->job, "Job id or name (default: all jobs)");
  add_page_options(audit, *q, "entries, newest first", "");
  audit->callback([o, q] {
    run_command(with_client(*o, [&](client& c) {
      auto r = fetch_pages<audit_page>(
        *q, q->all,
        [&](const std::string& cursor) {
          return c.call<audit_page>(audit_request{q->job, q->limit, 0, cursor});
        },
        [](audit_page& p) -> auto& { return p.entries; });
      if (!r)
        return refuse(r.err());
      if (o->json) {
        json entries = json::array();
        for (const auto& e : r->entries)
          entries.push_back(audit_to_json(e));
        std::cout << page_json("entries", std::move(entries), r->next_cursor).dump(2) << '\n';
        return exit_ok;
      }
      std::vector<std::vector<std::string>> rows{
        {"AT", "JOB", "ACTION", "FROM", "TO", "ACTOR", "NOTE", "DETAIL"}};
      for (const auto& e : r->entries)
        rows.push_back({format_instant(e.at), e.job_name.empty() ? to_string(e.job) : e.job_name,
                        e.action, e.from_status, e.to_status, e.actor, e.note, e.detail});
      print_table(rows);
      hint_more(r->next_cursor);
      return exit_ok;
    }));
  });

  auto* runs = app.add_subcommand("runs", "The run history of a job");
  runs->add_option("job", q->job, "Job id or name")->required();
  add_page_options(runs, *q, "runs, newest first", "");
  runs->callback([o, q] {
    run_command(with_client(*o, [&](client& c) {
      auto r = fetch_pages<run_page>(
        *q, q->all,
        [&](const std::string& cursor) {
          return c.call<run_page>(runs_request{q->job, q->limit, cursor});
        },
        [](run_page& p) -> auto& { return p.runs; });
      if (!r)
        return refuse(r.err());
      if (o->json) {
        json all = json::array();
        for (const auto& x : r->runs)
          all.push_back(run_to_json(x));
        std::cout << page_json("runs", std::move(all), r->next_cursor).dump(2) << '\n';
        return exit_ok;
      }
      std::vector<std::vector<std::string>> rows{
        {"RUN", "TRIGGER", "SCHEDULED", "STARTED", "TOOK", "OUTCOME", "ERROR"}};
      for (const auto& x : r->runs)
        rows.push_back({std::to_string(x.run_id), x.trigger, format_instant(x.scheduled_for),
                        format_instant(x.started_at),
                        x.finished_at == instant{} ? "-" : format_duration(x.took), x.outcome,
                        x.error});
      print_table(rows);
      hint_more(r->next_cursor);
      return exit_ok;
    }));
  });

  auto* health = app.add_subcommand("health", "The daemon's health");
  health->callback([o] {
    run_command(with_client(*o, [&](client& c) {
      auto r = c.call<health_report>(health_request{});
      if (!r)
        return refuse(r.err());
      if (o->json) {
        std::cout << health_to_json(*r).dump(2) << '\n';
        return exit_ok;
      }
      std::cout << "jobs: " << r->active << " active, " << r->paused << " paused, " << r->failed
                << " failed, " << r->completed << " completed; " << r->erroring
                << " erroring\nruns in flight: " << r->runs_in_flight.size()
                << "\nrecently failed: " << r->recently_failed
                << (r->fleet_alert ? " (FLEET ALERT)" : "") << "\nup since "
                << format_instant(r->started_at) << '\n';
      if (!r->store.backend.empty()) {
        std::cout << "store: " << r->store.backend << " " << printable(r->store.location)
                  << (r->store.connected ? ", connected" : ", NOT CONNECTED (reconnecting)");
        if (r->store.connection_losses > 0)
          std::cout << "; " << r->store.connection_losses << " connection losses, "
                    << r->store.reconnects << " reconnects";
        std::cout << '\n';
        if (!r->store.last_error.empty())
          std::cout << "last storage error: " << printable(r->store.last_error) << '\n';
      }
      for (const auto& q : r->quarantined)
        std::cout << "quarantined: " << printable(q) << '\n';
      for (const auto& l : r->log_salvages)
        std::cout << "log salvaged: " << l << '\n';
      for (const auto& s : r->runs_in_flight)
        if (s.stuck)
          std::cout << "stuck: " << printable(s.job_name) << " run " << s.run_id << " for "
                    << format_duration(s.age) << '\n';
      return exit_ok;
    }));
  });
}

// `almanac http-token`: the HTTP API's bearer token, read from the file the daemon uses, so
// that `curl -H "Authorization: Bearer $(almanac http-token)"` needs no copy of it anywhere.
void add_http_token(CLI::App& app, const std::shared_ptr<client_options>& o) {
  auto* cmd = app.add_subcommand(
    "http-token", "Print the daemon's HTTP bearer token (from the file it reads it from)");
  cmd->callback([o] {
    auto addr = resolve_daemon(*o);
    if (!addr)
      run_command(usage(addr.err().message));
    const auto& rec = addr->record;
    if (!rec)
      run_command(usage("no almanacd known at " + addr->ep.to_string()
                        + " (no connection record in " + runtime_dir().string()
                        + "): give --data DIR"));
    if (rec->token_file.empty())
      run_command(usage("almanacd at " + rec->admin + " "
                        + (rec->http == "off" ? std::string{"serves no HTTP API"}
                                              : "was given its token directly, not in a file")));
    auto token = read_credential_file(rec->token_file);
    if (!token)
      run_command(refuse(token.err()));
    std::cout << *token << '\n';
  });
}

} // namespace

void add_admin_commands(CLI::App& app) {
  auto o = std::make_shared<client_options>();
  app.add_option("--connect", o->connect,
                 "almanacd's admin endpoint HOST:PORT (default: the daemon of --data, else "
                 "127.0.0.1:7317)")
    ->envname("ALMANAC_CONNECT");
  app.add_option("--data", o->data,
                 "The daemon's data directory: its endpoint and credentials are read from there")
    ->envname("ALMANAC_DATA");
  app.add_option("--secret", o->secret,
                 "The daemon's admin secret (default: read from the file the daemon uses, found "
                 "through --data or this user's runtime directory)")
    ->envname("ALMANAC_SECRET");
  app.add_option("--secret-file", o->secret_file, "Read the admin secret from this file");
  app.add_option("--tls-cert", o->tls_cert, "Client certificate (PEM) for the admin port's TLS")
    ->envname("ALMANAC_TLS_CERT");
  app.add_option("--tls-key", o->tls_key, "Private key (PEM) of --tls-cert")
    ->envname("ALMANAC_TLS_KEY");
  app.add_option("--tls-ca", o->tls_ca, "CA (PEM) almanacd's certificate must chain to")
    ->envname("ALMANAC_TLS_CA");
  app.add_flag("--json", o->json, "Print JSON objects instead of tables");
  app.add_option("--request-timeout", o->request_timeout,
                 "How long to wait for the daemon's answer (default 30s)");
  app.fallthrough();
  add_queries(app, o);
  add_create(app, o);
  add_action(app, o, "pause", "Pause a job", "paused");
  add_action(app, o, "resume", "Resume a paused job; --force also revives a failed one",
             "resumed");
  add_action(app, o, "run", "Run a job now, outside its schedule", "run started for");
  add_action(app, o, "delete", "Delete a job (its audit trail stays)", "deleted");
  add_http_token(app, o);
}

} // namespace almanac::tools
