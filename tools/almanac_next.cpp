#include "tools/almanac_next.hpp"

#include <almanac/schedule.hpp>

#include <almanac/time.hpp>

#include <charconv>
#include <chrono>
#include <iostream>
#include <memory>
#include <string_view>
#include <vector>

namespace almanac::tools {

namespace {

result<int> parse_count(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > max_count)
    return fail(errc::invalid_input, "count '" + std::string{text} + "' is not a number 1-"
                                       + std::to_string(max_count));
  return n;
}

std::vector<instant> next_fires(const schedule& s, instant from, int count) {
  std::vector<instant> out;
  for (int i = 0; i < count; ++i) {
    auto next = next_after(s, from);
    if (!next)
      break;
    out.push_back(*next);
    from = *next;
  }
  return out;
}

result<instant> parse_from(const std::optional<std::string>& from) {
  if (!from)
    return std::chrono::floor<duration>(std::chrono::system_clock::now());
  return parse_instant(*from);
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> cols;
  for (;;) {
    auto tab = line.find('\t');
    cols.push_back(line.substr(0, tab));
    if (tab == line.npos)
      return cols;
    line.remove_prefix(tab + 1);
  }
}

// One batch line: the fires joined by commas, or the error.
result<std::string> batch_line(std::string_view line) {
  auto cols = split_tabs(line);
  if (cols.size() != 4)
    return fail(errc::invalid_input, "expected 4 tab-separated fields expr, tz, from, count; got "
                                       + std::to_string(cols.size()));
  auto count = parse_count(cols[3]);
  if (!count)
    return std::move(count).err();
  auto from = parse_instant(cols[2]);
  if (!from)
    return std::move(from).err();
  auto cron = make_cron(cols[0], cols[1].empty() ? std::string_view{"UTC"} : cols[1]);
  if (!cron)
    return std::move(cron).err();
  std::string joined;
  for (auto t : next_fires(*cron, *from, *count)) {
    if (!joined.empty())
      joined += ',';
    joined += format_instant(t);
  }
  return joined;
}

int run_batch(std::istream& in, std::ostream& out) {
  int rc = exit_ok;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line.front() == '#')
      continue;
    if (auto r = batch_line(line)) {
      out << *r << '\n';
    } else {
      out << "error: " << r.err().message << '\n';
      rc = exit_line_failed;
    }
  }
  return rc;
}

result<schedule> build_schedule(const next_options& opts, instant from) {
  if (opts.cron) {
    auto c = make_cron(*opts.cron, opts.tz);
    if (!c)
      return std::move(c).err();
    return schedule{std::move(*c)};
  }
  if (opts.every) {
    auto interval = parse_duration(*opts.every);
    if (!interval)
      return std::move(interval).err();
    auto e = make_every(*interval, from);
    if (!e)
      return std::move(e).err();
    return schedule{*e};
  }
  if (opts.at) {
    auto at = parse_instant(*opts.at);
    if (!at)
      return std::move(at).err();
    return schedule{at_schedule{*at}};
  }
  return fail(errc::invalid_input, "give one of --cron, --every, --at or --batch");
}

} // namespace

int run_next(const next_options& opts, std::istream& in, std::ostream& out, std::ostream& err) {
  if (opts.batch)
    return run_batch(in, out);
  if (opts.count < 1 || opts.count > max_count) {
    err << "almanac next: --count " << opts.count << " is not a number 1-" << max_count << '\n';
    return exit_bad_input;
  }
  auto from = parse_from(opts.from);
  if (!from) {
    err << "almanac next: --from: " << from.err().message << '\n';
    return exit_bad_input;
  }
  auto s = build_schedule(opts, *from);
  if (!s) {
    err << "almanac next: " << s.err().message << '\n';
    return exit_bad_input;
  }
  auto fires = next_fires(*s, *from, opts.count);
  for (auto t : fires)
    out << format_instant(t) << '\n';
  if (fires.empty())
    err << "almanac next: " << describe(*s) << " does not fire after " << format_instant(*from)
        << '\n';
  return exit_ok;
}

void add_next_command(CLI::App& app) {
  auto opts = std::make_shared<next_options>();
  auto* cmd = app.add_subcommand("next", "Print the next fire times of a schedule (UTC, one a line)");
  cmd->footer("Examples:\n"
              "  almanac next --cron '30 2 * * *' --tz America/New_York "
              "--from 2026-03-07T12:00:00Z --count 3\n"
              "  almanac next --every 90s --from 2026-03-07T12:00:00Z\n"
              "  printf '30 2 * * *\\tEurope/Berlin\\t2026-03-28T12:00:00Z\\t3\\n' | "
              "almanac next --batch\n");
  auto* cron = cmd->add_option("--cron", opts->cron, "Cron expression (5 or 6 fields, or @daily...)");
  auto* tz = cmd->add_option("--tz", opts->tz, "IANA zone of the cron's wall clock")
               ->capture_default_str();
  auto* every = cmd->add_option("--every", opts->every, "Interval (90s, 5m, 1h30m), grid anchored at --from");
  auto* at = cmd->add_option("--at", opts->at, "One instant (ISO-8601)");
  auto* from = cmd->add_option("--from", opts->from, "Fires strictly after this instant (ISO-8601; default now)");
  auto* count = cmd->add_option("--count", opts->count, "How many fires")->capture_default_str();
  auto* batch = cmd->add_flag("--batch", opts->batch,
                              "Read expr<TAB>tz<TAB>from<TAB>count lines from stdin; print one "
                              "line each: comma-separated instants or 'error: <reason>'");
  cron->excludes(every)->excludes(at);
  every->excludes(at);
  tz->needs(cron);
  batch->excludes(cron)->excludes(every)->excludes(at)->excludes(tz)->excludes(from)->excludes(
    count);
  cmd->callback([opts] {
    if (!opts->batch && !opts->cron && !opts->every && !opts->at) {
      std::cerr << "almanac next: give one of --cron, --every, --at or --batch\n";
      throw CLI::RuntimeError(exit_bad_input);
    }
    int rc = run_next(*opts, std::cin, std::cout, std::cerr);
    std::cout.flush();
    if (rc != exit_ok)
      throw CLI::RuntimeError(rc);
  });
}

} // namespace almanac::tools
