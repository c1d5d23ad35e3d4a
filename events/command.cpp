#include "events/command.hpp"

namespace almanac {

std::string command_name(const command_body& body) {
  struct visitor {
    std::string operator()(const create_job&) const { return "create"; }
    std::string operator()(const update_job&) const { return "update"; }
    std::string operator()(const pause_job&) const { return "pause"; }
    std::string operator()(const resume_job& r) const { return r.force ? "resume:force" : "resume"; }
    std::string operator()(const run_now&) const { return "run_now"; }
    std::string operator()(const delete_job&) const { return "delete"; }
    std::string operator()(const due&) const { return "due"; }
    std::string operator()(const run_finished&) const { return "run_finished"; }
    std::string operator()(const abandon_in_flight&) const { return "abandon_in_flight"; }
  };
  return std::visit(visitor{}, body);
}

} // namespace almanac
