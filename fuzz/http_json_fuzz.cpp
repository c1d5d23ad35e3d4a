// libFuzzer target: the HTTP API's JSON request parsing (tools/edge/json_reader.cpp), the code every
// create and update body from the network goes through before anything reaches a job.
//
// Input layout:
//   byte 0     which parser: 0 create body (parse_job_spec), 1 update body (parse_update),
//              2 schedule (parse_schedule), 3 policies (parse_policies)   (modulo 4)
//   the rest   the request body, parsed by nlohmann::json without exceptions, as the API does
//
// What must hold: a body that is not JSON is simply not parsed; a parser either accepts or
// refuses with an input error (invalid_input, invalid_schedule, unknown_zone)
// and a message; and what it accepts survives the round trip the API makes when it answers
// (the value printed back as JSON parses again to the same JSON). No crash, no sanitizer report,
// no input slower than 1 s.
#include "tools/edge/json_reader.hpp"
#include "tools/edge/json_writer.hpp"

#include <almanac/job.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace almanac;
using namespace almanac::tools;

namespace {

void check_error(const error& err) {
  bool input_error = err.code == errc::invalid_input || err.code == errc::invalid_schedule ||
                     err.code == errc::unknown_zone;
  if (!input_error || err.message.empty()) {
    std::fprintf(stderr, "refusal with code %s and message '%s'\n", std::string{to_string(err.code)}.c_str(),
                 err.message.c_str());
    std::abort();
  }
}

void check_same(const json& first, const json& again, const char* what) {
  if (first != again) {
    std::fprintf(stderr, "%s changed on the round trip:\n%s\n%s\n", what, first.dump().c_str(),
                 again.dump().c_str());
    std::abort();
  }
}

json spec_json(const job_spec& s) {
  return {{"name", s.name},
          {"schedule", schedule_to_json(s.sched)},
          {"target", target_to_json(s.what)},
          {"policies", policies_to_json(s.policies)}};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  std::string_view text{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto body = json::parse(text, nullptr, false);
  if (body.is_discarded())
    return 0;
  switch (data[0] % 4) {
    case 0: {
      auto spec = parse_job_spec(body);
      if (!spec)
        return check_error(spec.err()), 0;
      auto printed = spec_json(*spec);
      auto again = parse_job_spec(printed);
      if (!again) {
        std::fprintf(stderr, "printed spec refused: %s\n%s\n", again.err().message.c_str(),
                     printed.dump().c_str());
        std::abort();
      }
      check_same(printed, spec_json(*again), "job spec");
      break;
    }
    case 1: {
      auto u = parse_update(body);
      if (!u)
        return check_error(u.err()), 0;
      if (u->sched)
        check_same(schedule_to_json(*u->sched),
                   schedule_to_json(*parse_schedule(schedule_to_json(*u->sched))), "schedule");
      break;
    }
    case 2: {
      auto s = parse_schedule(body);
      if (!s)
        return check_error(s.err()), 0;
      auto again = parse_schedule(schedule_to_json(*s));
      if (!again) {
        std::fprintf(stderr, "printed schedule refused: %s\n", again.err().message.c_str());
        std::abort();
      }
      check_same(schedule_to_json(*s), schedule_to_json(*again), "schedule");
      break;
    }
    default: {
      auto p = parse_policies(body);
      if (!p)
        return check_error(p.err()), 0;
      auto again = parse_policies(policies_to_json(*p));
      if (!again) {
        std::fprintf(stderr, "printed policies refused: %s\n", again.err().message.c_str());
        std::abort();
      }
      check_same(policies_to_json(*p), policies_to_json(*again), "policies");
      break;
    }
  }
  return 0;
}
