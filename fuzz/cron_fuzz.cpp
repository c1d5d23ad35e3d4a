// libFuzzer target: the cron parser and next fire times. Any input must give a compiled schedule
// or an invalid_schedule error, never a crash, a hang or a slow answer (each call is a few
// microseconds in a release build; scripts/fuzz.sh runs with -timeout=1).
//
// Input layout, kept tiny so mutations stay meaningful:
//   byte 0     the zone, an index into `zones` (modulo its size)
//   bytes 1-4  the start instant: seconds after 1990-01-01T00:00:00Z (little-endian u32, up to 2126)
//   the rest   the cron expression text
// With ALMANAC_WRITE_SEEDS=<dir> and ALMANAC_SEED_SOURCE=<cron-vectors.tsv> the binary writes
// one seed per distinct expression of the table (column 1) into <dir> and exits; the committed
// fuzz/corpus/cron is that set minimized with libFuzzer's -merge=1 (same coverage, 157 files).
#include <almanac/schedule.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

namespace {

// Zones with the awkward transitions: 30-minute DST (Lord_Howe), DST at midnight (Santiago,
// Tehran until 2022), +12:45 (Chatham), none (Kolkata, UTC).
constexpr std::array<std::string_view, 8> zones{
  "UTC",           "America/New_York", "Europe/Berlin",    "Australia/Lord_Howe",
  "Asia/Kolkata",  "Pacific/Chatham",  "America/Santiago", "Asia/Tehran",
};

constexpr std::int64_t epoch_1990_s = 631'152'000;

void write_seeds(const char* dir, const char* source) {
  std::ifstream in{source};
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", source);
    std::exit(1);
  }
  std::set<std::string> exprs;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    exprs.insert(line.substr(0, line.find('\t')));
  }
  std::size_t i = 0;
  for (const auto& expr : exprs) {
    // Spread the seeds over the zones and over 2020-2030 start instants.
    std::string seed(5, '\0');
    seed[0] = static_cast<char>(i % zones.size());
    auto start = static_cast<std::uint32_t>(946'684'800 + (i * 7'919'003) % 315'360'000);
    for (int b = 0; b < 4; ++b)
      seed[1 + b] = static_cast<char>(start >> (8 * b));
    seed += expr;
    auto path = std::string{dir} + "/vector-" + std::to_string(i++);
    std::ofstream{path, std::ios::binary} << seed;
  }
  std::fprintf(stderr, "wrote %zu seeds to %s\n", i, dir);
  std::exit(0);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (auto* dir = std::getenv("ALMANAC_WRITE_SEEDS"))
    write_seeds(dir, std::getenv("ALMANAC_SEED_SOURCE") ? std::getenv("ALMANAC_SEED_SOURCE")
                                                        : "tests/data/cron-vectors.tsv");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5)
    return 0;
  auto zone = zones[data[0] % zones.size()];
  std::uint32_t offset = 0;
  for (int b = 0; b < 4; ++b)
    offset |= static_cast<std::uint32_t>(data[1 + b]) << (8 * b);
  std::string_view text{reinterpret_cast<const char*>(data + 5), size - 5};
  auto cron = almanac::make_cron(text, zone);
  if (!cron) {
    // A refusal must say what is wrong: an empty message helps nobody.
    if (cron.err().message.empty() || cron.code() != almanac::errc::invalid_schedule)
      std::abort();
    return 0;
  }
  almanac::schedule s = std::move(*cron);
  auto from = almanac::from_unix_us((epoch_1990_s + offset) * std::int64_t{1'000'000});
  // make_cron refuses expressions that never fire, so each next fire exists and moves forward.
  for (int i = 0; i < 4; ++i) {
    auto next = almanac::next_after(s, from);
    if (!next || *next <= from)
      std::abort();
    from = *next;
  }
  return 0;
}
