// The credential files almanacd generates and the clients read: what a file must be to be
// trusted, that a value once written is never replaced, and the connection records.
#include "tools/edge/credentials.hpp"

#include "tests/common/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace almanac;
using namespace almanac::tools;

namespace {

void write_file(const std::filesystem::path& p, const std::string& text, mode_t mode) {
  std::ofstream{p} << text;
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

} // namespace

TEST_CASE("a generated credential is 32 random bytes in hex in a 0600 file and is kept",
          "[tools][credentials]") {
  test::temp_dir tmp;
  auto dir = credentials_dir(tmp.path(), true);
  REQUIRE(dir);
  CHECK(mode_of(*dir) == 0700);
  bool generated = false;
  auto first = load_or_generate_credential(*dir / http_token_file, generated);
  REQUIRE(first);
  CHECK(generated);
  CHECK(first->size() == 64);
  CHECK(first->find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(mode_of(*dir / http_token_file) == 0600);
  auto again = load_or_generate_credential(*dir / http_token_file, generated);
  REQUIRE(again);
  CHECK_FALSE(generated);
  CHECK(*again == *first);
  auto other = load_or_generate_credential(*dir / admin_secret_file, generated);
  REQUIRE(other);
  CHECK(*other != *first);
}

TEST_CASE("writers racing to generate a credential all end up with the first one written",
          "[tools][credentials]") {
  test::temp_dir tmp;
  auto dir = credentials_dir(tmp.path(), true);
  REQUIRE(dir);
  std::vector<std::string> seen(8);
  std::vector<int> created(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&, i] {
      bool generated = false;
      auto v = load_or_generate_credential(*dir / ("t" + std::to_string(i % 2)), generated);
      if (v)
        seen[i] = *v;
      created[i] = generated;
    });
  for (auto& t : threads)
    t.join();
  std::set<std::string> values[2];
  int generated[2] = {0, 0};
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].size() == 64);
    values[i % 2].insert(seen[i]);
    generated[i % 2] += created[i];
  }
  CHECK(values[0].size() == 1);
  CHECK(values[1].size() == 1);
  CHECK(generated[0] == 1);
  CHECK(generated[1] == 1);
  auto on_disk = read_credential_file(*dir / "t0");
  REQUIRE(on_disk);
  CHECK(*on_disk == *values[0].begin());
}

TEST_CASE("a credential file is refused when others can read it, when it is a symlink or short",
          "[tools][credentials]") {
  test::temp_dir tmp;
  auto f = tmp.path() / "token";
  write_file(f, "0123456789abcdef0123\n", 0600);
  auto ok = read_credential_file(f);
  REQUIRE(ok);
  CHECK(*ok == "0123456789abcdef0123");

  ::chmod(f.c_str(), 0640);
  auto open = read_credential_file(f);
  REQUIRE_FALSE(open);
  CHECK(open.err().message.find("accessible to others (mode 0640): chmod 600 it")
        != std::string::npos);
  CHECK(open.err().message.find("0123456789abcdef") == std::string::npos);
  ::chmod(f.c_str(), 0600);

  auto link = tmp.path() / "link";
  REQUIRE(::symlink(f.c_str(), link.c_str()) == 0);
  auto linked = read_credential_file(link);
  REQUIRE_FALSE(linked);
  CHECK(linked.err().message.find("symbolic link") != std::string::npos);

  write_file(f, "short\n", 0600);
  auto shorter = read_credential_file(f);
  REQUIRE_FALSE(shorter);
  CHECK(shorter.err().message.find("fewer than 16") != std::string::npos);

  write_file(f, "0123456789abcdef\n0123456789abcdef\n", 0600);
  auto two = read_credential_file(f);
  REQUIRE_FALSE(two);
  CHECK(two.err().message.find("more than one printable line") != std::string::npos);
  CHECK(two.err().message.find("0123456789abcdef") == std::string::npos);

  write_file(f, std::string(5000, 'x'), 0600);
  CHECK_FALSE(read_credential_file(f));
}

TEST_CASE("a credentials directory that others can enter is refused and left as it is",
          "[tools][credentials]") {
  test::temp_dir tmp;
  auto dir = tmp.path() / credentials_dir_name;
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  auto r = credentials_dir(tmp.path(), true);
  REQUIRE_FALSE(r);
  CHECK(r.err().message.find("accessible to others (mode 0755): chmod 700 it")
        != std::string::npos);
  CHECK(mode_of(dir) == 0755);
}

TEST_CASE("a connection record is found by its admin endpoint and by its data directory",
          "[tools][credentials]") {
  test::temp_dir tmp;
  auto runtime = tmp.path() / "runtime";
  ::setenv("XDG_RUNTIME_DIR", runtime.c_str(), 1);
  auto data = tmp.path() / "data";
  REQUIRE(::mkdir(data.c_str(), 0700) == 0);
  connection_record r{"127.0.0.1:7399", "127.0.0.1:7400", false, data, ::getpid(),
                      data / "credentials" / "admin-secret", data / "credentials" / "http-token",
                      data / "credentials" / "admin-client.pem",
                      data / "credentials" / "admin-client.key",
                      data / "credentials" / "admin-ca.pem"};
  REQUIRE(write_connection_record(r));
  CHECK(mode_of(runtime / "almanac") == 0700);
  auto found = find_connection_record(endpoint{"127.0.0.1", 7399});
  REQUIRE(found);
  CHECK(found->data == data);
  CHECK(found->secret_file == r.secret_file);
  CHECK(found->http == "127.0.0.1:7400");
  CHECK(found->admin_client_key == r.admin_client_key);
  CHECK(found->admin_ca == r.admin_ca);
  CHECK(find_connection_record(endpoint{"localhost", 7399}));
  CHECK_FALSE(find_connection_record(endpoint{"127.0.0.1", 7398}));
  auto by_data = data_dir_connection_record(data);
  REQUIRE(by_data);
  CHECK(by_data->admin == "127.0.0.1:7399");
  remove_connection_record("127.0.0.1:7399");
  CHECK_FALSE(find_connection_record(endpoint{"127.0.0.1", 7399}));
  ::unsetenv("XDG_RUNTIME_DIR");
}
