#include "tools/exec_runner.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

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
