// An event this build cannot read: a type tag from a newer build, or a newer format version, as
// after a downgrade. Start-up must not skip it (the job's state would silently be wrong): it
// fails, naming the job and the sequence. Started with quarantine, the scheduler leaves that job
// out, runs the others, and health names the quarantined job.
// The refusal carries the cause's own code (unknown_event, newer_format), since the remedy
// differs from that of corruption.
#include "reliability_fixture.hpp"

#include "events/codec.hpp"
#include "events/decide.hpp"

#include <thread>

namespace almanac::reliability {
namespace {

struct damage {
  const char* what;
  std::size_t offset; // into the encoded event: 0 version, 1-2 tag (little-endian)
  std::string bytes;
  errc expected;
  const char* key_word;
};

// Patches alpha's event at `seq` in its stream and in the global index (the copy tools and
// projections read), as a newer build would have written it.
void patch_event(const std::filesystem::path& data, job_id job, std::uint64_t seq,
                 const damage& d) {
  auto key = store::detail::stream_key(job, seq);
  with_raw_db(data, [&](rocksdb::DB& db, std::vector<rocksdb::ColumnFamilyHandle*>& cfs) {
    std::string value;
    REQUIRE(db.Get({}, cfs[1], key, &value).ok());
    value.replace(d.offset, d.bytes.size(), d.bytes);
    REQUIRE(db.Put({}, cfs[1], key, value).ok());
    int patched = 0;
    std::unique_ptr<rocksdb::Iterator> it{db.NewIterator({}, cfs[2])};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto v = it->value().ToString();
      if (v.rfind(key, 0) != 0)
        continue;
      v.replace(16 + d.offset, d.bytes.size(), d.bytes);
      REQUIRE(db.Put({}, cfs[2], it->key(), v).ok());
      ++patched;
    }
    REQUIRE(it->status().ok());
    REQUIRE(patched == 1);
  });
}

TEST_CASE("an unreadable event stops start-up naming job and sequence unless quarantined",
          "[reliability]") {
  auto d = GENERATE(damage{"an unknown type tag", 1, std::string{"\xe7\x03", 2},
                           errc::unknown_event, "unknown event type tag 999"},
                    damage{"a newer format version", 0,
                           std::string(1, static_cast<char>(codec_version + 1)),
                           errc::newer_format, "upgrade"});
  INFO("alpha's pause event carries " << d.what);
  scheduler_fixture f;
  f.start();
  auto alpha = f.created("alpha", every_schedule{1h, f.clk.now()});
  auto beta = f.created("beta", every_schedule{1h, f.clk.now()});
  REQUIRE(f.ask<job_state>(pause_request{"alpha", "user:alice", ""}).ok());
  f.stop();
  patch_event(f.dir.data(), alpha.id, 2, d);

  auto refused = f.try_start(f.dir.data());
  REQUIRE_FALSE(refused.ok());
  INFO(refused.err().message);
  CHECK(refused.code() == d.expected);
  CHECK_THAT(refused.err().message, Catch::Contains(to_string(alpha.id))
                                      && Catch::Contains("seq 2") && Catch::Contains(d.key_word)
                                      && Catch::Contains("quarantine"));

  runtime_settings quarantine;
  quarantine.quarantine_undecodable = true;
  f.start(quarantine);
  auto health = f.ask<health_report>(health_request{});
  REQUIRE(health.ok());
  REQUIRE(health->quarantined.size() == 1);
  CHECK_THAT(health->quarantined.front(),
             Catch::Contains(to_string(alpha.id)) && Catch::Contains("seq 2"));
  CHECK(health->active == 1);
  CHECK(f.ask<job_state>(get_request{"alpha"}).code() == errc::not_found);
  // The other job runs on its timer as before.
  auto b = f.ask<job_state>(get_request{"beta"});
  REQUIRE(b.ok());
  REQUIRE(b->next_run_at);
  f.clk.set(*wake_at(*b));
  f.sched->check_timers();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto now = f.ask<job_state>(get_request{"beta"});
    REQUIRE(now.ok());
    if (now->last_run && now->last_run->ok)
      break;
    if (std::chrono::steady_clock::now() > deadline)
      FAIL("beta did not run after its timer fired");
    std::this_thread::sleep_for(1ms);
  }
  // And it still takes commands, while the quarantined job's log is left as it was.
  CHECK(f.ask<job_state>(pause_request{"beta", "user:alice", ""}).ok());
  std::vector<event> alpha_events;
  CHECK(store::to_error(scheduler_testing::log(*f.sched).read_stream(alpha.id, 1, alpha_events)).code
        == d.expected);
  CHECK(beta.seq == 1);
}

TEST_CASE("an unreadable event stops start-up with the errc of its cause", "[reliability]") {
  auto d = GENERATE(damage{"an unknown type tag", 1, std::string{"\xe7\x03", 2},
                           errc::unknown_event, "unknown event type tag 999"},
                    damage{"a newer format version", 0,
                           std::string(1, static_cast<char>(codec_version + 1)),
                           errc::newer_format, "upgrade"});
  INFO("alpha's pause event carries " << d.what);
  scheduler_fixture f;
  f.start();
  auto alpha = f.created("alpha", every_schedule{1h, f.clk.now()});
  REQUIRE(f.ask<job_state>(pause_request{"alpha", "user:alice", ""}).ok());
  f.stop();
  patch_event(f.dir.data(), alpha.id, 2, d);
  auto refused = f.try_start(f.dir.data());
  REQUIRE_FALSE(refused.ok());
  INFO(refused.err().message);
  CHECK(refused.code() == d.expected);
}

} // namespace
} // namespace almanac::reliability
