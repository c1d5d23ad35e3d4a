// The admin messages' wire form (admin.hpp): each value travels as the body of the event that
// carries it in the log, through the one codec. An update_job adds its policy patch: which fields
// it sets (a mask) and their values, as a second job_updated body.
#include "events/codec.hpp"

#include <almanac/admin.hpp>

#include <cstdint>
#include <utility>

namespace almanac {

namespace {

std::string encode_body(event_body body) {
  return encode_event(event{event_envelope{}, std::move(body)});
}

template <class T>
result<T> decode_body(std::string_view bytes) {
  auto e = decode_event(bytes);
  if (!e)
    return std::move(e).err();
  if (auto* body = std::get_if<T>(&e->body))
    return std::move(*body);
  return fail(errc::invalid_input, "unexpected message body");
}

// The policy fields in the order of the patch mask's bits.
template <class F>
void for_each_policy_field(F&& f) {
  f(&job_policies::misfire, &job_policies_patch::misfire);
  f(&job_policies::catch_up_limit, &job_policies_patch::catch_up_limit);
  f(&job_policies::overlap, &job_policies_patch::overlap);
  f(&job_policies::max_consecutive_errors, &job_policies_patch::max_consecutive_errors);
  f(&job_policies::backoff, &job_policies_patch::backoff);
  f(&job_policies::timeout, &job_policies_patch::timeout);
  f(&job_policies::jitter, &job_policies_patch::jitter);
  f(&job_policies::misfire_grace, &job_policies_patch::misfire_grace);
  f(&job_policies::end_at, &job_policies_patch::end_at);
  f(&job_policies::max_runs, &job_policies_patch::max_runs);
  f(&job_policies::group, &job_policies_patch::group);
  f(&job_policies::delete_after_run, &job_policies_patch::delete_after_run);
}

constexpr std::uint16_t policy_field_count = 12;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(in[static_cast<std::size_t>(i)]))
         << (8 * i);
  return v;
}

} // namespace

std::string to_wire(const job_state& x) { return encode_state(x); }

std::string to_wire(const job_spec& x) {
  return encode_body(job_created{x.name, x.sched, x.what, x.policies, {}, {}});
}

// u32 length of the first body | job_updated{name, sched, what, policies} | u32 patch mask |
// job_updated{policies: the patch's values} (only when the mask is not 0).
std::string to_wire(const update_job& x) {
  auto main = encode_body(job_updated{x.name, x.sched, x.what, x.policies, {}});
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(main.size()));
  out += main;
  std::uint32_t mask = 0;
  std::uint32_t bit = 1;
  job_policies values;
  for_each_policy_field([&](auto value, auto change) {
    if (x.policy_changes.*change) {
      mask |= bit;
      values.*value = *(x.policy_changes.*change);
    }
    bit <<= 1;
  });
  put_u32(out, mask);
  if (mask)
    out += encode_body(job_updated{{}, {}, {}, std::move(values), {}});
  return out;
}

std::string to_wire(const schedule& x) { return encode_body(job_updated{{}, x, {}, {}, {}}); }

result<void> from_wire(std::string_view bytes, job_state& out) {
  auto s = decode_state(bytes);
  if (!s)
    return std::move(s).err();
  out = std::move(*s);
  return {};
}

result<void> from_wire(std::string_view bytes, job_spec& out) {
  auto c = decode_body<job_created>(bytes);
  if (!c)
    return std::move(c).err();
  out = job_spec{std::move(c->name), std::move(c->sched), std::move(c->what),
                 std::move(c->policies)};
  return {};
}

result<void> from_wire(std::string_view bytes, update_job& out) {
  auto short_message = fail(errc::invalid_input, "an update message is cut short");
  if (bytes.size() < 4)
    return short_message;
  auto length = get_u32(bytes);
  bytes.remove_prefix(4);
  if (bytes.size() < std::size_t{length} + 4)
    return short_message;
  auto u = decode_body<job_updated>(bytes.substr(0, length));
  if (!u)
    return std::move(u).err();
  bytes.remove_prefix(length);
  auto mask = get_u32(bytes);
  bytes.remove_prefix(4);
  if (mask >> policy_field_count)
    return fail(errc::invalid_input, "an update message names an unknown policy field");
  job_policies_patch patch;
  if (mask) {
    auto p = decode_body<job_updated>(bytes);
    if (!p)
      return std::move(p).err();
    if (!p->policies)
      return fail(errc::invalid_input, "an update message's policy patch has no values");
    std::uint32_t bit = 1;
    for_each_policy_field([&](auto value, auto change) {
      if (mask & bit)
        patch.*change = (*p->policies).*value;
      bit <<= 1;
    });
  } else if (!bytes.empty()) {
    return fail(errc::invalid_input, "an update message has bytes after its end");
  }
  out = update_job{std::move(u->name), std::move(u->sched), std::move(u->what),
                   std::move(u->policies), std::move(patch)};
  return {};
}

result<void> from_wire(std::string_view bytes, schedule& out) {
  auto u = decode_body<job_updated>(bytes);
  if (!u)
    return std::move(u).err();
  if (!u->sched)
    return fail(errc::invalid_input, "a schedule message without a schedule");
  out = std::move(*u->sched);
  return {};
}

} // namespace almanac
