#include "store/status.hpp"

namespace almanac::store {

std::string_view to_string(status::code c) noexcept {
  using code = status::code;
  switch (c) {
    case code::ok: return "ok";
    case code::not_found: return "not_found";
    case code::corruption: return "corruption";
    case code::io_error: return "io_error";
    case code::no_space: return "no_space";
    case code::conflict: return "conflict";
    case code::invalid_argument: return "invalid_argument";
    case code::newer_format: return "newer_format";
    case code::unavailable: return "unavailable";
    case code::unknown_event: return "unknown_event";
    case code::outcome_unknown: return "outcome_unknown";
  }
  return "unknown";
}

std::string status::to_string() const {
  if (is_ok())
    return "ok";
  std::string out{store::to_string(code_)};
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

error to_error(const status& st) {
  using code = status::code;
  switch (st.get_code()) {
    case code::ok: return error{errc::none, {}};
    case code::conflict: return error{errc::conflict, st.message()};
    case code::corruption: return error{errc::corrupt_event, st.message()};
    case code::newer_format: return error{errc::newer_format, st.message()};
    case code::unavailable:
    case code::outcome_unknown: return error{errc::unavailable, st.message()};
    case code::unknown_event: return error{errc::unknown_event, st.message()};
    case code::not_found: return error{errc::not_found, st.message()};
    case code::invalid_argument: return error{errc::invalid_input, st.message()};
    case code::io_error:
    case code::no_space: return error{errc::storage_error, st.message()};
  }
  return error{errc::storage_error, st.message()};
}

} // namespace almanac::store
