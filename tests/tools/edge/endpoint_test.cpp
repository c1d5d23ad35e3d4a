#include "tools/edge/endpoint.hpp"

#include <catch2/catch.hpp>

using namespace almanac;
using namespace almanac::tools;

TEST_CASE("endpoints parse from HOST:PORT", "[tools]") {
  auto e = parse_endpoint("127.0.0.1:7317");
  REQUIRE(e.ok());
  CHECK(e->host == "127.0.0.1");
  CHECK(e->port == 7317);
  CHECK(parse_endpoint(":0")->host == "127.0.0.1");
  CHECK(parse_endpoint("[::1]:80")->host == "::1");
  CHECK_FALSE(parse_endpoint("localhost").ok());
  CHECK_FALSE(parse_endpoint("localhost:70000").ok());
  CHECK_FALSE(parse_endpoint("localhost:x").ok());
}

TEST_CASE("only loopback addresses count as loopback", "[tools]") {
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("127.1.2.3"));
  CHECK(is_loopback("::1"));
  CHECK(is_loopback("localhost"));
  CHECK_FALSE(is_loopback("0.0.0.0"));
  CHECK_FALSE(is_loopback("10.0.0.1"));
  CHECK_FALSE(is_loopback("::"));
  // A name that only looks like a loopback address resolves wherever its owner likes.
  CHECK_FALSE(is_loopback("127.0.0.1.evil.example"));
  CHECK_FALSE(is_loopback("127.evil.example"));
  CHECK_FALSE(is_loopback("127."));
  CHECK_FALSE(is_loopback("1270.0.0.1"));
  CHECK(is_loopback("127.255.255.254"));
  CHECK(is_loopback("0:0:0:0:0:0:0:1"));
}

TEST_CASE("secrets compare equal only when identical", "[tools]") {
  CHECK(constant_time_equal("s3cret", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cre", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cret!", "s3cret"));
  CHECK_FALSE(constant_time_equal("S3cret", "s3cret"));
  CHECK_FALSE(constant_time_equal("", "s3cret"));
  CHECK(constant_time_equal("", ""));
}
