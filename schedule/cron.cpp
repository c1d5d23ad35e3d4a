#include "schedule/cron.hpp"

#include "schedule/zone.hpp"

#include <bit>
#include <cctype>
#include <string>
#include <vector>

namespace almanac {

namespace {

// --- parsing -------------------------------------------------------------------------------

enum class field_id { second, minute, hour, day_of_month, month, day_of_week };

struct field_spec {
  field_id id;
  std::string_view name;
  int lo;
  int hi;
  // Three-letter names for lo, lo+1, ...; empty when the field has none.
  std::string_view names[12];
};

constexpr field_spec second_spec{field_id::second, "second", 0, 59, {}};
constexpr field_spec minute_spec{field_id::minute, "minute", 0, 59, {}};
constexpr field_spec hour_spec{field_id::hour, "hour", 0, 23, {}};
constexpr field_spec dom_spec{field_id::day_of_month, "day-of-month", 1, 31, {}};
constexpr field_spec month_spec{field_id::month, "month", 1, 12,
                                {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP",
                                 "OCT", "NOV", "DEC"}};
constexpr field_spec dow_spec{field_id::day_of_week, "day-of-week", 0, 7,
                              {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}};

// One field being parsed: its spec, its whole text (for messages) and the matching set.
struct field_parser {
  const field_spec& spec;
  std::string_view text;
  std::uint64_t bits = 0;
  bool last_day = false;
  std::uint8_t last_weekdays = 0;
  std::array<std::uint8_t, 7> nth_weekdays{};

  error bad(const std::string& reason) const {
    return fail(errc::invalid_schedule, "cron " + std::string{spec.name} + ": " + reason);
  }

  static bool is_alpha(char ch) { return std::isalpha(static_cast<unsigned char>(ch)) != 0; }
  static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

  // Reads a number or a name at `pos`. Names are case-insensitive.
  result<int> value(std::string_view item, std::size_t& pos) const {
    if (pos >= item.size())
      return bad("missing value in '" + std::string{item} + "'");
    if (is_digit(item[pos])) {
      std::size_t start = pos;
      long v = 0;
      while (pos < item.size() && is_digit(item[pos])) {
        if (v < 1000000)
          v = v * 10 + (item[pos] - '0');
        ++pos;
      }
      if (v < spec.lo || v > spec.hi)
        return bad(std::string{item.substr(start, pos - start)} + " is outside "
                   + std::to_string(spec.lo) + "-" + std::to_string(spec.hi));
      return static_cast<int>(v);
    }
    if (is_alpha(item[pos])) {
      std::size_t start = pos;
      if (!spec.names[0].empty() && pos + 3 <= item.size()) {
        for (int i = 0; i < 12 && !spec.names[i].empty(); ++i) {
          bool same = true;
          for (std::size_t k = 0; k < 3; ++k)
            same = same && std::toupper(static_cast<unsigned char>(item[pos + k]))
                             == spec.names[i][k];
          // "FRIL" is FRI + L; "FRIDAY" is not a name.
          if (same && (pos + 3 == item.size() || !is_alpha(item[pos + 3])
                       || (spec.id == field_id::day_of_week && pos + 4 == item.size()
                           && std::toupper(static_cast<unsigned char>(item[pos + 3])) == 'L'))) {
            pos += 3;
            return spec.lo + i;
          }
        }
      }
      while (pos < item.size() && is_alpha(item[pos]))
        ++pos;
      auto word = std::string{item.substr(start, pos - start)};
      if (spec.names[0].empty())
        return bad("unexpected '" + word + "' in '" + std::string{item} + "', expected a number");
      return bad("unknown name '" + word + "'");
    }
    return bad("unexpected '" + std::string{item.substr(pos)} + "' in '" + std::string{item}
               + "'");
  }

  error junk(std::string_view item, std::size_t pos) const {
    return bad("unexpected '" + std::string{item.substr(pos)} + "' after '"
               + std::string{item.substr(0, pos)} + "'");
  }

  void set(int v) {
    // Sunday is 0 or 7.
    if (spec.id == field_id::day_of_week && v == 7)
      v = 0;
    bits |= std::uint64_t{1} << v;
  }

