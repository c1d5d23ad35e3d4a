// The admin gate: the one actor almanacd publishes on its admin port, in place of the admin
// actor itself. CAF 0.17's middleman authenticates nobody, and BASP lets a connected peer address
// any actor whose handle ever crossed the wire, so publishing the supervisor would hand it (and
// its internal messages, like stop) to whoever connects. The gate instead:
//   - answers only `(std::string secret, X request)` for the twelve admin requests X
//     (admin.hpp), compares the secret in constant time with the daemon's, and refuses with
//     invalid_input "unauthorized" otherwise;
//   - makes the request to the admin actor itself and answers from its own response promise, so
//     no other actor's handle is ever serialized to a peer (a delegate would leak the
//     supervisor's address into the registry, reachable by id from any connection);
//   - drops every other message, ignores exit and down messages a peer may send it.
// Every request carries the secret, so there is no session a peer could hijack by guessing
// actor ids. The secret travels in clear text: off loopback, run the admin port through a
// tunnel (ssh -L, WireGuard) until TLS is wired in (docs/TOOLS.md).
#pragma once

#include <almanac/admin_actor.hpp>
#include <almanac/time.hpp>

#include <caf/fwd.hpp>

#include <string>

namespace almanac::tools {

// Spawns the gate in front of `admin`. An empty `secret` accepts any secret (loopback only: the
// daemon refuses to publish off loopback without one). `timeout` bounds each forwarded request.
caf::actor spawn_admin_gate(caf::actor_system& sys, admin_actor admin, std::string secret,
                            duration timeout);

} // namespace almanac::tools
