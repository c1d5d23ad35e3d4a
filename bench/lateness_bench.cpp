// Lateness of one-shot jobs (workload 1, Almanac's side): N `at` jobs, each due 1-2 s
// after it is created, with a no-op handler; every event fsync'd (the default durability).
// Lateness = when the handler starts minus the job's scheduled instant.
//
//   build-rel/bench/almanac_lateness_bench [N=10000]
//
// Prints the creation rate, lateness p50 / p99 / max, and peak RSS.
#include <almanac/almanac.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace almanac;
using namespace std::chrono_literals;

namespace {

long peak_rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::stoul(argv[1]) : 10000;
  auto dir = std::filesystem::temp_directory_path() / "almanac-lateness-bench";
  std::filesystem::remove_all(dir);
  caf::actor_system_config cfg;
  add_message_types(cfg);
  use_work_sharing(cfg);
  caf::actor_system sys{cfg};
  scheduler_options opts;
  opts.data_dir = dir;
  opts.settings.max_concurrent_runs = 4096;
  opts.executor.workers = 4;
  auto started = scheduler::start(sys, opts);
  if (!started) {
    std::fprintf(stderr, "%s\n", started.err().message.c_str());
    return 1;
  }
  auto& s = **started;
  system_clock wall;
  std::mutex mtx;
  std::vector<double> lateness_ms;
  lateness_ms.reserve(n);
  std::atomic<std::size_t> ran{0};
  s.register_handler("noop", [&](const run_context& run) {
    auto late = wall.now() - run.key.scheduled_for;
    std::lock_guard guard{mtx};
    lateness_ms.push_back(std::chrono::duration<double, std::milli>(late).count());
    ++ran;
  });

  // All creates in flight at once from one client: the group commit batches their fsyncs.
  auto t0 = std::chrono::steady_clock::now();
  auto base = wall.now();
  std::size_t created = 0;
  std::size_t refused = 0;
  {
    caf::scoped_actor self{sys};
    for (std::size_t i = 0; i < n; ++i) {
      job_spec spec;
      spec.name = "late-" + std::to_string(i);
      // Due 1-2 s after the creates start, spread evenly.
      spec.sched = at_schedule{base + 1s + duration{static_cast<duration::rep>(i * 1'000'000 / n)}};
      spec.what = handler_target{"noop", ""};
      self->send(s.admin(), create_request{spec, "user:bench", ""});
    }
    for (std::size_t i = 0; i < n; ++i)
      self->receive([&](job_state&) { ++created; }, [&](caf::error&) { ++refused; });
  }
  auto create_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (ran < created && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  s.stop(5s);
  std::sort(lateness_ms.begin(), lateness_ms.end());
  auto pct = [&](double p) {
    if (lateness_ms.empty())
      return 0.0;
    return lateness_ms[std::min(lateness_ms.size() - 1,
                                static_cast<std::size_t>(p * static_cast<double>(lateness_ms.size())))];
  };
  std::printf("jobs %zu: created %zu (refused %zu) in %.2f s = %.0f creates/s\n", n, created,
              refused, create_s, static_cast<double>(created) / create_s);
  std::printf("runs %zu: lateness p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", lateness_ms.size(),
              pct(0.5), pct(0.99), lateness_ms.empty() ? 0.0 : lateness_ms.back());
  std::printf("peak RSS %ld MiB\n", peak_rss_kib() / 1024);
  std::filesystem::remove_all(dir);
  return ran == n ? 0 : 1;
}
