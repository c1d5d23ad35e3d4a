#include "store/detail/wal_guard.hpp"

#include <almanac/time.hpp>

#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace almanac::store::detail {

namespace fs = std::filesystem;

void recovery_logger::Logv(const char* format, va_list ap) {
  char line[2048];
  std::vsnprintf(line, sizeof line, format, ap);
  std::fprintf(stderr, "rocksdb: %s\n", line);
  // "[WARN] [db/db_impl/db_impl_open.cc:982] /data/000004.log: dropping 3 bytes; Corruption: ..."
  std::string_view text{line};
  auto at = text.find(": dropping ");
  if (at == text.npos)
    return;
  drop d;
  auto file_start = text.rfind(' ', at);
  d.file = std::string{text.substr(file_start == text.npos ? 0 : file_start + 1,
                                   at - (file_start == text.npos ? 0 : file_start + 1))};
  auto rest = text.substr(at + 11);
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), d.bytes);
  if (ec != std::errc{})
    d.bytes = 0;
  auto reason = std::string_view{end, static_cast<std::size_t>(rest.data() + rest.size() - end)};
  if (auto semi = reason.find("; "); semi != reason.npos)
    d.reason = std::string{reason.substr(semi + 2)};
  std::lock_guard lock{mtx_};
  drops_.push_back(std::move(d));
}

std::vector<recovery_logger::drop> recovery_logger::drops() const {
  std::lock_guard lock{mtx_};
  return drops_;
}

void recovery_logger::clear() {
  std::lock_guard lock{mtx_};
  drops_.clear();
}

wal_damage damage_of(const std::vector<recovery_logger::drop>& drops, std::string_view status) {
  wal_damage d;
  for (const auto& x : drops) {
    if (d.files.find(x.file) == std::string::npos)
      d.files += (d.files.empty() ? "" : ", ") + x.file;
    if (d.reason.find(x.reason) == std::string::npos)
      d.reason += (d.reason.empty() ? "" : "; ") + x.reason;
    d.bytes_dropped += x.bytes;
  }
  if (d.reason.empty())
    d.reason = std::string{status};
  return d;
}

namespace {

// A position and its complement: a torn or foreign file never parses as a mark.
std::string mark_text(ack_mark m) {
  return "almanac acknowledged " + std::to_string(m.position) + " "
         + std::to_string(~m.position) + (m.clean ? " clean\n" : " running\n");
}

status fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0)
    return status::io_error("cannot open " + path.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return status::io_error("cannot sync " + path.string() + ": " + std::strerror(err));
  return status{};
}

} // namespace

status read_ack_mark(const fs::path& dir, ack_mark& out) {
  out = {};
  auto path = dir / ack_mark_name;
  std::ifstream in{path};
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec))
      return status{};
    return status::io_error("cannot read " + path.string());
  }
  std::string word1, word2, state;
  std::uint64_t position = 0, check = 0;
  if (!(in >> word1 >> word2 >> position >> check >> state) || word1 != "almanac"
      || word2 != "acknowledged" || check != ~position || (state != "clean" && state != "running"))
    return status::corruption(path.string()
                              + " is not an acknowledged mark: remove it to start without the "
                                "check of the log's tail");
  out = {position, state == "clean"};
  return status{};
}

status write_ack_mark(const fs::path& dir, ack_mark mark) {
  auto path = dir / ack_mark_name;
  auto tmp = dir / (std::string{ack_mark_name} + ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return status::io_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  auto text = mark_text(mark);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok)
    return status::io_error("cannot write " + tmp.string() + ": " + std::strerror(err));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return status::io_error("cannot rename " + tmp.string() + ": " + std::strerror(errno));
  return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

ack_marker::ack_marker(fs::path dir, duration interval,
                       std::function<std::uint64_t()> acknowledged, std::uint64_t written)
  : dir_(std::move(dir)),
    interval_(interval),
    acknowledged_(std::move(acknowledged)),
    written_(written) {
  thread_ = std::thread{[this] { run(); }};
}

ack_marker::~ack_marker() {
  stop();
}

void ack_marker::stop() {
  {
    std::lock_guard lock{mtx_};
    if (stopping_ && !thread_.joinable())
      return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void ack_marker::run() {
  std::unique_lock lock{mtx_};
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [&] { return stopping_; });
    if (stopping_)
      return;
    lock.unlock();
    write_if_moved();
    lock.lock();
  }
}

void ack_marker::write_if_moved() {
  auto now = acknowledged_();
  if (now <= written_)
    return;
  // A failed write leaves the older mark, which is still true; the next tick tries again.
  if (write_ack_mark(dir_, {now, false}).is_ok())
    written_ = now;
}

status backup_for_salvage(const fs::path& dir, instant now, fs::path& backup) {
  auto stamp = format_instant(now);
  std::erase_if(stamp, [](char c) { return c == ':' || c == '-'; });
  backup = dir / ("salvage-" + stamp);
  std::error_code ec;
  fs::create_directories(backup, ec);
  if (ec)
    return status::io_error("cannot create " + backup.string() + ": " + ec.message());
  fs::permissions(backup, fs::perms::owner_all, ec);
  for (const auto& entry : fs::directory_iterator{dir, ec}) {
    if (!entry.is_regular_file())
      continue;
    auto name = entry.path().filename().string();
    auto ends = [&](std::string_view s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    auto target = backup / name;
    if (ends(".sst")) {
      fs::create_hard_link(entry.path(), target, ec);
      if (!ec)
        continue;
    } else if (!(ends(".log") || name.starts_with("MANIFEST-") || name == "CURRENT"
                 || name.starts_with("OPTIONS-") || name == "IDENTITY"
                 || name == ack_mark_name)) {
      continue;
    }
    fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing, ec);
    if (ec)
      return status::io_error("cannot copy " + entry.path().string() + " to " + backup.string()
                              + ": " + ec.message());
  }
  if (ec)
    return status::io_error("cannot list " + dir.string() + ": " + ec.message());
  return fsync_path(backup, O_RDONLY | O_DIRECTORY);
}

} // namespace almanac::store::detail
