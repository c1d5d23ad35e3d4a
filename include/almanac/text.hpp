// Text that clients hand in and operators read back: job names, actors, notes, and error
// messages that quote what was sent. Whatever reaches a terminal must not drive it (an ESC
// sequence in an actor recolours or rewrites an operator's screen), and JSON output needs valid
// UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace almanac {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

// True when `text` holds a C0 control character or DEL; with allow_layout, newline and tab are
// allowed.
bool has_control(std::string_view text, bool allow_layout = false) noexcept;

// `text` safe to print: control characters, DEL and bytes that are not part of valid UTF-8
// become \xNN, a backslash becomes \\; valid UTF-8 passes unchanged.
//   printable("ok\x1b[2J")  -> "ok\x1b[2J" spelled with a literal backslash
std::string printable(std::string_view text);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD: run output and
// error texts come from programs and may hold anything, and every JSON copy of them needs
// valid UTF-8.
std::string to_valid_utf8(std::string_view text);

} // namespace almanac