  result<void> item(std::string_view item) {
    if (item.empty())
      return bad("empty list item in '" + std::string{text} + "'");
    if (spec.id == field_id::day_of_month && (item == "L" || item == "l")) {
      last_day = true;
      return {};
    }
    std::size_t pos = 0;
    int lo = spec.lo;
    int hi = spec.hi;
    bool single = false;
    if (item[0] == '*') {
      pos = 1;
    } else {
      auto a = value(item, pos);
      if (!a)
        return std::move(a).err();
      lo = *a;
      if (spec.id == field_id::day_of_week && pos < item.size()
          && (item[pos] == 'L' || item[pos] == 'l' || item[pos] == '#'))
        return weekday_rule(item, pos, *a);
      if (pos < item.size() && item[pos] == '-') {
        ++pos;
        auto b = value(item, pos);
        if (!b)
          return std::move(b).err();
        hi = *b;
        if (hi < lo)
          return bad("range " + std::string{item.substr(0, pos)} + " is reversed");
      } else {
        single = true;
      }
    }
    int step = 1;
    if (pos < item.size() && item[pos] == '/') {
      ++pos;
      if (pos >= item.size() || !is_digit(item[pos]))
        return bad("step missing in '" + std::string{item} + "'");
      long s = 0;
      while (pos < item.size() && is_digit(item[pos])) {
        if (s < 1000000)
          s = s * 10 + (item[pos] - '0');
        ++pos;
      }
      if (s == 0)
        return bad("step 0 in '" + std::string{item} + "', a step must be at least 1");
      if (s > spec.hi - spec.lo + 1 && s > 1)
        return bad("step " + std::to_string(s) + " in '" + std::string{item}
                   + "' is larger than the field's range "
                   + std::to_string(spec.lo) + "-" + std::to_string(spec.hi));
      step = static_cast<int>(s);
      // "N/S" means N through the field's maximum, every S.
      if (single)
        hi = spec.hi;
      single = false;
    }
    if (pos != item.size())
      return junk(item, pos);
    if (single)
      hi = lo;
    for (int v = lo; v <= hi; v += step)
      set(v);
    return {};
  }

  // `nL` (last weekday n of the month) and `n#k` (k-th weekday n), day-of-week only.
  result<void> weekday_rule(std::string_view item, std::size_t pos, int weekday) {
    if (weekday == 7)
      weekday = 0;
    if (item[pos] == 'L' || item[pos] == 'l') {
      ++pos;
      if (pos != item.size())
        return junk(item, pos);
      last_weekdays |= static_cast<std::uint8_t>(1u << weekday);
      return {};
    }
    ++pos; // '#'
    if (pos >= item.size() || !is_digit(item[pos]))
      return bad(std::string{"'"}.append(item).append("' needs an occurrence 1-5 after '#'"));
    std::size_t start = pos;
    int k = 0;
    while (pos < item.size() && is_digit(item[pos])) {
      if (k < 1000)
        k = k * 10 + (item[pos] - '0');
      ++pos;
    }
    if (k < 1 || k > 5)
      return bad(std::string{"#"}.append(item.substr(start, pos - start)).append(" is outside 1-5"));
    if (pos != item.size())
      return junk(item, pos);
    nth_weekdays[weekday] |= static_cast<std::uint8_t>(1u << (k - 1));
    return {};
  }

