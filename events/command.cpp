#include "events/command.hpp"

#include <almanac/text.hpp>

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
    std::string operator()(const time_out_run&) const { return "time_out_run"; }
    std::string operator()(const abandon_in_flight&) const { return "abandon_in_flight"; }
  };
  return std::visit(visitor{}, body);
}

result<void> validate_envelope(const command& cmd) {
  auto check = [](std::string_view what, const std::string& text, std::size_t limit,
                  bool layout) -> result<void> {
    if (text.size() > limit)
      return fail(errc::invalid_input, std::string{what} + " is " + std::to_string(text.size())
                                         + " bytes long; the limit is " + std::to_string(limit));
    if (!is_valid_utf8(text))
      return fail(errc::invalid_input, std::string{what} + " is not valid UTF-8");
    if (has_control(text, layout))
      return fail(errc::invalid_input, std::string{what} + " contains a control character");
    return {};
  };
  if (auto r = check("the actor", cmd.actor, max_actor_bytes, false); !r)
    return r;
  return check("the note", cmd.note, max_note_bytes, true);
}

} // namespace almanac
