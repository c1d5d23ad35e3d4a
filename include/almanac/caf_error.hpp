// almanac::errc as a CAF error category ("almanac"), so admin replies carry Almanac's codes and
// messages across actors and nodes, and clients turn them back into almanac::error.
#pragma once

#include <almanac/result.hpp>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace almanac {

// The category atom (at most 10 characters).
inline constexpr caf::atom_value errc_category = caf::atom("almanac");

// An almanac::error as a caf::error of the "almanac" category; the message is the context.
caf::error to_caf_error(const error& err);
caf::error to_caf_error(errc code, std::string message);

// Back again. A CAF error of another category becomes errc::unavailable with CAF's rendering
// (a peer that went away, a timeout), since such errors mean the request did not get through.
error from_caf_error(const caf::error& err);

} // namespace almanac
