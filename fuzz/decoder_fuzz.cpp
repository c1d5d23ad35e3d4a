// libFuzzer target: the event and snapshot decoder on arbitrary bytes, as a corrupted disk or a
// hostile peer would hand it over (admin messages travel as codec bytes too, see admin.hpp).
// Any input must give an event, a state or an error; never a crash, undefined behaviour or a
// huge allocation. What decodes must survive a second trip: its encoding decodes again and
// re-encodes to the same bytes.
//
// With ALMANAC_WRITE_SEEDS=<dir> the binary writes the seed corpus (one encoded event of every
// type, in several shapes, and a few snapshots) into <dir> and exits.
#include "events/codec.hpp"
#include "events/evolve.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace almanac;

const instant t0 = from_unix_us(1'772'323'200'000'000); // 2026-03-01T00:00:00Z

std::vector<event> seed_events() {
  job_id id{0x2a1};
  auto cron = make_cron("30 2 * * 1-5", "America/New_York");
  if (!cron)
    std::abort();
  job_policies rich;
  rich.misfire = misfire_policy::catch_up;
  rich.overlap = overlap_policy::buffer_one;
  rich.max_consecutive_errors = 4;
  rich.backoff = {30s, 5min};
  rich.timeout = 90s;
  rich.jitter = 5s;
  rich.end_at = t0 + 24h;
  rich.max_runs = 7;
  rich.group = "reports";
  rich.delete_after_run = true;
  std::vector<event_body> bodies{
    job_created{"report", *cron, handler_target{"send-report", "{\"to\":\"ops\"}"}, rich,
                "user:alice", t0 + 1h},
    job_created{"backup", every_schedule{90s, t0, every_anchor::after_run_end},
                exec_target{{"/usr/bin/backup", "--full"}, {{"LANG", "C"}}, "/tmp"}, {},
                "user:bob", t0 + 90s},
    job_created{"ping", at_schedule{t0 + 1h},
                http_target{"PUT", "https://example.com/hook", {{"X-Key", "1"}}, "{}"}, {},
                "node:7", t0 + 1h},
    job_updated{"report-2", std::nullopt, std::nullopt, std::nullopt, std::nullopt},
    job_updated{std::nullopt, *cron, handler_target{"x", ""}, rich, t0 + 2h},
    job_paused{},
    job_resumed{t0 + 3h},
    job_revived{3, t0 + 4h},
    run_started{1, t0, run_trigger::catch_up, t0 + 1min},
    run_succeeded{1, 250ms, "ok\n", t0 + 2min},
    run_failed{2, "exit 1", 2, t0 + 3min, 1s, "boom"},
    run_skipped{t0, skip_reason::misfire, std::nullopt},
    run_queued{t0 + 5min, t0 + 6min},
    run_abandoned{3, "scheduler restarted", t0 + 7min},
    job_failed{10, "exit 2"},
    job_completed{},
    job_deleted{},
    log_salvaged{"/d/000004.log", "Corruption: checksum mismatch", 9723, 20, 200, "/d/salvage"},
  };
  std::vector<event> out;
  std::uint64_t seq = 0;
  for (auto& body : bodies)
    out.push_back(event{event_envelope{id, ++seq, t0, "user:alice", "why not", "resume:force"},
                        std::move(body)});
  return out;
}

void write_seeds(const char* dir) {
  std::size_t n = 0;
  auto put = [&](const std::string& bytes) {
    std::ofstream{std::string{dir} + "/seed-" + std::to_string(n++), std::ios::binary} << bytes;
  };
  job_state state;
  for (auto& e : seed_events()) {
    put(encode_event(e));
    // A state after each event: snapshots with every field the fold fills in.
    if (auto next = evolve(state, e); next.seq)
      state = next;
    put(encode_state(state));
  }
  std::fprintf(stderr, "wrote %zu seeds to %s\n", n, dir);
  std::exit(0);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (auto* dir = std::getenv("ALMANAC_WRITE_SEEDS"))
    write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes{reinterpret_cast<const char*>(data), size};
  if (auto e = decode_event(bytes)) {
    auto once = encode_event(*e);
    auto again = decode_event(once);
    if (!again || encode_event(*again) != once)
      std::abort();
  } else if (e.err().message.empty()) {
    std::abort();
  }
  if (auto s = decode_state(bytes)) {
    auto once = encode_state(*s);
    auto again = decode_state(once);
    if (!again || encode_state(*again) != once)
      std::abort();
  } else if (s.err().message.empty()) {
    std::abort();
  }
  return 0;
}
