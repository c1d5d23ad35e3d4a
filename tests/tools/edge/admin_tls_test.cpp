// The admin port's generated certificates (tools/admin_tls.hpp) in a fresh temporary directory:
// what is written and how, reuse, the owner and mode rules, an unfinished set, and the checks of
// given files.
#include "tools/edge/admin_tls.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace almanac::tools {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "almanac-tls-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_all(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

const char* const names[] = {"admin-ca.pem", "admin-server.pem", "admin-server.key",
                             "admin-client.pem", "admin-client.key"};

TEST_CASE("a first call generates the five files 0600 in a 0700 directory", "[tools]") {
  temp_dir t;
  auto dir = t.path / "credentials";
  auto made = ensure_admin_certificates(dir);
  REQUIRE(made.ok());
  CHECK(made->generated);
  CHECK(mode_of(dir) == 0700);
  for (const char* n : names) {
    INFO(n);
    CHECK(mode_of(dir / n) == 0600);
    CHECK(read_all(dir / n).find("-----BEGIN ") == 0);
  }
  // No CA key is kept, and no temporary file is left.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator{dir})
    ++files;
  CHECK(files == 5);
  CHECK(made->server.certificate == dir / "admin-server.pem");
  CHECK(made->client.key == dir / "admin-client.key");
  CHECK(made->client.ca == dir / "admin-ca.pem");
  CHECK(check_admin_tls_files(made->server).ok());
  CHECK(check_admin_tls_files(made->client).ok());
}

TEST_CASE("a second call reuses the set unchanged", "[tools]") {
  temp_dir t;
  auto dir = t.path / "credentials";
  REQUIRE(ensure_admin_certificates(dir).ok());
  std::string before;
  for (const char* n : names)
    before += read_all(dir / n);
  auto again = ensure_admin_certificates(dir);
  REQUIRE(again.ok());
  CHECK_FALSE(again->generated);
  std::string after;
  for (const char* n : names)
    after += read_all(dir / n);
  CHECK(after == before);
}

TEST_CASE("two generated sets do not trust each other", "[tools]") {
  temp_dir t;
  auto a = ensure_admin_certificates(t.path / "a");
  auto b = ensure_admin_certificates(t.path / "b");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto mixed = a->client;
  mixed.ca = b->client.ca;
  auto r = check_admin_tls_files(mixed);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::invalid_input);
  CHECK(r.err().message.find("does not verify") != std::string::npos);
}

TEST_CASE("a CA file holding several CAs verifies a certificate of any of them", "[tools]") {
  temp_dir t;
  auto a = ensure_admin_certificates(t.path / "a");
  auto b = ensure_admin_certificates(t.path / "b");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto bundle = t.path / "both.pem";
  std::ofstream{bundle} << read_all(b->client.ca) << read_all(a->client.ca);
  auto files = a->client;
  files.ca = bundle;
  CHECK(check_admin_tls_files(files).ok());
}

TEST_CASE("a key that does not match its certificate is refused", "[tools]") {
  temp_dir t;
  auto made = ensure_admin_certificates(t.path / "c");
  REQUIRE(made.ok());
  auto wrong = made->client;
  wrong.key = made->server.key;
  auto r = check_admin_tls_files(wrong);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("does not match") != std::string::npos);
}

TEST_CASE("a file that is no PEM certificate is refused, naming it", "[tools]") {
  temp_dir t;
  auto made = ensure_admin_certificates(t.path / "c");
  REQUIRE(made.ok());
  auto bogus = t.path / "bogus.pem";
  std::ofstream{bogus} << "not a certificate\n";
  auto files = made->client;
  files.certificate = bogus;
  auto r = check_admin_tls_files(files);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find(bogus.string()) != std::string::npos);
}

TEST_CASE("a key readable by others is refused and left as it is", "[tools]") {
  temp_dir t;
  auto dir = t.path / "credentials";
  REQUIRE(ensure_admin_certificates(dir).ok());
  REQUIRE(::chmod((dir / "admin-client.key").c_str(), 0640) == 0);
  auto before = read_all(dir / "admin-client.key");
  auto r = ensure_admin_certificates(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::invalid_input);
  CHECK(r.err().message.find("admin-client.key") != std::string::npos);
  CHECK(r.err().message.find("0640") != std::string::npos);
  CHECK(read_all(dir / "admin-client.key") == before);
  CHECK(mode_of(dir / "admin-client.key") == 0640);
}

TEST_CASE("a credentials directory others can enter is refused", "[tools]") {
  temp_dir t;
  auto dir = t.path / "credentials";
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  auto r = ensure_admin_certificates(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("0755") != std::string::npos);
  CHECK(fs::is_empty(dir));
}

TEST_CASE("a symbolic link in place of a certificate is refused", "[tools]") {
  temp_dir t;
  auto dir = t.path / "credentials";
  REQUIRE(ensure_admin_certificates(dir).ok());
  fs::rename(dir / "admin-server.pem", t.path / "elsewhere.pem");
  fs::create_symlink(t.path / "elsewhere.pem", dir / "admin-server.pem");
  auto r = ensure_admin_certificates(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("symbolic links") != std::string::npos);
}

TEST_CASE("a CA without the rest of the set is refused, not completed", "[tools]") {
  temp_dir t;
  auto dir = t.path / "credentials";
  REQUIRE(ensure_admin_certificates(dir).ok());
  fs::remove(dir / "admin-client.key");
  auto r = ensure_admin_certificates(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("admin-client.key is missing") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "admin-client.key"));
}

TEST_CASE("leftovers of an unfinished generation without a CA are replaced by a new set",
          "[tools]") {
  temp_dir t;
  auto dir = t.path / "credentials";
  REQUIRE(ensure_admin_certificates(dir).ok());
  auto old_server = read_all(dir / "admin-server.pem");
  // A crash before the CA was written: the CA is what is missing.
  fs::remove(dir / "admin-ca.pem");
  std::ofstream{dir / ".admin-ca.pem.tmp"} << "half";
  auto r = ensure_admin_certificates(dir);
  REQUIRE(r.ok());
  CHECK(r->generated);
  CHECK(read_all(dir / "admin-server.pem") != old_server);
  CHECK_FALSE(fs::exists(dir / ".admin-ca.pem.tmp"));
  CHECK(check_admin_tls_files(r->server).ok());
}

} // namespace
} // namespace almanac::tools
