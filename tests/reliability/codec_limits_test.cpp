// The decoder against lengths that lie, the bug class fuzz/decoder_fuzz.cpp found: a corrupted
// length prefix must be refused as corrupt_event at once, never honoured with an allocation of
// that size (an event read from a damaged disk, or a message from a hostile peer).
#include "reliability_fixture.hpp"

#include <chrono>

namespace almanac::reliability {
namespace {

TEST_CASE("a string length larger than the event is refused without allocating it",
          "[reliability]") {
  event e{event_envelope{job_id{0x2a1}, 3, from_unix_us(1'772'323'200'000'000), "user:alice",
                         "note", "pause"},
          job_paused{}};
  auto bytes = encode_event(e);
  // u8 version, u16 tag, u8 cereal endianness flag, then job id, seq, recorded_at (8 bytes each),
  // then the actor's length (8 bytes, little-endian).
  constexpr std::size_t actor_length = 3 + 1 + 24;
  REQUIRE(bytes[actor_length] == 10); // "user:alice"
  auto length = GENERATE(std::uint64_t{1} << 31, std::uint64_t{3} << 30, std::uint64_t{1} << 40,
                         ~std::uint64_t{0} >> 1);
  INFO("claimed length " << length);
  for (int b = 0; b < 8; ++b)
    bytes[actor_length + static_cast<std::size_t>(b)] = static_cast<char>(length >> (8 * b));
  auto start = std::chrono::steady_clock::now();
  auto decoded = decode_event(bytes);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.code() == errc::corrupt_event);
  CHECK_THAT(decoded.err().message, Catch::Contains("exceeds"));
  // Honouring 2 GiB would take seconds of page faults; a refusal takes microseconds.
  CHECK(took < 100ms);
}

TEST_CASE("a vector length larger than the snapshot is refused without allocating it",
          "[reliability]") {
  job_state s;
  s.id = job_id{7};
  s.seq = 4;
  s.name = "n";
  s.sched = every_schedule{1h, {}};
  s.what = exec_target{{"/bin/true"}, {}, ""};
  auto bytes = encode_state(s);
  // The argv count follows the exec target's kind byte; find it by its value 1 and the program
  // length 9 after it.
  std::string argv_count{"\x01\0\0\0\0\0\0\0\x09", 9};
  auto at = bytes.find(argv_count);
  REQUIRE(at != std::string::npos);
  for (int b = 0; b < 8; ++b)
    bytes[at + static_cast<std::size_t>(b)] = static_cast<char>((std::uint64_t{1} << 36) >> (8 * b));
  auto decoded = decode_state(bytes);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.code() == errc::corrupt_event);
  CHECK_THAT(decoded.err().message, Catch::Contains("exceeds"));
}

} // namespace
} // namespace almanac::reliability
