#include <almanac/schedule.hpp>

#include "schedule/cron.hpp"
#include "schedule/zone.hpp"

#include <almanac/time.hpp>

#include <mutex>
#include <string>
#include <unordered_map>

namespace almanac {

namespace {

// Compiled cron forms shared by (zone, expression). Entries are weak so that forms no job uses
// any more can go; expired entries are swept whenever the table has doubled since the last sweep.
class cron_interner {
public:
  std::shared_ptr<const cron_expr> find(const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = table_.find(key); i != table_.end())
      return i->second.lock();
    return nullptr;
  }

  std::shared_ptr<const cron_expr> insert(const std::string& key,
                                          std::shared_ptr<const cron_expr> compiled) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& slot = table_[key];
    // Another thread may have compiled the same expression meanwhile: keep one form.
    if (auto existing = slot.lock())
      return existing;
    slot = compiled;
    if (table_.size() >= 2 * swept_size_) {
      std::erase_if(table_, [](const auto& kv) { return kv.second.expired(); });
      swept_size_ = std::max<std::size_t>(table_.size(), 1024);
    }
    return compiled;
  }

private:
  std::mutex mtx_;
  std::unordered_map<std::string, std::weak_ptr<const cron_expr>> table_;
  std::size_t swept_size_ = 1024;
};

cron_interner& interner() {
  static cron_interner instance;
  return instance;
}

std::string quoted_cron(std::string_view expr, std::string_view zone) {
  return "cron '" + std::string{expr} + "' " + std::string{zone};
}

result<void> check_interval(duration interval) {
  if (interval <= duration::zero())
    return fail(errc::invalid_schedule,
                "every: interval " + format_duration(interval) + " is not positive");
  if (interval > max_interval)
    return fail(errc::invalid_schedule, "every: interval " + format_duration(interval)
                                          + " is longer than the maximum "
                                          + format_duration(max_interval));
  return {};
}

std::optional<instant> next_every(const every_schedule& e, instant after) {
  if (e.interval <= duration::zero())
    return std::nullopt;
  if (e.mode == every_anchor::after_run_end)
    return after + e.interval;
  auto first = e.anchor + e.interval;
  if (after < first)
    return first;
  // k >= 2: the smallest grid point strictly after `after`.
  auto k = (after - e.anchor) / e.interval + 1;
  return e.anchor + k * e.interval;
}

} // namespace

result<cron_schedule> make_cron(std::string_view expr, std::string_view zone) {
  auto tz = load_zone(zone);
  if (!tz)
    return std::move(tz).err();
  std::string key;
  key.reserve(zone.size() + 1 + expr.size());
  key.append(zone).append(1, '\n').append(expr);
  cron_schedule out;
  out.expr = std::string{expr};
  out.zone = std::string{zone};
  if (auto hit = interner().find(key)) {
    out.compiled = std::move(hit);
    return out;
  }
  auto parsed = parse_cron(expr);
  if (!parsed)
    return std::move(parsed).err();
  if (!ever_fires(*parsed))
    return fail(errc::invalid_schedule, quoted_cron(expr, zone) + " never fires");
  parsed->zone = *tz;
  out.compiled = interner().insert(key, std::make_shared<const cron_expr>(std::move(*parsed)));
  return out;
}

result<every_schedule> make_every(duration interval, instant anchor, every_anchor mode) {
  if (auto ok = check_interval(interval); !ok)
    return std::move(ok).err();
  return every_schedule{interval, anchor, mode};
}

std::optional<instant> next_after(const schedule& s, instant after) {
  struct visitor {
    instant after;
    std::optional<instant> operator()(const at_schedule& a) const {
      if (a.at > after)
        return a.at;
      return std::nullopt;
    }
    std::optional<instant> operator()(const every_schedule& e) const {
      return next_every(e, after);
    }
    std::optional<instant> operator()(const cron_schedule& c) const {
      if (c.compiled)
        return next_fire(*c.compiled, after);
      // Not compiled (built by hand, or read back without compile()): compile through the
      // interner; an expression that does not compile never fires.
      auto made = make_cron(c.expr, c.zone);
      if (!made)
        return std::nullopt;
      return next_fire(*made->compiled, after);
    }
  };
  return std::visit(visitor{after}, s);
}

result<void> validate_new(const schedule& s, instant now) {
  struct visitor {
    instant now;
    result<void> operator()(const at_schedule& a) const {
      if (a.at <= now)
        return fail(errc::invalid_schedule, "at " + format_instant(a.at) + " is in the past");
      return {};
    }
    result<void> operator()(const every_schedule& e) const { return check_interval(e.interval); }
    result<void> operator()(const cron_schedule& c) const {
      auto made = make_cron(c.expr, c.zone);
      if (!made)
        return std::move(made).err();
      return {};
    }
  };
  return std::visit(visitor{now}, s);
}

result<void> compile(schedule& s) {
  auto* c = std::get_if<cron_schedule>(&s);
  if (c == nullptr)
    return {};
  auto made = make_cron(c->expr, c->zone);
  if (!made)
    return std::move(made).err();
  c->compiled = std::move(made->compiled);
  return {};
}

std::string describe(const schedule& s) {
  struct visitor {
    std::string operator()(const at_schedule& a) const { return "at " + format_instant(a.at); }
    std::string operator()(const every_schedule& e) const {
      auto text = "every " + format_duration(e.interval);
      if (e.mode == every_anchor::after_run_end)
        text += " after run end";
      return text;
    }
    std::string operator()(const cron_schedule& c) const { return quoted_cron(c.expr, c.zone); }
  };
  return std::visit(visitor{}, s);
}

} // namespace almanac
