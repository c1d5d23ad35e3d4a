// The checks and messages both backends give for projection names and keys, so their errors
// read the same.
#pragma once

#include "store/status.hpp"

#include <string>
#include <string_view>

namespace almanac::store::detail {

// invalid_argument unless the name is 1..max_projection_name bytes.
status check_projection_name(std::string_view name);

// Keys may be binary (big-endian integers): quoted when plain text, else hex.
std::string printable_key(std::string_view key);

} // namespace almanac::store::detail
