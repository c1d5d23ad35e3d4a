// Forward declarations of the events module, for headers that only pass these types around.
#pragma once

namespace almanac {

struct job_id;
struct job_state;
struct event;
struct command;

} // namespace almanac
