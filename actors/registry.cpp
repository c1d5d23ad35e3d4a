#include "actors/registry.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace almanac {

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

result<void> registry::begin_create(std::string_view name) {
  if (entries_.size() + creates_pending_ >= max_jobs_)
    return fail(errc::limit_exceeded, "the job cap of " + std::to_string(max_jobs_) +
                                        " jobs is reached (" + std::to_string(entries_.size()) +
                                        " live): delete jobs or raise max_jobs (--max-jobs)");
  auto key = lower(name);
  if (names_.count(key) || names_pending_.count(key))
    return fail(errc::name_taken, "a job named '" + std::string{name} + "' already exists");
  names_pending_.insert(std::move(key));
  ++creates_pending_;
  return {};
}

void registry::end_create(std::string_view name) {
  names_pending_.erase(lower(name));
  --creates_pending_;
}

result<void> registry::begin_rename(job_id job, std::string_view name) {
  auto key = lower(name);
  auto i = names_.find(key);
  if ((i != names_.end() && i->second != job) || names_pending_.count(key))
    return fail(errc::name_taken, "a job named '" + std::string{name} + "' already exists");
  names_pending_.insert(std::move(key));
  return {};
}

void registry::end_rename(std::string_view name) { names_pending_.erase(lower(name)); }

std::optional<std::string> registry::add(job_summary job, instant now) {
  auto id = job.id;
  auto warning = claim_name(job.name, id, job.created_at);
  entries_[id] = registry_entry{std::move(job), now};
  return warning;
}

std::vector<std::string> registry::update(const job_summary& job, instant now) {
  std::vector<std::string> lines;
  auto i = entries_.find(job.id);
  if (i == entries_.end())
    return lines;
  auto& e = i->second;
  auto say = [&](std::optional<std::string> line) {
    if (line)
      lines.push_back(std::move(*line));
  };
  if (job.deleted) {
    say(release_name(e.job.name, job.id));
    entries_.erase(i);
    return lines;
  }
  if (lower(e.job.name) != lower(job.name)) {
    // The new name was reserved by the rename, so nobody else holds it (and if a twin did, it
    // would keep it: the latest instant loses).
    say(release_name(e.job.name, job.id));
    say(claim_name(job.name, job.id, instant::max()));
  }
  auto created_at = e.job.created_at;
  e.job = job;
  e.job.created_at = created_at;
  e.active = now;
  return lines;
}

registry_entry* registry::find(job_id id) {
  auto i = entries_.find(id);
  return i == entries_.end() ? nullptr : &i->second;
}

const registry_entry* registry::find(job_id id) const {
  auto i = entries_.find(id);
  return i == entries_.end() ? nullptr : &i->second;
}

void registry::touch(job_id id, instant now) {
  if (auto* e = find(id))
    e->active = now;
}

result<job_id> registry::resolve(std::string_view text) const {
  if (text.empty())
    return fail(errc::invalid_input, "no job id or name given");
  if (auto id = parse_job_id(std::string{text}); id && entries_.count(*id))
    return *id;
  if (auto id = holder(text))
    return *id;
  return fail(errc::not_found, "no job with id or name '" + std::string{text} + "'");
}

result<job_id> registry::resolve_history(std::string_view text) const {
  auto id = resolve(text);
  if (id)
    return id;
  if (auto parsed = parse_job_id(std::string{text}))
    return *parsed;
  return id;
}

std::optional<job_id> registry::holder(std::string_view name) const {
  if (auto i = names_.find(lower(name)); i != names_.end())
    return i->second;
  return std::nullopt;
}

std::optional<std::string> registry::claim_name(const std::string& name, job_id id,
                                                instant created_at) {
  auto key = lower(name);
  auto [i, added] = names_.emplace(key, id);
  if (added || i->second == id)
    return std::nullopt;
  auto& others = twins_[key];
  if (std::find(others.begin(), others.end(), id) != others.end())
    return std::nullopt;
  auto holder = i->second;
  auto held = entries_.find(holder);
  if (held != entries_.end()
      && std::make_pair(created_at, id) < std::make_pair(held->second.job.created_at, holder)) {
    i->second = id;
    std::swap(id, holder);
  }
  others.push_back(id);
  return "jobs " + to_string(holder) + " and " + to_string(id) + " are both named '" + name +
         "': the name resolves to " + to_string(holder) + " (created first); " + to_string(id) +
         " answers by id only until one of them is renamed or deleted";
}

std::optional<std::string> registry::release_name(const std::string& name, job_id id) {
  auto key = lower(name);
  auto t = twins_.find(key);
  auto i = names_.find(key);
  std::optional<std::string> line;
  if (i != names_.end() && i->second == id) {
    if (t == twins_.end()) {
      names_.erase(i);
      return line;
    }
    i->second = t->second.front();
    t->second.erase(t->second.begin());
    line = "the name '" + name + "' now resolves to job " + to_string(i->second);
  } else if (t != twins_.end()) {
    t->second.erase(std::remove(t->second.begin(), t->second.end(), id), t->second.end());
  }
  if (t != twins_.end() && t->second.empty())
    twins_.erase(t);
  return line;
}

} // namespace almanac
