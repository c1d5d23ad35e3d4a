// A directory under the system temp dir (or `parent`), unique per test, removed with everything
// in it. Shared by every test executable that touches a disk.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace almanac::test {

class temp_dir {
public:
  explicit temp_dir(const std::filesystem::path& parent = std::filesystem::temp_directory_path()) {
    auto pattern = (parent / "almanac-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A data directory inside, not created: the log creates it (so its mode is the log's choice).
  std::filesystem::path data() const { return path_ / "data"; }

private:
  std::filesystem::path path_;
};

} // namespace almanac::test
