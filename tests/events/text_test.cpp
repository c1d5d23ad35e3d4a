// Client text that operators read back: valid UTF-8, no control characters, printable escapes.
#include <almanac/text.hpp>

#include <catch2/catch.hpp>

namespace almanac {
namespace {

TEST_CASE("valid utf8 is told from overlong, surrogate and truncated forms", "[events]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("Zürich \xe2\x82\xac \xf0\x9f\x95\x92"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xc3"));                 // truncated
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));             // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));         // a surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));     // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("ok\x80"));               // a stray continuation byte
}

TEST_CASE("control characters are found and layout may be allowed", "[events]") {
  CHECK(has_control("a\x1b[2J"));
  CHECK(has_control("del\x7f"));
  CHECK(has_control("two\nlines"));
  CHECK_FALSE(has_control("two\nlines\tand a tab", true));
  CHECK(has_control("bell\a", true));
  CHECK_FALSE(has_control("Zürich"));
}

TEST_CASE("printable escapes control characters and invalid bytes only", "[events]") {
  CHECK(printable("ok") == "ok");
  CHECK(printable("Zürich") == "Zürich");
  CHECK(printable("a\x1b[2Jb") == "a\\x1b[2Jb");
  CHECK(printable("x\xffy") == "x\\xffy");
  CHECK(printable("back\\slash") == "back\\\\slash");
  CHECK(printable("line\n") == "line\\x0a");
}

TEST_CASE("invalid utf8 becomes the replacement character", "[events]") {
  CHECK(to_valid_utf8("ok") == "ok");
  CHECK(to_valid_utf8("a\xff" "b") == "a\xef\xbf\xbd" "b");
  CHECK(to_valid_utf8("\xc3") == "\xef\xbf\xbd");
  CHECK(is_valid_utf8(to_valid_utf8("\xf0\x9f\x95")));
}

} // namespace
} // namespace almanac
