#include "actors/executor.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>

using namespace almanac;
using namespace std::chrono_literals;

namespace {

struct outcome_box {
  std::promise<run_outcome> p;
  run_callback callback() {
    return [this](run_key, run_outcome o, duration) { p.set_value(std::move(o)); };
  }
};

executor_options workers(std::size_t n) {
  executor_options o;
  o.workers = n;
  return o;
}

} // namespace

TEST_CASE("the executor runs registered handlers and reports throws as failures",
          "[actors][executor]") {
  executor ex{workers(2)};
  ex.register_handler("ok", [](const run_context&) {});
  ex.register_handler("throws", [](const run_context&) { throw std::runtime_error("nope"); });
  outcome_box a, b, c;
  ex.submit(run_key{job_id{1}, {}, 1}, handler_target{"ok", ""}, a.callback());
  ex.submit(run_key{job_id{2}, {}, 1}, handler_target{"throws", ""}, b.callback());
  ex.submit(run_key{job_id{3}, {}, 1}, handler_target{"missing", ""}, c.callback());
  CHECK(a.p.get_future().get().ok);
  auto fb = b.p.get_future().get();
  CHECK_FALSE(fb.ok);
  CHECK(fb.error == "nope");
  auto fc = c.p.get_future().get();
  CHECK_FALSE(fc.ok);
  CHECK_THAT(fc.error, Catch::Contains("missing"));
}

TEST_CASE("a cancelled run sees cancelled and is reported failed", "[actors][executor]") {
  executor ex{workers(1)};
  std::promise<void> started;
  ex.register_handler("loop", [&](const run_context& ctx) {
    started.set_value();
    while (!ctx.cancelled())
      std::this_thread::yield();
  });
  outcome_box box;
  ex.submit(run_key{job_id{7}, {}, 3}, handler_target{"loop", ""}, box.callback());
  started.get_future().wait();
  ex.cancel(job_id{7}, 3);
  auto o = box.p.get_future().get();
  CHECK_FALSE(o.ok);
  CHECK(o.error == "cancelled");
}

TEST_CASE("a run cut off by stop is asked to stop and never reported", "[actors][executor]") {
  std::atomic<int> reported{0};
  std::atomic<bool> saw_cancel{false};
  std::promise<void> started;
  {
    executor ex{workers(1)};
    ex.register_handler("loop", [&](const run_context& ctx) {
      started.set_value();
      while (!ctx.cancelled())
        std::this_thread::yield();
      saw_cancel = true;
      throw std::runtime_error("interrupted");
    });
    ex.submit(run_key{job_id{7}, {}, 3}, handler_target{"loop", ""},
              [&](run_key, run_outcome, duration) { ++reported; });
    started.get_future().wait();
    CHECK(ex.stop(0s) == 1);
  } // the destructor joins the worker, so the handler has returned here
  CHECK(saw_cancel);
  // Reported, the interruption would count as a failure of the job; unreported, the run stays
  // in flight in the log and the next start records it abandoned and runs it again.
  CHECK(reported == 0);
}

TEST_CASE("run output keeps only its last 4 KiB", "[actors][executor]") {
  std::string big(10000, 'a');
  big += "tail";
  auto t = output_tail(big);
  CHECK(t.size() == max_output_tail);
  CHECK(t.substr(t.size() - 4) == "tail");
  CHECK(output_tail("short") == "short");
}

TEST_CASE("run output is valid utf8 and starts on a character", "[actors][executor]") {
  // The cut at 4 KiB falls inside a 3-byte euro sign: its remaining bytes are dropped.
  std::string text = "\xe2\x82\xac" + std::string(max_output_tail - 2, 'x');
  auto t = output_tail(text);
  CHECK(t == std::string(max_output_tail - 2, 'x'));
  // Bytes a program printed that are not UTF-8 become U+FFFD: every JSON copy needs UTF-8.
  CHECK(output_tail("ok\xff\xfe") == "ok\xef\xbf\xbd\xef\xbf\xbd");
}
