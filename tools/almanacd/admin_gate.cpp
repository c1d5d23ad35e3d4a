#include "tools/almanacd/admin_gate.hpp"

#include "tools/edge/endpoint.hpp"

#include <almanac/caf_error.hpp>

#include <caf/all.hpp>

namespace almanac::tools {

namespace {

struct gate_state {
  admin_actor admin;
  std::string secret;
  duration timeout{};
  static inline const char* name = "almanac.admin_gate";
};

using gate_ptr = caf::stateful_actor<gate_state>*;

// The handler for one request type: check the secret, ask the admin actor, answer from here.
template <class Request, class Reply>
auto forward(gate_ptr self) {
  return [self](const std::string& secret, Request& req) -> caf::result<Reply> {
    auto& st = self->state;
    if (!st.secret.empty() && !constant_time_equal(secret, st.secret))
      return to_caf_error(errc::unauthorized,
                          "unauthorized: the admin secret is missing or wrong (--secret or "
                          "ALMANAC_SECRET)");
    auto rp = self->make_response_promise<Reply>();
    self->request(st.admin, st.timeout, std::move(req))
      .then([rp](Reply& reply) mutable { rp.deliver(std::move(reply)); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
    return rp;
  };
}

caf::behavior gate(gate_ptr self, admin_actor admin, std::string secret, duration timeout) {
  self->state.admin = std::move(admin);
  self->state.secret = std::move(secret);
  self->state.timeout = timeout;
  // A peer may send anything: answer unknown messages with an error instead of printing them,
  // and do not let a remote exit message take the gate down (the daemon kills it with `kill`).
  self->set_default_handler(caf::drop);
  self->set_exit_handler([](caf::exit_msg&) {});
  self->set_down_handler([](caf::down_msg&) {});
  self->set_error_handler([](caf::error&) {});
  return {
    forward<create_request, job_state>(self),
    forward<update_request, job_state>(self),
    forward<pause_request, job_state>(self),
    forward<resume_request, job_state>(self),
    forward<run_now_request, job_state>(self),
    forward<delete_request, job_state>(self),
    forward<get_request, job_state>(self),
    forward<list_request, job_list>(self),
    forward<audit_request, audit_page>(self),
    forward<runs_request, run_page>(self),
    forward<preview_request, preview_result>(self),
    forward<health_request, health_report>(self),
  };
}

} // namespace

caf::actor spawn_admin_gate(caf::actor_system& sys, admin_actor admin, std::string secret,
                            duration timeout) {
  return sys.spawn(gate, std::move(admin), std::move(secret), timeout);
}

} // namespace almanac::tools
