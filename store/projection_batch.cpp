#include "store/projection_batch.hpp"

namespace almanac::store {

void projection_batch::put(std::string_view projection, std::string_view key,
                           std::string_view value) {
  ops_.push_back(op{op::kind::put, std::string{projection}, std::string{key}, std::string{value}, 0});
}

void projection_batch::erase(std::string_view projection, std::string_view key) {
  ops_.push_back(op{op::kind::erase, std::string{projection}, std::string{key}, {}, 0});
}

void projection_batch::checkpoint(std::string_view projection, std::uint64_t position) {
  ops_.push_back(op{op::kind::checkpoint, std::string{projection}, {}, {}, position});
}

} // namespace almanac::store
