#include <almanac/caf_error.hpp>

#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace almanac {

caf::error to_caf_error(const error& err) { return to_caf_error(err.code, err.message); }

caf::error to_caf_error(errc code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), errc_category,
                    caf::make_message(std::move(message))};
}

error from_caf_error(const caf::error& err) {
  if (err.category() == errc_category) {
    std::string message;
    const auto& ctx = err.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      message = ctx.get_as<std::string>(0);
    return error{static_cast<errc>(err.code()), std::move(message)};
  }
  return error{errc::unavailable, caf::to_string(err)};
}

} // namespace almanac
