#include "store/detail/keys.hpp"

namespace almanac::store::detail {

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t get_u64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

std::uint32_t get_u32(std::string_view in, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

std::string u64_key(std::uint64_t v) {
  std::string out;
  out.reserve(8);
  put_u64(out, v);
  return out;
}

std::string stream_key(job_id job, std::uint64_t seq) {
  std::string out;
  out.reserve(16);
  put_u64(out, job.value);
  put_u64(out, seq);
  return out;
}

std::string prefix_successor(std::string_view prefix) {
  std::string out{prefix};
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;
}

std::string projection_prefix(std::string_view name) {
  std::string out;
  out.reserve(1 + name.size());
  out.push_back(static_cast<char>(name.size()));
  out.append(name);
  return out;
}

std::string projection_key(std::string_view name, std::string_view key) {
  auto out = projection_prefix(name);
  out.append(key);
  return out;
}

std::string meta_job_key(std::string_view prefix, job_id job) {
  std::string out{prefix};
  put_u64(out, job.value);
  return out;
}

} // namespace almanac::store::detail
