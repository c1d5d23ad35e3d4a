#include "tools/almanacd/exec_runner.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

using namespace almanac;
using namespace almanac::tools;

namespace {

run_outcome run(exec_target t, std::shared_ptr<std::atomic<bool>> cancel = nullptr) {
  if (!cancel)
    cancel = std::make_shared<std::atomic<bool>>(false);
  run_context ctx{run_key{job_id{1}, {}, 1}, target{std::move(t)}, cancel};
  exec_options opts;
  opts.kill_grace = std::chrono::milliseconds{500};
  opts.poll_interval = std::chrono::milliseconds{10};
  return run_exec(ctx, opts);
}

exec_target sh(std::string script) { return exec_target{{"sh", "-c", std::move(script)}, {}, {}}; }

} // namespace

TEST_CASE("an exec target that exits 0 succeeds and keeps its output", "[tools]") {
  auto out = run(exec_target{{"echo", "hello", "world"}, {}, {}});
  CHECK(out.ok);
  CHECK(out.error.empty());
  CHECK(out.output_tail == "hello world\n");
}

TEST_CASE("an exec target that exits non-zero fails with its exit status", "[tools]") {
  SECTION("false") {
    auto out = run(exec_target{{"false"}, {}, {}});
    CHECK_FALSE(out.ok);
    CHECK(out.error == "exit status 1");
  }
  SECTION("exit 7 with stderr captured") {
    auto out = run(sh("echo oops >&2; exit 7"));
    CHECK_FALSE(out.ok);
    CHECK(out.error == "exit status 7");
    CHECK(out.output_tail == "oops\n");
  }
}

TEST_CASE("an exec target killed by a signal names the signal", "[tools]") {
  auto out = run(sh("kill -KILL $$"));
  CHECK_FALSE(out.ok);
  CHECK(out.error == "killed by signal 9 (SIGKILL)");
}

TEST_CASE("a program that does not exist fails to start with the reason", "[tools]") {
  auto out = run(exec_target{{"/nonexistent/almanac-no-such-program"}, {}, {}});
  CHECK_FALSE(out.ok);
  CHECK(out.error.find("cannot start '/nonexistent/almanac-no-such-program'") == 0);
  CHECK(out.error.find("No such file") != std::string::npos);
}

TEST_CASE("exec output keeps only the last 4 KiB", "[tools]") {
  // 100000 bytes: many pipe reads, and the tail must be the very end.
  auto out = run(sh("head -c 99990 /dev/zero | tr '\\0' a; printf 0123456789"));
  CHECK(out.ok);
  REQUIRE(out.output_tail.size() == max_output_tail);
  CHECK(out.output_tail.substr(max_output_tail - 10) == "0123456789");
  CHECK(out.output_tail.front() == 'a');
}

TEST_CASE("exec arguments never go through a shell", "[tools]") {
  auto out = run(exec_target{{"echo", "a; echo injected", "$(id)", "*", "`id`"}, {}, {}});
  CHECK(out.ok);
  CHECK(out.output_tail == "a; echo injected $(id) * `id`\n");
}

TEST_CASE("exec env adds to the environment and cwd sets the directory", "[tools]") {
  auto dir = std::filesystem::temp_directory_path();
  exec_target t = sh("printf '%s|%s|%s' \"$ALMANAC_TEST_VAR\" \"$PWD\" \"${PATH:+has-path}\"");
  t.env["ALMANAC_TEST_VAR"] = "x y;z";
  t.cwd = dir.string();
  auto out = run(t);
  CHECK(out.ok);
  CHECK(out.output_tail == "x y;z|" + std::filesystem::canonical(dir).string() + "|has-path");
}

TEST_CASE("exec does not pass the daemon's secrets to jobs", "[tools]") {
  ::setenv("ALMANAC_SECRET", "s3cret", 1);
  auto out = run(sh("printf '[%s]' \"$ALMANAC_SECRET\""));
  ::unsetenv("ALMANAC_SECRET");
  CHECK(out.output_tail == "[]");
}

TEST_CASE("exec children inherit only the allowed variables of the daemon's environment", "[tools]") {
  ::setenv("FOO_SECRET", "x", 1);
  ::setenv("ALMANAC_TOKEN", "token-of-the-daemon", 1);
  auto dump = [](std::vector<std::string> allow) {
    run_context ctx{run_key{job_id{1}, {}, 1},
                    target{sh("printf '[%s|%s|%s]' \"$FOO_SECRET\" \"$ALMANAC_TOKEN\" "
                              "\"${PATH:+path}\"")},
                    std::make_shared<std::atomic<bool>>(false)};
    exec_options opts;
    if (!allow.empty())
      opts.env_allow = std::move(allow);
    return run_exec(ctx, opts).output_tail;
  };
  auto by_default = dump({});
  auto named = dump({"PATH", "FOO_SECRET"});
  auto prefix = dump({"PATH", "FOO_*"});
  auto everything = dump({"*"});
  auto nothing = exec_options{};
  ::unsetenv("FOO_SECRET");
  ::unsetenv("ALMANAC_TOKEN");
  CHECK(by_default == "[||path]");
  CHECK(named == "[x||path]");
  CHECK(prefix == "[x||path]");
  CHECK(everything == "[x||path]");
  CHECK(nothing.env_allow == default_exec_env_allow());
}

