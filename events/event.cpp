#include "events/event.hpp"
#include "events/codec.hpp"

namespace almanac {

std::string_view to_string(run_trigger t) {
  switch (t) {
    case run_trigger::timer: return "timer";
    case run_trigger::manual: return "manual";
    case run_trigger::catch_up: return "catch_up";
    case run_trigger::retry: return "retry";
  }
  return "timer";
}

std::string_view to_string(skip_reason r) {
  switch (r) {
    case skip_reason::overlap: return "overlap";
    case skip_reason::misfire: return "misfire";
    case skip_reason::paused: return "paused";
  }
  return "overlap";
}

std::string_view event_name(const event_body& body) {
  return event_name_of_tag(event_tag(body));
}

} // namespace almanac
