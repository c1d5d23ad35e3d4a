#include "tools/run_secrets.hpp"

#include "tools/credentials.hpp"
#include "tools/run_isolation.hpp"

#include <almanac/run.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace almanac::tools {

namespace {

struct fd_closer {
  int fd = -1;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

resolved_secret refused(const secret_ref& ref, std::string why, bool infra = false) {
  resolved_secret out;
  out.error = "secret " + to_string(ref) + ": " + std::move(why);
  out.infra = infra;
  return out;
}

// The owner and mode rules for the directory and for each file: what ssh asks of a private key.
std::string private_problem(const struct stat& st, const char* what) {
  if (st.st_uid != ::geteuid())
    return std::string{what} + " is owned by uid " + std::to_string(st.st_uid)
           + ", not by the daemon's user (uid " + std::to_string(::geteuid()) + ")";
  if ((st.st_mode & 077) != 0)
    return std::string{what} + " is accessible to group or others (mode " + mode_text(st.st_mode)
           + "): chmod " + (S_ISDIR(st.st_mode) ? "700" : "600") + " it";
  return {};
}

resolved_secret from_file(const secret_ref& ref, const std::filesystem::path& dir) {
  if (dir.empty())
    return refused(ref, "this daemon has no secrets directory");
  // validate_target refuses such names already; a target from elsewhere is refused here too.
  if (ref.name.empty() || ref.name.size() > max_secret_name_length
      || ref.name.find('/') != std::string::npos || ref.name == "." || ref.name == "..")
    return refused(ref, "not a plain file name");
  auto open_failed = [&](const std::string& what, int err) {
    return refused(ref, "cannot open " + what + ": " + std::strerror(err),
                   is_daemon_resource_errno(err));
  };
  fd_closer d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (d.fd < 0) {
    int err = errno;
    return open_failed("the secrets directory " + dir.string(), err);
  }
  struct stat st {};
  if (::fstat(d.fd, &st) != 0) {
    int err = errno;
    return open_failed("the secrets directory " + dir.string(), err);
  }
  if (auto why = private_problem(st, "the secrets directory"); !why.empty())
    return refused(ref, why + " (" + dir.string() + ")");
  // O_NONBLOCK: a FIFO planted under that name must not hang the run.
  fd_closer f{::openat(d.fd, ref.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) {
    int err = errno;
    if (err == ELOOP)
      return refused(ref, "the file is a symbolic link, which is not followed");
    return open_failed((dir / ref.name).string(), err);
  }
  if (::fstat(f.fd, &st) != 0) {
    int err = errno;
    return open_failed((dir / ref.name).string(), err);
  }
  if (!S_ISREG(st.st_mode))
    return refused(ref, "not a regular file");
  if (auto why = private_problem(st, "the file"); !why.empty())
    return refused(ref, why);
  if (static_cast<std::uint64_t>(st.st_size) > max_secret_bytes)
    return refused(ref, "the file has " + std::to_string(st.st_size) + " bytes; the limit is "
                          + std::to_string(max_secret_bytes));
  std::string value;
  char buf[4096];
  for (;;) {
    auto n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      return refused(ref, std::string{"cannot read the file: "} + std::strerror(err),
                     is_daemon_resource_errno(err));
    }
    if (n == 0)
      break;
    value.append(buf, static_cast<std::size_t>(n));
    // The file may grow after fstat: the bound holds on what is read.
    if (value.size() > max_secret_bytes)
      return refused(ref, "the file has more than " + std::to_string(max_secret_bytes) + " bytes");
  }
  if (value.size() >= 1 && value.back() == '\n') {
    value.pop_back();
    if (!value.empty() && value.back() == '\r')
      value.pop_back();
  }
  resolved_secret out;
  out.ok = true;
  out.value = std::move(value);
  return out;
}

} // namespace

resolved_secret resolve_secret(const secret_ref& ref, const std::filesystem::path& secrets_dir) {
  if (ref.source == secret_source::file)
    return from_file(ref, secrets_dir);
  if (ref.name.rfind("ALMANAC_", 0) == 0)
    return refused(ref, "ALMANAC_ variables are the daemon's own");
  const char* v = std::getenv(ref.name.c_str());
  if (!v)
    return refused(ref, "the daemon's environment has no such variable");
  resolved_secret out;
  out.ok = true;
  out.value = v;
  return out;
}

void secret_mask::add(std::string value) {
  if (value.empty())
    return;
  auto pos = std::find_if(values_.begin(), values_.end(),
                          [&](const std::string& v) { return v.size() < value.size(); });
  values_.insert(pos, std::move(value));
}

std::size_t secret_mask::longest() const noexcept {
  return values_.empty() ? 0 : values_.front().size();
}

std::string secret_mask::apply(std::string_view text) const {
  std::string out{text};
  for (const auto& v : values_) {
    std::string next;
    std::size_t from = 0;
    for (auto at = out.find(v); at != std::string::npos; at = out.find(v, from)) {
      next.append(out, from, at - from);
      next += secret_mask_text;
      from = at + v.size();
    }
    if (from == 0)
      continue;
    next.append(out, from);
    out = std::move(next);
  }
  return out;
}

void masked_tail::append(const char* data, std::size_t n) {
  buf_.append(data, n);
  auto keep = max_output_tail + mask_.longest();
  if (buf_.size() > 2 * keep) {
    buf_.erase(0, buf_.size() - keep);
    cut_ = true;
  }
}

std::string masked_tail::take() const {
  std::string_view kept{buf_};
  // A value may begin before what was kept; what is left of it is within the first
  // longest() - 1 bytes, which the tail never needs (at least max_output_tail follow).
  if (cut_)
    kept.remove_prefix(std::min(kept.size(), mask_.longest()));
  return output_tail(mask_.apply(kept));
}

} // namespace almanac::tools