TEST_CASE("the exec environment allow-list parses names, prefixes and star", "[tools]") {
  auto ok = parse_exec_env_allow("PATH, LC_*,HOME");
  REQUIRE(ok.ok());
  CHECK(*ok == std::vector<std::string>{"PATH", "LC_*", "HOME"});
  CHECK(parse_exec_env_allow("*").value() == std::vector<std::string>{"*"});
  for (const char* bad : {"", "PATH,", "A B", "X=1", "ALMANAC_TOKEN", "ALMANAC_*", "*X"}) {
    INFO(bad);
    CHECK(parse_exec_env_allow(bad).code() == errc::invalid_input);
  }
}

TEST_CASE("exec secret references reach the program and are masked in what the run reports", "[tools]") {
  auto dir = std::filesystem::temp_directory_path() / ("almanac-exec-secrets-" + std::to_string(::getpid()));
  std::filesystem::create_directory(dir);
  ::chmod(dir.c_str(), 0700);
  {
    std::ofstream{dir / "db"} << "file-secret-value\n";
  }
  ::chmod((dir / "db").c_str(), 0600);
  ::setenv("EXEC_TEST_SECRET", "env-secret-value", 1);
  exec_target t = sh("printf '%s|%s' \"$DB\" \"$KEY\" > \"$OUT\"; echo \"$DB $KEY\"; exit 3");
  t.env["OUT"] = (dir / "out").string();
  t.secret_env["DB"] = {secret_source::file, "db"};
  t.secret_env["KEY"] = {secret_source::env, "EXEC_TEST_SECRET"};
  run_context ctx{run_key{job_id{1}, {}, 1}, target{t}, std::make_shared<std::atomic<bool>>(false)};
  exec_options opts;
  opts.secrets_dir = dir;
  auto out = run_exec(ctx, opts);
  std::string seen;
  std::getline(std::ifstream{dir / "out"}, seen);
  SECTION("resolved and masked") {
    CHECK(seen == "file-secret-value|env-secret-value");
    CHECK_FALSE(out.ok);
    CHECK(out.error == "exit status 3");
    CHECK(out.output_tail == "*** ***\n");
  }
  SECTION("a missing reference fails the run naming it, and nothing starts") {
    std::filesystem::remove(dir / "out");
    ::unsetenv("EXEC_TEST_SECRET");
    auto missing = run_exec(ctx, opts);
    CHECK_FALSE(missing.ok);
    CHECK_FALSE(missing.infra);
    CHECK(missing.error == "env KEY: secret from_env:EXEC_TEST_SECRET: the daemon's environment "
                           "has no such variable");
    CHECK_FALSE(std::filesystem::exists(dir / "out"));
  }
  ::unsetenv("EXEC_TEST_SECRET");
  std::filesystem::remove_all(dir);
}

TEST_CASE("exec passes the run key in the environment and the target cannot replace it", "[tools]") {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  exec_target t = sh("printf '%s|%s|%s' \"$ALMANAC_JOB_ID\" \"$ALMANAC_SCHEDULED_FOR\" "
                     "\"$ALMANAC_RUN_ID\"");
  t.env["ALMANAC_RUN_ID"] = "forged";
  ::setenv("ALMANAC_JOB_ID", "forged", 1);
  // 2026-03-08T07:30:00.250Z
  run_key key{job_id{0x2a1}, from_unix_us(1'772'955'000'250'000), 7};
  run_context ctx{key, target{t}, cancel};
  auto out = run_exec(ctx);
  ::unsetenv("ALMANAC_JOB_ID");
  CHECK(out.ok);
  CHECK(out.output_tail == "00000000000002a1|2026-03-08T07:30:00.250Z|7");
}

TEST_CASE("a cancelled exec run is terminated", "[tools]") {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  SECTION("with SIGTERM when it obeys") {
    std::thread canceller{[cancel] {
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
      cancel->store(true);
    }};
    auto start = std::chrono::steady_clock::now();
    auto out = run(exec_target{{"sleep", "30"}, {}, {}}, cancel);
    canceller.join();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{10});
    CHECK_FALSE(out.ok);
    CHECK(out.error == "cancelled: killed by signal 15 (SIGTERM)");
  }
  SECTION("with SIGKILL after the grace when it ignores SIGTERM") {
    std::thread canceller{[cancel] {
      std::this_thread::sleep_for(std::chrono::milliseconds{300});
      cancel->store(true);
    }};
    auto start = std::chrono::steady_clock::now();
    auto out = run(sh("trap '' TERM; echo ready; while :; do sleep 0.05; done"), cancel);
    canceller.join();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{10});
    CHECK_FALSE(out.ok);
    CHECK(out.error == "cancelled: killed by signal 9 (SIGKILL)");
    CHECK(out.output_tail == "ready\n");
  }
}

TEST_CASE("a run whose child keeps the output pipe open still ends with the parent", "[tools]") {
  auto start = std::chrono::steady_clock::now();
  auto out = run(sh("sleep 5 & echo parent done"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{4});
  CHECK(out.ok);
  CHECK(out.output_tail == "parent done\n");
}

TEST_CASE("the exec runner refuses a target that is not exec", "[tools]") {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  run_context ctx{run_key{}, target{http_target{}}, cancel};
  auto out = run_exec(ctx);
  CHECK_FALSE(out.ok);
}

TEST_CASE("an http target to a closed port fails with the request error", "[tools]") {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  http_target t;
  t.method = "GET";
  t.url = "http://127.0.0.1:1/x";
  run_context ctx{run_key{}, target{t}, cancel};
  auto out = run_http(ctx);
  CHECK_FALSE(out.ok);
  CHECK(out.error.find("request failed") == 0);
  t.url = "ftp://example.com/";
  run_context bad{run_key{}, target{t}, cancel};
  CHECK(run_http(bad).error.find("invalid URL") == 0);
}
