// Forward declarations of the schedule module's types, for headers that only pass them around.
#pragma once

#include <cstdint>
#include <memory>
#include <variant>

namespace almanac {

struct at_schedule;
struct every_schedule;
struct cron_schedule;
struct cron_expr;
enum class every_anchor : std::uint8_t;
enum class wall_kind : std::uint8_t;
struct wall_time;

using schedule = std::variant<at_schedule, every_schedule, cron_schedule>;

} // namespace almanac
