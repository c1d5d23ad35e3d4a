// The admin messages' wire form (admin.hpp): each value travels as the body of the event that
// carries it in the log, through the one codec.
#include "events/codec.hpp"

#include <almanac/admin.hpp>

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

} // namespace

std::string to_wire(const job_state& x) { return encode_state(x); }

std::string to_wire(const job_spec& x) {
  return encode_body(job_created{x.name, x.sched, x.what, x.policies, {}, {}});
}

std::string to_wire(const update_job& x) {
  return encode_body(job_updated{x.name, x.sched, x.what, x.policies, {}});
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
  auto u = decode_body<job_updated>(bytes);
  if (!u)
    return std::move(u).err();
  out = update_job{std::move(u->name), std::move(u->sched), std::move(u->what),
                   std::move(u->policies)};
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
