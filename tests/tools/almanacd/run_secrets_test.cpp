// Secret references resolved the way a run is spawned: files in a private directory under the
// rules the daemon enforces (owner, mode, no symlink, size), variables of the daemon's
// environment, and the masking of resolved values in what a run reports.
#include "tools/almanacd/run_secrets.hpp"

#include "actors/executor.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

using namespace almanac;
using namespace almanac::tools;
namespace fs = std::filesystem;

namespace {

struct secrets_dir {
  fs::path path;
  secrets_dir() {
    char tmpl[] = "/tmp/almanac-secrets-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
    ::chmod(path.c_str(), 0700);
  }
  ~secrets_dir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    auto p = path / name;
    std::ofstream{p, std::ios::binary} << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
};

secret_ref file_ref(std::string name) { return {secret_source::file, std::move(name)}; }

} // namespace

TEST_CASE("a from_file secret is read from a private file with one trailing newline dropped", "[tools]") {
  secrets_dir d;
  d.write("db", "pa55 word\n");
  d.write("crlf", "v\r\n");
  d.write("two", "v\n\n");
  d.write("ro", "read-only", 0400);
  auto r = resolve_secret(file_ref("db"), d.path);
  REQUIRE(r.ok);
  CHECK(r.value == "pa55 word");
  CHECK(resolve_secret(file_ref("crlf"), d.path).value == "v");
  CHECK(resolve_secret(file_ref("two"), d.path).value == "v\n");
  CHECK(resolve_secret(file_ref("ro"), d.path).value == "read-only");
}

TEST_CASE("a from_file secret that breaks a rule is refused naming the reference and not the value", "[tools]") {
  secrets_dir d;
  d.write("target", "the-value");
  SECTION("missing") {
    auto r = resolve_secret(file_ref("nope"), d.path);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.infra);
    CHECK_THAT(r.error, Catch::StartsWith("secret from_file:nope: cannot open")
                          && Catch::Contains("No such file"));
  }
  SECTION("a symbolic link") {
    fs::create_symlink(d.path / "target", d.path / "link");
    auto r = resolve_secret(file_ref("link"), d.path);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("symbolic link"));
  }
  SECTION("readable by others") {
    d.write("open", "the-value", 0644);
    auto r = resolve_secret(file_ref("open"), d.path);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("mode 0644") && Catch::Contains("chmod 600"));
  }
  SECTION("larger than 64 KiB") {
    d.write("big", std::string(max_secret_bytes + 1, 'x'));
    auto r = resolve_secret(file_ref("big"), d.path);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("the limit is 65536"));
    d.write("edge", std::string(max_secret_bytes, 'x'));
    CHECK(resolve_secret(file_ref("edge"), d.path).ok);
  }
  SECTION("a directory") {
    fs::create_directory(d.path / "sub");
    auto r = resolve_secret(file_ref("sub"), d.path);
    CHECK_FALSE(r.ok);
  }
  SECTION("a FIFO does not hang the run") {
    REQUIRE(::mkfifo((d.path / "fifo").c_str(), 0600) == 0);
    auto r = resolve_secret(file_ref("fifo"), d.path);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("not a regular file"));
  }
  SECTION("owned by another user") {
    // Only root can give a file away; as another user the file is the runner's own anyway.
    if (::geteuid() == 0) {
      auto p = d.write("theirs", "the-value");
      REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
      auto r = resolve_secret(file_ref("theirs"), d.path);
      CHECK_FALSE(r.ok);
      CHECK_THAT(r.error, Catch::Contains("owned by uid 65534"));
    }
  }
  SECTION("the directory is open to others") {
    ::chmod(d.path.c_str(), 0755);
    auto r = resolve_secret(file_ref("target"), d.path);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("the secrets directory") && Catch::Contains("chmod 700"));
  }
  SECTION("the directory is a symbolic link") {
    auto link = d.path.string() + "-link";
    fs::create_directory_symlink(d.path, link);
    auto r = resolve_secret(file_ref("target"), link);
    fs::remove(link);
    CHECK_FALSE(r.ok);
  }
  SECTION("no secrets directory") {
    auto r = resolve_secret(file_ref("target"), {});
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("no secrets directory"));
  }
  SECTION("a name climbing out") {
    fs::create_directory(d.path / "in");
    ::chmod((d.path / "in").c_str(), 0700);
    CHECK_FALSE(resolve_secret(file_ref("../target"), d.path / "in").ok);
  }
}

TEST_CASE("a from_env secret is the daemon's variable and never one of its ALMANAC_ ones", "[tools]") {
  ::setenv("ALMANAC_TEST_SECRET_SRC", "from-env-value", 1);
  ::setenv("SECRET_TEST_SRC", "from-env-value", 1);
  auto ok = resolve_secret({secret_source::env, "SECRET_TEST_SRC"}, {});
  auto forbidden = resolve_secret({secret_source::env, "ALMANAC_TEST_SECRET_SRC"}, {});
  ::unsetenv("ALMANAC_TEST_SECRET_SRC");
  ::unsetenv("SECRET_TEST_SRC");
  REQUIRE(ok.ok);
  CHECK(ok.value == "from-env-value");
  CHECK_FALSE(forbidden.ok);
  CHECK(forbidden.error.find("from-env-value") == std::string::npos);
  auto unset = resolve_secret({secret_source::env, "SECRET_TEST_SRC"}, {});
  CHECK_FALSE(unset.ok);
  CHECK(unset.error == "secret from_env:SECRET_TEST_SRC: the daemon's environment has no such variable");
}

TEST_CASE("secret values are masked in text, the longest first", "[tools]") {
  secret_mask m;
  m.add("abc");
  m.add("abcdef");
  m.add("");
  CHECK(m.longest() == 6);
  CHECK(m.apply("x abcdef y abc z abcabc") == "x *** y *** z ******");
  CHECK(m.apply("nothing here") == "nothing here");
  CHECK(secret_mask{}.apply("abc") == "abc");
}

TEST_CASE("a masked tail leaves no byte of a value that the tail's start cut", "[tools]") {
  secret_mask m;
  const std::string value = "S3CR3T-VALUE-0123456789";
  m.add(value);
  masked_tail tail{m};
  // Chunks of 1025 bytes ending in the value: the buffer is trimmed to its last 4096 + 23 bytes,
  // which starts 19 bytes before a chunk's end, inside a value, and the last append trims it.
  std::string chunk = std::string(1025 - value.size(), '.') + value;
  for (int i = 0; i < 199; ++i)
    tail.append(chunk.data(), chunk.size());
  auto out = tail.take();
  CHECK(out.size() <= max_output_tail);
  CHECK(out.size() > max_output_tail / 2);
  for (std::size_t i = 0; i + 4 <= value.size(); ++i) {
    INFO(value.substr(i, 4));
    CHECK(out.find(value.substr(i, 4)) == std::string::npos);
  }
  CHECK(out.find("***") != std::string::npos);
}
