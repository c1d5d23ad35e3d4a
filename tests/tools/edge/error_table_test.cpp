#include "tools/edge/error_table.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

using namespace almanac;
using namespace almanac::tools;

TEST_CASE("every errc has an HTTP status and an exit code from the one table", "[tools]") {
  struct row {
    errc code;
    int http;
    int exit;
  };
  auto r = GENERATE(row{errc::none, 200, exit_ok}, row{errc::invalid_schedule, 400, exit_usage},
                    row{errc::unknown_zone, 400, exit_usage},
                    row{errc::invalid_input, 400, exit_usage},
                    row{errc::not_found, 404, exit_refused},
                    row{errc::name_taken, 409, exit_refused},
                    row{errc::failed_needs_force, 409, exit_refused},
                    row{errc::refused_status, 409, exit_refused},
                    row{errc::conflict, 409, exit_refused},
                    row{errc::storage_error, 503, exit_refused},
                    row{errc::unknown_event, 500, exit_refused},
                    row{errc::corrupt_event, 500, exit_refused},
                    row{errc::newer_format, 500, exit_refused},
                    row{errc::unavailable, 503, exit_unreachable},
                    row{errc::unauthorized, 401, exit_usage},
                    row{errc::limit_exceeded, 507, exit_refused});
  CAPTURE(to_string(r.code));
  CHECK(http_status(r.code) == r.http);
  CHECK(exit_code(r.code) == r.exit);
}

TEST_CASE("the CLI exit codes are refusal 1 usage 2 unreachable 3", "[tools]") {
  CHECK(exit_ok == 0);
  CHECK(exit_refused == 1);
  CHECK(exit_usage == 2);
  CHECK(exit_unreachable == 3);
}

TEST_CASE("the HTTP-only refusals are client errors and agree with the errc of the same name",
          "[tools]") {
  std::vector<std::string_view> seen;
  for (const auto& r : http_refusals::all) {
    CAPTURE(r.code);
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
    CHECK(std::count(seen.begin(), seen.end(), r.code) == 0);
    seen.push_back(r.code);
    for (auto code : {errc::invalid_input, errc::unauthorized, errc::not_found})
      if (to_string(code) == r.code)
        CHECK(http_status(code) == r.status);
  }
  CHECK(seen.size() == 10);
  CHECK(http_refusals::no_route.status == http_status(errc::not_found));
  CHECK(http_refusals::unauthorized.status == http_status(errc::unauthorized));
}
