#include "tools/edge/error_table.hpp"

namespace almanac::tools {

int http_status(errc code) noexcept {
  switch (code) {
    case errc::none: return 200;
    case errc::invalid_schedule:
    case errc::unknown_zone:
    case errc::invalid_input: return 400;
    case errc::unauthorized: return 401;
    case errc::not_found: return 404;
    case errc::name_taken:
    case errc::failed_needs_force:
    case errc::refused_status:
    case errc::conflict: return 409;
    case errc::storage_error:
    case errc::unavailable: return 503;
    case errc::limit_exceeded: return 507;
    case errc::unknown_event:
    case errc::corrupt_event:
    case errc::newer_format: return 500;
  }
  return 500;
}

int exit_code(errc code) noexcept {
  switch (code) {
    case errc::none: return exit_ok;
    case errc::invalid_schedule:
    case errc::unknown_zone:
    case errc::invalid_input:
    case errc::unauthorized: return exit_usage;
    case errc::unavailable: return exit_unreachable;
    case errc::not_found:
    case errc::name_taken:
    case errc::failed_needs_force:
    case errc::refused_status:
    case errc::conflict:
    case errc::limit_exceeded:
    case errc::storage_error:
    case errc::unknown_event:
    case errc::corrupt_event:
    case errc::newer_format: return exit_refused;
  }
  return exit_refused;
}

} // namespace almanac::tools
