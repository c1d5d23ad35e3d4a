#include <almanac/time.hpp>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <cstdio>
#include <limits>

namespace almanac {

namespace {

using seconds_point = cctz::time_point<cctz::seconds>;

error bad_instant(std::string_view text, std::string_view why) {
  return fail(errc::invalid_input, "invalid instant '" + std::string{text} + "': "
                                     + std::string{why}
                                     + " (expected e.g. 2026-03-08T07:30:00Z)");
}

error bad_duration(std::string_view text, std::string_view why) {
  return fail(errc::invalid_input, "invalid duration '" + std::string{text} + "': "
                                     + std::string{why} + " (expected e.g. 90s, 250ms, 1h30m)");
}

bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (int i = 0; i < n; ++i) {
    char ch = s[pos + i];
    if (!is_digit(ch))
      return false;
    out = out * 10 + (ch - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char ch) {
  if (pos >= s.size() || s[pos] != ch)
    return false;
  ++pos;
  return true;
}

struct unit {
  std::string_view name;
  std::int64_t us;
};

// Longest names first, so "ms" is not read as "m".
constexpr unit units[] = {{"us", 1},
                          {"ms", 1000},
                          {"s", 1000000},
                          {"m", 60 * 1000000LL},
                          {"h", 3600 * 1000000LL},
                          {"d", 86400 * 1000000LL}};

} // namespace

std::string format_instant(instant t) {
  auto secs = std::chrono::floor<cctz::seconds>(t);
  auto micros = (t - secs).count();
  auto cs = cctz::convert(seconds_point{secs.time_since_epoch()}, cctz::utc_time_zone());
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d",
                        static_cast<long long>(cs.year()), cs.month(), cs.day(), cs.hour(),
                        cs.minute(), cs.second());
  std::string out(buf, static_cast<std::size_t>(n));
  if (micros != 0) {
    if (micros % 1000 == 0)
      std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(micros / 1000));
    else
      std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(micros));
    out += buf;
  }
  out += 'Z';
  return out;
}

result<instant> parse_instant(std::string_view text) {
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(text, pos, 4, y) || !expect(text, pos, '-') || !digits(text, pos, 2, mo)
      || !expect(text, pos, '-') || !digits(text, pos, 2, d))
    return bad_instant(text, "malformed date");
  if (!expect(text, pos, 'T'))
    return bad_instant(text, "missing 'T' between date and time");
  if (!digits(text, pos, 2, h) || !expect(text, pos, ':') || !digits(text, pos, 2, mi)
      || !expect(text, pos, ':') || !digits(text, pos, 2, s))
    return bad_instant(text, "malformed time of day");
  cctz::civil_second cs(y, mo, d, h, mi, s);
  // civil_second normalizes (Feb 30 -> Mar 2): a field that moved was out of range.
  if (mo < 1 || mo > 12 || cs.year() != y || cs.month() != mo || cs.day() != d || h > 23
      || mi > 59 || s > 59)
    return bad_instant(text, "date or time field out of range");
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (n == 6)
        return bad_instant(text, "more than 6 fractional digits");
      micros = micros * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0)
      return bad_instant(text, "no digits after '.'");
    for (; n < 6; ++n)
      micros *= 10;
  }
  std::int64_t offset = 0;
  if (pos < text.size() && text[pos] == 'Z') {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!digits(text, pos, 2, oh) || !expect(text, pos, ':') || !digits(text, pos, 2, om)
        || oh > 23 || om > 59)
      return bad_instant(text, "malformed offset, expected +hh:mm");
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad_instant(text, "missing zone designator 'Z' or +hh:mm");
  }
  if (pos != text.size())
    return bad_instant(text, "trailing characters");
  auto secs = cctz::convert(cs, cctz::utc_time_zone()) - cctz::seconds{offset};
  return instant{std::chrono::duration_cast<duration>(secs.time_since_epoch())
                 + duration{micros}};
}

result<duration> parse_duration(std::string_view text) {
  if (text.empty())
    return bad_duration(text, "empty");
  if (text.front() == '-')
    return bad_duration(text, "negative");
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos]))
      return bad_duration(text, "expected a number at '" + std::string{text.substr(pos)} + "'");
    std::int64_t n = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, text[pos] - '0', &n))
        return bad_duration(text, "too large");
      ++pos;
    }
    const unit* found = nullptr;
    for (const auto& u : units)
      if (text.substr(pos, u.name.size()) == u.name) {
        // "m" must not swallow the "m" of "ms".
        if (!found || u.name.size() > found->name.size())
          found = &u;
      }
    if (found == nullptr) {
      if (pos == text.size())
        return bad_duration(text, "missing unit (us, ms, s, m, h, d)");
      return bad_duration(text, "unknown unit at '" + std::string{text.substr(pos)}
                                  + "' (us, ms, s, m, h, d)");
    }
    pos += found->name.size();
    std::int64_t part = 0;
    if (__builtin_mul_overflow(n, found->us, &part) || __builtin_add_overflow(total, part, &total))
      return bad_duration(text, "too large");
  }
  return duration{total};
}

std::string format_duration(duration d) {
  std::int64_t us = d.count();
  if (us == 0)
    return "0s";
  std::string out;
  std::uint64_t rest;
  if (us < 0) {
    out += '-';
    rest = static_cast<std::uint64_t>(-(us + 1)) + 1;
  } else {
    rest = static_cast<std::uint64_t>(us);
  }
  for (auto i = std::size(units); i-- > 0;) {
    auto size = static_cast<std::uint64_t>(units[i].us);
    if (rest >= size) {
      out += std::to_string(rest / size);
      out += units[i].name;
      rest %= size;
    }
  }
  return out;
}

} // namespace almanac