  result<void> parse() {
    if (text == "?") {
      if (spec.id != field_id::day_of_month && spec.id != field_id::day_of_week)
        return bad("'?' is only allowed in day-of-month and day-of-week");
      text = "*";
    }
    std::size_t start = 0;
    for (;;) {
      auto comma = text.find(',', start);
      auto r = item(text.substr(start, comma == text.npos ? text.npos : comma - start));
      if (!r)
        return r;
      if (comma == text.npos)
        break;
      start = comma + 1;
    }
    return {};
  }
};

// `*` and `?` leave a day field unrestricted; anything else (`*/2` included) restricts it, as
// the vectors of docs/SCHEDULE_RULES.md (cron-parser and croner) agree.
bool restricts(std::string_view field) { return field != "*" && field != "?"; }

std::string_view expand_nickname(std::string_view nick) {
  std::string lower;
  for (char ch : nick)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "@yearly" || lower == "@annually")
    return "0 0 1 1 *";
  if (lower == "@monthly")
    return "0 0 1 * *";
  if (lower == "@weekly")
    return "0 0 * * 0";
  if (lower == "@daily" || lower == "@midnight")
    return "0 0 * * *";
  if (lower == "@hourly")
    return "0 * * * *";
  return {};
}

// --- matching ------------------------------------------------------------------------------

int days_in_month(std::int64_t y, int m) {
  static constexpr int days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return days[m] + (m == 2 && leap ? 1 : 0);
}

// Cron weekday (Sunday 0) of a civil day.
int cron_weekday(const cctz::civil_day& d) {
  // cctz counts Monday as 0.
  return (static_cast<int>(cctz::get_weekday(d)) + 1) % 7;
}

// Bits 1..31: the days of month (y, m) that match the day-of-month and day-of-week fields.
std::uint32_t day_mask(const cron_expr& c, std::int64_t y, int m) {
  int dim = days_in_month(y, m);
  std::uint32_t valid = static_cast<std::uint32_t>(((std::uint64_t{1} << (dim + 1)) - 1) & ~1ull);
  if (!c.days_restricted && !c.weekdays_restricted)
    return valid;
  std::uint32_t dom = 0;
  if (c.days_restricted) {
    dom = c.days;
    if (c.last_day)
      dom |= 1u << dim;
  }
  std::uint32_t dow = 0;
  if (c.weekdays_restricted) {
    int first = cron_weekday(cctz::civil_day(y, m, 1));
    // Days 1, 8, 15, 22, 29 share the weekday of the 1st.
    constexpr std::uint32_t weekly = (1u << 1) | (1u << 8) | (1u << 15) | (1u << 22) | (1u << 29);
    for (int w = 0; w < 7; ++w) {
      int offset = (w - first + 7) % 7; // first day with weekday w, minus 1
      if (c.weekdays & (1u << w))
        dow |= weekly << offset;
      if (c.last_weekdays & (1u << w)) {
        int last_wd = (first + dim - 1) % 7;
        dow |= 1u << (dim - (last_wd - w + 7) % 7);
      }
      for (int k = 0; k < 5; ++k)
        if (c.nth_weekdays[w] & (1u << k))
          if (int d = 1 + offset + 7 * k; d <= dim)
            dow |= 1u << d;
    }
  }
  std::uint32_t days = c.days_restricted && c.weekdays_restricted ? (dom | dow)
                       : c.days_restricted                        ? dom
                                                                  : dow;
  return days & valid;
}

// Smallest set bit >= from, or -1.
template <class Bits>
int next_bit(Bits bits, int from) {
  if (from >= static_cast<int>(sizeof(Bits) * 8))
    return -1;
  Bits rest = static_cast<Bits>(bits >> from);
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

// The first matching time of day >= h:mi:s, as seconds since midnight, or -1.
int next_time_of_day(const cron_expr& c, int h, int mi, int s) {
  for (;;) {
    int hh = next_bit(c.hours, h);
    if (hh < 0)
      return -1;
    if (hh != h) {
      h = hh;
      mi = s = 0;
    }
    int mm = next_bit(c.minutes, mi);
    if (mm < 0) {
      ++h;
      mi = s = 0;
      continue;
    }
    if (mm != mi) {
      mi = mm;
      s = 0;
    }
    int ss = next_bit(c.seconds, s);
    if (ss < 0) {
      ++mi;
      s = 0;
      continue;
    }
    return h * 3600 + mi * 60 + ss;
  }
}

// 400 years repeat the Gregorian calendar (weekdays included); one more covers a partial start.
constexpr int search_months = 401 * 12;

using seconds_point = cctz::time_point<cctz::seconds>;

seconds_point to_seconds(instant t) {
  return std::chrono::floor<cctz::seconds>(t);
}

} // namespace

bool cron_expr::matches(const cctz::civil_second& t) const {
  if (!(seconds >> t.second() & 1) || !(minutes >> t.minute() & 1) || !(hours >> t.hour() & 1)
      || !(months >> t.month() & 1))
    return false;
  return day_mask(*this, t.year(), t.month()) >> t.day() & 1;
}

result<cron_expr> parse_cron(std::string_view text) {
  auto is_space = [](char ch) { return ch == ' ' || ch == '\t'; };
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  if (!text.empty() && text.front() == '@') {
    auto expanded = expand_nickname(text);
    if (expanded.empty())
      return fail(errc::invalid_schedule,
                  "cron: unknown nickname '" + std::string{text}
                    + "' (known: @yearly @annually @monthly @weekly @daily @midnight @hourly)");
    text = expanded;
  }
  std::vector<std::string_view> fields;
  for (std::size_t i = 0; i < text.size();) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && !is_space(text[i]))
      ++i;
    fields.push_back(text.substr(start, i - start));
  }
  if (fields.size() != 5 && fields.size() != 6)
    return fail(errc::invalid_schedule,
                "cron: expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
                "(with a leading second), got "
                  + std::to_string(fields.size()) + " in '" + std::string{text} + "'");
  if (fields.size() == 5)
    fields.insert(fields.begin(), "0");
  static constexpr const field_spec* specs[6] = {&second_spec, &minute_spec, &hour_spec,
                                                 &dom_spec,    &month_spec,  &dow_spec};
  cron_expr out;
  for (std::size_t i = 0; i < 6; ++i) {
    field_parser p{*specs[i], fields[i]};
    if (auto r = p.parse(); !r)
      return std::move(r).err();
    switch (specs[i]->id) {
      case field_id::second: out.seconds = p.bits; break;
      case field_id::minute: out.minutes = p.bits; break;
      case field_id::hour: out.hours = static_cast<std::uint32_t>(p.bits); break;
      case field_id::day_of_month:
        out.days = static_cast<std::uint32_t>(p.bits);
        out.last_day = p.last_day;
        out.days_restricted = restricts(fields[i]);
        break;
      case field_id::month: out.months = static_cast<std::uint16_t>(p.bits); break;
      case field_id::day_of_week:
        out.weekdays = static_cast<std::uint8_t>(p.bits);
        out.last_weekdays = p.last_weekdays;
        out.nth_weekdays = p.nth_weekdays;
        out.weekdays_restricted = restricts(fields[i]);
        break;
    }
  }
  out.every_hour = out.hours == (1u << 24) - 1;
  return out;
}

