// One blocking request to the admin actor (or to the daemon's admin gate), as the HTTP handlers
// and the CLI make it: a scoped_actor that lives only for the call, a timeout, and the reply or
// the refusal as a result<R>. Includes CAF: keep it out of headers other tools include.
#pragma once

#include <almanac/caf_error.hpp>
#include <almanac/result.hpp>
#include <almanac/time.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <optional>
#include <utility>

namespace almanac::tools {

// Sends `xs...` to `dest` and waits up to `timeout` for a reply of type R. Errors: the
// almanac::errc the actor answered with; unavailable when the request timed out or the peer went
// away. The scoped_actor is gone when this returns, so it never holds up actor-system shutdown.
// Thread-safe (each call has its own scoped_actor).
template <class R, class Handle, class... Ts>
result<R> ask(caf::actor_system& sys, const Handle& dest, duration timeout, Ts&&... xs) {
  std::optional<result<R>> out;
  {
    caf::scoped_actor self{sys};
    self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](R& reply) { out.emplace(std::move(reply)); },
               [&](caf::error& err) { out.emplace(from_caf_error(err)); });
  }
  if (!out)
    return fail(errc::unavailable, "no reply");
  return std::move(*out);
}

} // namespace almanac::tools
