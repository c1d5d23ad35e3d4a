#include "tools/edge/credentials.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace almanac::tools {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_credential_bytes = 4096;
constexpr const char* data_dir_record_name = "almanacd.endpoint";

error system_error(const std::string& what, const fs::path& p) {
  return fail(errc::storage_error, what + " " + p.string() + ": " + std::strerror(errno));
}

// Owned by this user and closed to everybody else: what a private file or directory must be.
result<void> check_private(const struct stat& st, const fs::path& p, const char* kind) {
  if (st.st_uid != ::geteuid())
    return fail(errc::invalid_input, std::string{kind} + " " + p.string()
                                       + " belongs to another user (uid "
                                       + std::to_string(st.st_uid) + ")");
  if ((st.st_mode & 077) != 0)
    return fail(errc::invalid_input, std::string{kind} + " " + p.string()
                                       + " is accessible to others (mode " + mode_text(st.st_mode)
                                       + "): chmod " + (S_ISDIR(st.st_mode) ? "700" : "600")
                                       + " it");
  return {};
}

// Reads at most `limit` bytes of a private regular file opened without following symlinks.
result<std::string> read_private_file(const fs::path& file, std::size_t limit, const char* kind) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ELOOP)
      return fail(errc::invalid_input, std::string{kind} + " " + file.string()
                                         + " is a symbolic link: give the file itself");
    return system_error(std::string{"cannot open "} + kind, file);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto err = system_error(std::string{"cannot stat "} + kind, file);
    ::close(fd);
    return err;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(errc::invalid_input, std::string{kind} + " " + file.string()
                                       + " is not a regular file");
  }
  if (auto ok = check_private(st, file, kind); !ok) {
    ::close(fd);
    return std::move(ok).err();
  }
  if (static_cast<std::size_t>(st.st_size) > limit) {
    ::close(fd);
    return fail(errc::invalid_input, std::string{kind} + " " + file.string() + " has "
                                       + std::to_string(st.st_size) + " bytes, more than "
                                       + std::to_string(limit));
  }
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return system_error("cannot open directory", dir);
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok)
    return system_error("cannot sync directory", dir);
  return {};
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < raw.size()) {
    auto n = ::getrandom(raw.data() + got, raw.size() - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return {};
    got += static_cast<std::size_t>(n);
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 0xF];
  }
  return out;
}

std::string record_name(const std::string& admin) {
  // "127.0.0.1:7317" → "admin-127.0.0.1-7317.json"; brackets and colons of IPv6 become '_'.
  std::string out = "admin-";
  for (char c : admin)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c
           : c == ':'                                                            ? '-'
                                                                                 : '_';
  return out + ".json";
}

std::optional<connection_record> parse_record(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("admin") || !j["admin"].is_string() || !j.contains("data")
      || !j["data"].is_string())
    return std::nullopt;
  connection_record r;
  r.admin = j["admin"].get<std::string>();
  r.http = j.value("http", std::string{"off"});
  r.https = j.value("https", false);
  r.data = j["data"].get<std::string>();
  r.pid = j.value("pid", 0L);
  r.secret_file = j.value("secret_file", std::string{});
  r.token_file = j.value("token_file", std::string{});
  r.admin_client_cert = j.value("admin_client_cert", std::string{});
  r.admin_client_key = j.value("admin_client_key", std::string{});
  r.admin_ca = j.value("admin_ca", std::string{});
  if (!r.data.is_absolute())
    return std::nullopt;
  for (const auto* p : {&r.secret_file, &r.token_file, &r.admin_client_cert, &r.admin_client_key,
                        &r.admin_ca})
    if (!p->empty() && !p->is_absolute())
      return std::nullopt;
  return r;
}

std::optional<connection_record> read_record(const fs::path& file) {
  auto text = read_private_file(file, 64 * 1024, "connection record");
  if (!text)
    return std::nullopt;
  return parse_record(*text);
}

} // namespace

std::string mode_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

