// The secret values of one run. A target holds secret references (events/job.hpp, secret_ref);
// the runners resolve them here when the run is spawned, hand the values to the program or the
// request, and mask every occurrence of a value in what the run reports (its output tail and its
// error), so that a value reaches neither the log nor the API. Nothing here logs or keeps a value
// beyond the run.
#pragma once

#include <almanac/job.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace almanac::tools {

// A secret file holds at most this many bytes. Default: 64 KiB.
inline constexpr std::size_t max_secret_bytes = 64 * 1024;

// What replaces a secret value in a run's output and errors.
inline constexpr std::string_view secret_mask_text = "***";

struct resolved_secret {
  bool ok = false;
  std::string value;
  // When !ok: why, naming the reference ("from_file:db: ..."), never a value.
  std::string error;
  // When !ok: the daemon ran short (EMFILE, ENFILE, ENOMEM reading the file), not the job.
  bool infra = false;
};

// Reads a reference's value. from_env: the daemon's variable (unset is an error; ALMANAC_* are
// refused). from_file: `secrets_dir` must be a directory owned by the daemon's user with no group
// or other permission bits, opened without following a symlink; the file likewise (a regular
// file, not a symlink, O_NOFOLLOW, owned by the daemon's user, no group or other bits) and at most
// max_secret_bytes; one trailing "\n" (or "\r\n") is dropped, so `echo value > file` works. An
// empty `secrets_dir` refuses every from_file reference. Thread-safe.
resolved_secret resolve_secret(const secret_ref& ref, const std::filesystem::path& secrets_dir);

// The values to mask in one run's reports: longest first, so a value containing another is
// masked whole.
class secret_mask {
public:
  // Empty values are ignored.
  void add(std::string value);
  bool empty() const noexcept { return values_.empty(); }
  // The length of the longest value (0 when none).
  std::size_t longest() const noexcept;
  // `text` with every occurrence of every value replaced by "***".
  std::string apply(std::string_view text) const;

private:
  std::vector<std::string> values_;
};

// Keeps the last max_output_tail bytes of everything appended (holding at most twice that plus
// the longest secret), and masks the secrets in it before cutting, so that a value cut by the
// tail's start leaves none of its bytes behind.
class masked_tail {
public:
  explicit masked_tail(const secret_mask& mask) : mask_(mask) {}
  void append(const char* data, std::size_t n);
  // The masked tail, as actors/executor.hpp's output_tail.
  std::string take() const;

private:
  const secret_mask& mask_;
  std::string buf_;
  bool cut_ = false;
};

} // namespace almanac::tools
