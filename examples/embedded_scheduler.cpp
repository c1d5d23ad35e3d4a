// Almanac inside an application: start it in the application's actor system, register a C++
// handler, create a job through the admin actor, watch it run, and stop cleanly.
//
// Build: link almanac::almanac. Run: ./embedded_scheduler [DATA_DIR]
#include <almanac/almanac.hpp>
#include <almanac/caf_error.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  auto data = argc > 1 ? std::filesystem::path{argv[1]}
                       : std::filesystem::temp_directory_path() / "almanac-example";
  std::filesystem::remove_all(data);

  // 1. Almanac's message types must be known before the actor system exists.
  caf::actor_system_config cfg;
  almanac::add_message_types(cfg);
  caf::actor_system sys{cfg};

  // 2. Handlers are plain C++ callables; throwing marks the run failed. The run key (job id,
  //    scheduled instant) lets a handler be idempotent under at-least-once delivery. They go
  //    in the options, so a job overdue at start-up finds its handler when it fires at once.
  std::atomic<int> runs{0};
  almanac::scheduler_options opts;
  opts.data_dir = data;
  opts.handlers["send-report"] = [&](const almanac::run_context& run) {
    std::printf("send-report: job %s, fire %s\n", almanac::to_string(run.key.job).c_str(),
                almanac::format_instant(run.key.scheduled_for).c_str());
    ++runs;
  };

  // 3. Start the scheduler on a data directory: it recovers every job the log holds.
  auto started = almanac::scheduler::start(sys, std::move(opts));
  if (!started) {
    std::fprintf(stderr, "cannot start: %s\n", started.err().message.c_str());
    return 1;
  }
  auto& scheduler = **started;

  // 4. Jobs are created and changed through the admin actor, the same messages that work from
  //    another node. Every request names who acts; that lands in the audit trail.
  almanac::job_spec spec;
  spec.name = "report";
  spec.sched = almanac::every_schedule{1s, {}, almanac::every_anchor::grid};
  spec.what = almanac::handler_target{"send-report", ""};
  {
    caf::scoped_actor self{sys};
    self->request(scheduler.admin(), 10s, almanac::create_request{spec, "user:example", "demo"})
      .receive(
        [](almanac::job_state& job) {
          std::printf("created %s, next run at %s\n", almanac::to_string(job.id).c_str(),
                      almanac::format_instant(*job.next_run_at).c_str());
        },
        [](caf::error& err) {
          std::fprintf(stderr, "create refused: %s\n",
                       almanac::from_caf_error(err).message.c_str());
        });
  }

  // 5. Let it fire twice, then stop: runs in progress get a grace period.
  for (int i = 0; i < 100 && runs < 2; ++i)
    std::this_thread::sleep_for(100ms);
  scheduler.stop(5s);
  std::printf("ran %d times\n", runs.load());
  return runs >= 2 ? 0 : 1;
}