result<bool> write_private_file(const fs::path& file, const std::string& content,
                                bool keep_existing) {
  auto tmp = file;
  tmp += ".tmp-" + random_hex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return system_error("cannot create", tmp);
  std::size_t put = 0;
  while (put < content.size()) {
    auto n = ::write(fd, content.data() + put, content.size() - put);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      auto err = system_error("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    put += static_cast<std::size_t>(n);
  }
  // The umask may have narrowed the mode, never widened it: make it exactly 0600.
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    auto err = system_error("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  ::close(fd);
  bool placed = true;
  if (keep_existing) {
    if (::link(tmp.c_str(), file.c_str()) != 0) {
      if (errno != EEXIST) {
        auto err = system_error("cannot create", file);
        ::unlink(tmp.c_str());
        return err;
      }
      placed = false;
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), file.c_str()) != 0) {
    auto err = system_error("cannot create", file);
    ::unlink(tmp.c_str());
    return err;
  }
  if (auto ok = fsync_dir(file.parent_path()); !ok)
    return std::move(ok).err();
  return placed;
}

result<fs::path> credentials_dir(const fs::path& data_dir, bool create) {
  auto dir = data_dir / credentials_dir_name;
  if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return system_error("cannot create credentials directory", dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return system_error("cannot read credentials directory", dir);
  if (!S_ISDIR(st.st_mode))
    return fail(errc::invalid_input, "credentials directory " + dir.string()
                                       + " is not a directory");
  if (auto ok = check_private(st, dir, "credentials directory"); !ok)
    return std::move(ok).err();
  return dir;
}

result<std::string> read_credential_file(const fs::path& file) {
  auto text = read_private_file(file, max_credential_bytes + 1, "credential file");
  if (!text)
    return text;
  auto& s = *text;
  if (!s.empty() && s.back() == '\n')
    s.pop_back();
  if (!s.empty() && s.back() == '\r')
    s.pop_back();
  for (unsigned char c : s)
    if (c < 0x21 || c == 0x7F)
      return fail(errc::invalid_input, "credential file " + file.string()
                                         + " holds more than one printable line");
  if (s.size() < min_credential_bytes)
    return fail(errc::invalid_input, "credential file " + file.string() + " holds "
                                       + std::to_string(s.size()) + " bytes, fewer than "
                                       + std::to_string(min_credential_bytes));
  if (s.size() > max_credential_bytes)
    return fail(errc::invalid_input, "credential file " + file.string() + " holds more than "
                                       + std::to_string(max_credential_bytes) + " bytes");
  return text;
}

result<std::string> load_or_generate_credential(const fs::path& file, bool& generated) {
  generated = false;
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return system_error("cannot read credential file", file);
    auto value = random_hex(32);
    if (value.empty())
      return fail(errc::storage_error, "no randomness for " + file.string() + ": "
                                         + std::strerror(errno));
    auto placed = write_private_file(file, value + "\n", true);
    if (!placed)
      return std::move(placed).err();
    if (*placed) {
      generated = true;
      return value;
    }
  }
  return read_credential_file(file);
}

fs::path runtime_dir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg == '/')
    return fs::path{xdg} / "almanac";
  if (const char* home = std::getenv("HOME"); home && *home == '/')
    return fs::path{home} / ".local" / "state" / "almanac" / "run";
  return fs::path{"/tmp"} / ("almanac-" + std::to_string(::geteuid()));
}

result<void> write_connection_record(const connection_record& r) {
  nlohmann::json j{{"admin", r.admin},
                   {"http", r.http},
                   {"https", r.https},
                   {"data", r.data.string()},
                   {"pid", r.pid},
                   {"secret_file", r.secret_file.string()},
                   {"token_file", r.token_file.string()},
                   {"admin_client_cert", r.admin_client_cert.string()},
                   {"admin_client_key", r.admin_client_key.string()},
                   {"admin_ca", r.admin_ca.string()}};
  auto text = j.dump() + "\n";
  if (auto placed = write_private_file(r.data / data_dir_record_name, text, false); !placed)
    return std::move(placed).err();
  // The runtime directory and its parents are this user's alone (as XDG requires of it).
  auto dir = runtime_dir();
  std::vector<fs::path> missing;
  for (auto p = dir; !p.empty() && ::access(p.c_str(), F_OK) != 0; p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path())
      break;
  }
  for (auto i = missing.rbegin(); i != missing.rend(); ++i)
    if (::mkdir(i->c_str(), 0700) != 0 && errno != EEXIST)
      return system_error("cannot create runtime directory", *i);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return system_error("cannot read runtime directory", dir);
  if (!S_ISDIR(st.st_mode))
    return fail(errc::invalid_input, "runtime directory " + dir.string() + " is not a directory");
  if (auto ok = check_private(st, dir, "runtime directory"); !ok)
    return std::move(ok).err();
  if (auto placed = write_private_file(dir / record_name(r.admin), text, false); !placed)
    return std::move(placed).err();
  // Records of daemons that died without a clean stop (kill -9, a crash) would pile up.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{dir, ec}) {
    auto name = entry.path().filename().string();
    if (name.rfind("admin-", 0) != 0 || entry.path().extension() != ".json")
      continue;
    if (auto old = read_record(entry.path());
        old && old->pid > 0 && old->pid != r.pid && ::kill(static_cast<pid_t>(old->pid), 0) != 0
        && errno == ESRCH)
      ::unlink(entry.path().c_str());
  }
  return {};
}

void remove_connection_record(const std::string& admin) {
  auto file = runtime_dir() / record_name(admin);
  if (auto r = read_record(file); r && r->pid == ::getpid())
    ::unlink(file.c_str());
}

std::optional<connection_record> find_connection_record(const endpoint& admin) {
  auto dir = runtime_dir();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !check_private(st, dir, "dir"))
    return std::nullopt;
  auto r = read_record(dir / record_name(admin.to_string()));
  if (!r && admin.host == "localhost")
    r = read_record(dir / record_name("127.0.0.1:" + std::to_string(admin.port)));
  return r;
}

std::optional<connection_record> data_dir_connection_record(const fs::path& data_dir) {
  return read_record(data_dir / data_dir_record_name);
}

} // namespace almanac::tools
