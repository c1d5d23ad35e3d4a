#include "events/event.hpp"
#include "events/codec.hpp"

namespace almanac {

std::string_view event_name(const event_body& body) {
  return event_name_of_tag(event_tag(body));
}

} // namespace almanac
