#include "events/job.hpp"
#include "events/text.hpp"

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

std::size_t payload_size(const target& t) {
  struct visitor {
    std::size_t operator()(const handler_target& h) const { return h.name.size() + h.payload.size(); }
    std::size_t operator()(const exec_target& e) const {
      std::size_t n = e.cwd.size();
      for (const auto& a : e.argv)
        n += a.size() + 1;
      for (const auto& [k, v] : e.env)
        n += k.size() + v.size() + 2;
      return n;
    }
    std::size_t operator()(const http_target& h) const {
      std::size_t n = h.method.size() + h.url.size() + h.body.size();
      for (const auto& [k, v] : h.headers)
        n += k.size() + v.size() + 2;
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
