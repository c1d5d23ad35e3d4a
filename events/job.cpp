#include <almanac/job.hpp>
#include <almanac/text.hpp>

#include <cctype>
#include <cstdio>

namespace almanac {

std::string to_string(job_id id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id.value));
  return buf;
}

result<job_id> parse_job_id(std::string_view text) {
  if (text.size() != 16)
    return fail(errc::invalid_input,
                "job id '" + std::string{text} + "' is not 16 hexadecimal digits");
  std::uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return fail(errc::invalid_input,
                  "job id '" + std::string{text} + "' is not 16 hexadecimal digits");
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return job_id{v};
}

std::string to_string(const secret_ref& r) {
  return (r.source == secret_source::file ? "from_file:" : "from_env:") + r.name;
}

namespace {

result<void> validate_secret_ref(const secret_ref& r, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_input, where + ": " + why);
  };
  if (r.name.empty() || r.name.size() > max_secret_name_length)
    return bad("the reference's name must be 1 to " + std::to_string(max_secret_name_length)
               + " bytes long");
  if (has_control(r.name) || !is_valid_utf8(r.name))
    return bad("the reference's name contains a control character or is not UTF-8");
  if (r.source == secret_source::env) {
    bool ok = !(r.name[0] >= '0' && r.name[0] <= '9');
    for (char c : r.name)
      ok = ok && (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                  || (c >= '0' && c <= '9'));
    if (!ok)
      return bad("from_env '" + r.name + "' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
    // The daemon's own credentials live there; a job must not be able to ask for them.
    if (r.name.rfind("ALMANAC_", 0) == 0)
      return bad("from_env '" + r.name + "': ALMANAC_ variables are the daemon's own");
  } else {
    if (r.name.find('/') != std::string::npos || r.name == "." || r.name == "..")
      return bad("from_file '" + r.name + "' must be a plain file name (no '/', not . or ..)");
  }
  return {};
}

bool same_header(const std::string& a, const std::string& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

} // namespace

std::size_t payload_size(const target& t) {
  struct visitor {
    std::size_t operator()(const handler_target& h) const { return h.name.size() + h.payload.size(); }
    std::size_t operator()(const exec_target& e) const {
      std::size_t n = e.cwd.size();
      for (const auto& a : e.argv)
        n += a.size() + 1;
      for (const auto& [k, v] : e.env)
        n += k.size() + v.size() + 2;
      for (const auto& [k, r] : e.secret_env)
        n += k.size() + r.name.size() + 3;
      return n;
    }
    std::size_t operator()(const http_target& h) const {
      std::size_t n = h.method.size() + h.url.size() + h.body.size();
      for (const auto& [k, v] : h.headers)
        n += k.size() + v.size() + 2;
      for (const auto& [k, r] : h.secret_headers)
        n += k.size() + r.name.size() + 3;
      return n;
    }
  };
  return std::visit(visitor{}, t);
}

result<void> validate_name(const std::string& name) {
  if (name.empty())
    return fail(errc::invalid_input, "job name is empty");
  if (name.size() > max_name_length)
    return fail(errc::invalid_input, "job name is " + std::to_string(name.size()) +
                                       " bytes long; the limit is " +
                                       std::to_string(max_name_length));
  if (has_control(name))
    return fail(errc::invalid_input, "job name contains a control character");
  if (!is_valid_utf8(name))
    return fail(errc::invalid_input, "job name is not valid UTF-8");
  return {};
}

result<void> validate_target(const target& t) {
  if (auto n = payload_size(t); n > max_payload_bytes)
    return fail(errc::invalid_input, "target is " + std::to_string(n) +
                                       " bytes; the limit is " +
                                       std::to_string(max_payload_bytes) + " bytes (32 KiB)");
  if (auto* h = std::get_if<handler_target>(&t); h && h->name.empty())
    return fail(errc::invalid_input, "handler target: the handler name is empty");
  if (auto* e = std::get_if<exec_target>(&t)) {
    if (e->argv.empty() || e->argv.front().empty())
      return fail(errc::invalid_input, "exec target: argv is empty");
    for (const auto& [k, r] : e->secret_env) {
      if (e->env.count(k))
        return fail(errc::invalid_input,
                    "exec target: env " + k + " is given both as a value and as a secret");
      if (k.empty() || k.find('=') != std::string::npos)
        return fail(errc::invalid_input, "exec target: env name '" + k + "' is empty or holds '='");
      if (auto ok = validate_secret_ref(r, "exec target: env " + k); !ok)
        return ok;
    }
  }
  if (auto* h = std::get_if<http_target>(&t)) {
    if (h->url.rfind("http://", 0) != 0 && h->url.rfind("https://", 0) != 0)
      return fail(errc::invalid_input,
                  "http target: url '" + h->url + "' must start with http:// or https://");
    static constexpr std::string_view methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
    bool known = false;
    for (auto m : methods)
      known = known || h->method == m;
    if (!known)
      return fail(errc::invalid_input, "http target: unknown method '" + h->method + "'");
    for (const auto& [k, r] : h->secret_headers) {
      for (const auto& [plain, v] : h->headers)
        if (same_header(plain, k))
          return fail(errc::invalid_input,
                      "http target: header " + k + " is given both as a value and as a secret");
      if (k.empty() || has_control(k) || k.find(':') != std::string::npos)
        return fail(errc::invalid_input, "http target: header name '" + k + "' is not valid");
      if (auto ok = validate_secret_ref(r, "http target: header " + k); !ok)
        return ok;
    }
  }
  return {};
}

result<void> validate_policies(const job_policies& p) {
  if (p.max_consecutive_errors && *p.max_consecutive_errors == 0)
    return fail(errc::invalid_input, "max_consecutive_errors must be at least 1");
  for (auto step : p.backoff)
    if (step <= duration::zero() || step > max_interval)
      return fail(errc::invalid_input, "backoff steps must be positive and at most 366 days");
  if (p.timeout < duration::zero() || p.timeout > max_interval)
    return fail(errc::invalid_input, "timeout must be between 0 (none) and 366 days");
  if (p.jitter < duration::zero() || p.jitter > max_interval)
    return fail(errc::invalid_input, "jitter must be between 0 (none) and 366 days");
  if (p.misfire_grace < duration::zero())
    return fail(errc::invalid_input, "misfire_grace must not be negative");
  if (p.max_runs && *p.max_runs == 0)
    return fail(errc::invalid_input, "max_runs must be at least 1");
  if (p.group.size() > max_name_length)
    return fail(errc::invalid_input, "group name is longer than 200 bytes");
  return {};
}

} // namespace almanac