std::optional<cctz::civil_second> next_match(const cron_expr& c, cctz::civil_second from) {
  std::int64_t y = from.year();
  int m = from.month();
  int d = from.day();
  int h = from.hour();
  int mi = from.minute();
  int s = from.second();
  for (int visited = 0; visited < search_months; ++visited) {
    if (c.months >> m & 1) {
      std::uint32_t days = day_mask(c, y, m);
      for (int dd = next_bit(days, d); dd >= 0; dd = next_bit(days, dd + 1)) {
        if (dd != d) {
          d = dd;
          h = mi = s = 0;
        }
        if (int t = next_time_of_day(c, h, mi, s); t >= 0)
          return cctz::civil_second(y, m, d, t / 3600, t / 60 % 60, t % 60);
        h = mi = s = 0;
      }
    }
    d = 1;
    h = mi = s = 0;
    if (++m > 12) {
      m = 1;
      ++y;
    }
  }
  return std::nullopt;
}

bool ever_fires(const cron_expr& c) {
  return next_match(c, cctz::civil_second(2000, 1, 1, 0, 0, 0)).has_value();
}

std::optional<instant> next_fire(const cron_expr& c, instant after) {
  const cctz::time_zone& zone = c.zone;
  // Fires fall on whole seconds, so the earliest possible one is the next whole second.
  const seconds_point earliest = to_seconds(after) + cctz::seconds{1};
  std::optional<seconds_point> best;
  auto consider = [&](instant t) {
    auto s = to_seconds(t);
    if (s >= earliest && (!best || s < *best))
      best = s;
  };
  auto answer = [&]() -> std::optional<instant> {
    if (!best)
      return std::nullopt;
    return instant{std::chrono::duration_cast<duration>(best->time_since_epoch())};
  };
  const cctz::civil_second local = cctz::convert(earliest, zone);
  cctz::time_zone::civil_transition tr;

  // Just past a gap: skipped wall-clock times fire with the pre-gap offset (docs/SCHEDULE_RULES.md DST rule 1),
  // so their instants lie after the gap's start although their wall-clock times lie before
  // `local`. Read `earliest` with the pre-gap offset and look there.
  if (zone.prev_transition(earliest + cctz::seconds{1}, &tr) && tr.to > tr.from) {
    auto gap = tr.to - tr.from;
    auto trans = zone.lookup(tr.to).pre;
    if (earliest < trans + cctz::seconds{gap}) {
      auto m = next_match(c, tr.from + (earliest - trans).count());
      if (m && *m < tr.to)
        consider(resolve(zone, *m).first);
    }
  }
  // Inside the first pass of a repeat, for an every-hour job: the second occurrences of the
  // repeated times already passed on the wall clock are still ahead on the time line (rule 2).
  if (c.every_hour && zone.next_transition(earliest, &tr) && tr.to < tr.from
      && local >= tr.to) {
    auto m = next_match(c, tr.to);
    if (m && *m < tr.from)
      consider(resolve(zone, *m).second);
  }

  // Matching wall-clock times in order. Instants only grow with the wall clock except across a
  // gap (a skipped time fires after the earlier-looking times that follow the gap) and in a
  // repeat (second occurrences): each case below jumps past the region, so this runs at most a
  // few rounds.
  cctz::civil_second from = local;
  for (int round = 0; round < 8; ++round) {
    auto m = next_match(c, from);
    if (!m)
      break;
    auto w = resolve(zone, *m);
    switch (w.kind) {
      case wall_kind::unique:
        consider(w.first);
        return answer();
      case wall_kind::skipped:
        // Later skipped times fire later; the times after the gap may fire earlier.
        consider(w.first);
        from = *m + std::chrono::duration_cast<cctz::seconds>(w.transition - w.second).count();
        break;
      case wall_kind::repeated:
        if (to_seconds(w.first) >= earliest) {
          consider(w.first);
          return answer();
        }
        // `earliest` lies in the second pass: the first occurrences are behind us.
        if (c.every_hour) {
          consider(w.second);
          return answer();
        }
        from = *m + std::chrono::duration_cast<cctz::seconds>(w.transition - w.first).count();
        break;
    }
  }
  return answer();
}

} // namespace almanac
