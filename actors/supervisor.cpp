#include "actors/supervisor.hpp"

#include "actors/job_actor.hpp"
#include "actors/timer_queue.hpp"
#include "events/decide.hpp"
#include "projections/history.hpp"
#include "events/codec.hpp"

#include <almanac/caf_error.hpp>
#include <almanac/time.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace almanac {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What the supervisor knows of each live job: enough to route, schedule and report health
// without asking the job actor, which may not exist (passivated: see supervisor.hpp).
struct job_entry {
  job_actor actor;
  // When the supervisor last routed to or heard from the job (passivation, real time).
  std::chrono::steady_clock::time_point active{};
  std::string name;
  job_status status = job_status::active;
  std::optional<instant> next_run_at;
  std::string group;
  std::uint32_t consecutive_errors = 0;
  duration timeout{};
  std::vector<run_view> runs;
  // A due or run-now was sent and not yet answered: it holds a run slot.
  bool reserved = false;

  std::uint32_t load() const { return static_cast<std::uint32_t>(runs.size()) + (reserved ? 1 : 0); }
};

// A run that waits for a free slot (global limit) or a free group.
struct waiting_run {
  job_id job;
  bool manual = false;
  instant scheduled_for{};
  std::string actor;
  std::string note;
  caf::typed_response_promise<job_state> promise;
};

struct supervisor_state {
  static inline const char* name = "almanac.supervisor";

  std::shared_ptr<const runtime_context> ctx;
  caf::actor projector;
  std::unordered_map<job_id, job_entry> jobs;
  // Each name (lowercased) to the one live job that holds it. A name being created or renamed
  // to is reserved in names_pending until the change is durable or refused, so two changes in
  // flight can never both take it.
  std::unordered_map<std::string, job_id> names;
  std::unordered_set<std::string> names_pending;
  // Creates sent to a new actor and not yet answered: they count against the job cap, so a burst
  // of concurrent creates cannot overshoot it.
  std::uint64_t creates_pending = 0;
  // Names that more than one live job carries, which only a log written before renames were
  // reserved can hold: the other jobs of each name, reachable by id only. Almost always empty.
  std::unordered_map<std::string, std::vector<job_id>> twins;
  std::unordered_map<caf::actor_addr, job_id> by_addr;
  timer_queue timers;
  timer_queue deadlines;
  std::deque<waiting_run> waiting;
  std::uint32_t slots_used = 0;
  std::unordered_map<std::string, std::uint32_t> groups_busy;
  std::uint64_t epoch = 0;
  std::optional<instant> armed_for;
  std::deque<instant> recent_failures;
  std::vector<std::string> quarantined;
  std::vector<std::string> log_salvages;
  bool stopping = false;
  instant started_at{};
  std::mt19937_64 ids{std::random_device{}()};
  // actors_passivated at the last malloc_trim.
  std::uint64_t trimmed_at = 0;
};

using pointer = supervisor_actor::stateful_pointer<supervisor_state>;

// Timer dues have nobody to answer; run-now requests do.
template <class T>
void answer(caf::typed_response_promise<job_state>& rp, T&& value) {
  if (rp.pending())
    rp.deliver(std::forward<T>(value));
}

instant now_of(pointer self) { return self->state.ctx->clk->now(); }

// A job's state as its log holds it (snapshot + tail): what a passivated job's actor would hold.
result<job_state> load_passive(pointer self, job_id id) {
  job_state s;
  auto loaded = self->state.ctx->log->load_job(id, s);
  if (!loaded.ok())
    return store::to_error(loaded);
  return s;
}

// The job's actor, spawned from the log when the job was passivated.
result<job_actor> actor_of(pointer self, job_id id) {
  auto& st = self->state;
  auto i = st.jobs.find(id);
  if (i == st.jobs.end())
    return fail(errc::not_found, "job " + to_string(id) + " was deleted");
  auto& e = i->second;
  e.active = std::chrono::steady_clock::now();
  if (e.actor)
    return e.actor;
  auto s = load_passive(self, id);
  if (!s)
    return std::move(s).err();
  if (!s->live())
    return fail(errc::not_found, "job " + to_string(id) + " was deleted");
  e.actor = spawn_job_actor(self, std::move(*s), st.ctx);
  st.by_addr[e.actor.address()] = id;
  return e.actor;
}

// Forgets an actor that is gone (passivated, or bounced a request while stopping).
void forget_actor(pointer self, job_id id, const job_actor& actor) {
  auto& st = self->state;
  auto i = st.jobs.find(id);
  if (i == st.jobs.end() || i->second.actor != actor)
    return;
  st.by_addr.erase(actor.address());
  i->second.actor = job_actor{};
}

using job_reply = std::function<void(result<job_state>)>;

// A job_reply that answers a client's request.
job_reply deliver_to(caf::typed_response_promise<job_state> rp) {
  return [rp](result<job_state> r) mutable {
    if (r)
      rp.deliver(std::move(*r));
    else
      rp.deliver(to_caf_error(r.err()));
  };
}

duration sweep_interval(const runtime_settings& settings) {
  return std::max<duration>(settings.passivate_after / 2, std::chrono::milliseconds{100});
}

// Sends `msg` to the job's actor and hands the answer to `done`. A request bounced because the
// actor stopped meanwhile (passivation raced it: the request never ran) goes once more, to an
// actor spawned afresh from the log.
template <class Msg>
void ask_job(pointer self, job_id id, Msg msg, job_reply done, bool retried = false) {
  auto a = actor_of(self, id);
  if (!a)
    return done(std::move(a).err());
  auto actor = *a;
  self->request(actor, caf::infinite, msg)
    .then([=](job_state& s) { done(std::move(s)); },
          [=](caf::error& err) {
            if (!retried && err == caf::make_error(caf::sec::request_receiver_down)) {
              forget_actor(self, id, actor);
              ask_job(self, id, msg, done, true);
              return;
            }
            done(from_caf_error(err));
          });
}

// Changes a job's claim on run slots and groups, keeping the totals in step.
template <class F>
void update_load(supervisor_state& st, job_entry& e, F&& change) {
  auto before = e.load();
  auto old_group = e.group;
  change(e);
  auto after = e.load();
  st.slots_used = st.slots_used - before + after;
  if (!old_group.empty() && before > 0 && --st.groups_busy[old_group] == 0)
    st.groups_busy.erase(old_group);
  if (!e.group.empty() && after > 0)
    ++st.groups_busy[e.group];
}

bool can_start(const supervisor_state& st, const job_entry& e) {
  if (st.stopping || st.slots_used >= st.ctx->settings.max_concurrent_runs)
    return false;
  return e.group.empty() || st.groups_busy.count(e.group) == 0;
}

void rearm(pointer self) {
  auto& st = self->state;
  auto t = st.timers.earliest();
  auto d = st.deadlines.earliest();
  std::optional<instant> next = t;
  if (d && (!next || *d < *next))
    next = d;
  if (!next || (st.armed_for && *st.armed_for <= *next))
    return;
  st.armed_for = next;
  auto delay = std::max(duration::zero(), *next - now_of(self));
  self->delayed_send(self, delay, tick{++st.epoch});
}

void release(pointer self, job_id id);
void drain_waiting(pointer self);

// Sends a due (or run-now) to the job, holding a slot until the job answers.
void dispatch(pointer self, waiting_run w) {
  auto& st = self->state;
  auto i = st.jobs.find(w.job);
  if (i == st.jobs.end()) {
    answer(w.promise, to_caf_error(errc::not_found, "job " + to_string(w.job) + " was deleted"));
    return;
  }
  update_load(st, i->second, [](job_entry& e) { e.reserved = true; });
  command cmd = w.manual ? command{run_now{}, w.actor, w.note}
                         : command{due{w.scheduled_for}, "timer", {}};
  auto id = w.job;
  auto promise = w.promise;
  ask_job(self, id, job_command{std::move(cmd)}, [=](result<job_state> r) mutable {
    release(self, id);
    if (r) {
      answer(promise, std::move(*r));
      return;
    }
    // A due lost to a storage failure is tried again: the job's state did not change, so no
    // job_changed will re-arm its timer.
    auto code = r.err().code;
    auto i = self->state.jobs.find(id);
    if (!promise.pending() && i != self->state.jobs.end() && i->second.next_run_at
        && (code == errc::storage_error || code == errc::unavailable)
        && !self->state.timers.armed(id)) {
      self->state.timers.set(id, now_of(self) + std::chrono::seconds{1});
      rearm(self);
    }
    answer(promise, to_caf_error(r.err()));
  });
}

void release(pointer self, job_id id) {
  auto& st = self->state;
  if (auto i = st.jobs.find(id); i != st.jobs.end())
    update_load(st, i->second, [](job_entry& e) { e.reserved = false; });
  drain_waiting(self);
}

void drain_waiting(pointer self) {
  auto& st = self->state;
  for (auto i = st.waiting.begin(); i != st.waiting.end();) {
    if (st.stopping || st.slots_used >= st.ctx->settings.max_concurrent_runs)
      return;
    auto e = st.jobs.find(i->job);
    if (e == st.jobs.end()) {
      answer(i->promise, to_caf_error(errc::not_found, "job " + to_string(i->job) +
                                                       " was deleted"));
      i = st.waiting.erase(i);
      continue;
    }
    if (!can_start(st, e->second)) {
      ++i;
      continue;
    }
    auto w = std::move(*i);
    i = st.waiting.erase(i);
    dispatch(self, std::move(w));
  }
}

void want_run(pointer self, waiting_run w) {
  auto& st = self->state;
  auto i = st.jobs.find(w.job);
  if (i != st.jobs.end() && can_start(st, i->second) && st.waiting.empty())
    dispatch(self, std::move(w));
  else
    st.waiting.push_back(std::move(w));
}

void on_tick(pointer self) {
  auto& st = self->state;
  auto now = now_of(self);
  for (auto [id, at] : st.timers.pop_due(now)) {
    auto i = st.jobs.find(id);
    if (i == st.jobs.end() || !i->second.next_run_at)
      continue;
    want_run(self, waiting_run{id, false, *i->second.next_run_at, {}, {},
                               caf::typed_response_promise<job_state>{}});
  }
  for (auto [id, at] : st.deadlines.pop_due(now)) {
    auto i = st.jobs.find(id);
    if (i == st.jobs.end())
      continue;
    auto& e = i->second;
    for (const auto& r : e.runs) {
      if (e.timeout <= duration::zero() || r.started_at + e.timeout > now)
        continue;
      // The job records the run failed now (decide); the executor is asked to stop it, and its
      // late outcome is refused by the job (the run is no longer in flight). Should the run's
      // own outcome reach the job first, it carries the same reason.
      st.ctx->exec->cancel(id, r.run_id, timeout_reason(e.timeout));
      caf::anon_send(e.actor, job_command{command{time_out_run{r.run_id, now}, "system", {}}});
    }
  }
  rearm(self);
}

// Registers `name` for the job. A name that another live job already holds stays with the job
// created first; the other is reported and keeps answering by id until one of them is renamed.
void claim_name(pointer self, const std::string& name, job_id id, instant created_at) {
  auto& st = self->state;
  auto key = lower(name);
  auto [i, added] = st.names.emplace(key, id);
  if (added || i->second == id)
    return;
  auto& others = st.twins[key];
  if (std::find(others.begin(), others.end(), id) != others.end())
    return;
  auto holder = i->second;
  auto held = load_passive(self, holder);
  if (held && std::make_pair(created_at, id) < std::make_pair(held->created_at, holder)) {
    i->second = id;
    std::swap(id, holder);
  }
  others.push_back(id);
  st.ctx->say(log_level::warning,
              "jobs " + to_string(holder) + " and " + to_string(id) + " are both named '" + name +
                "': the name resolves to " + to_string(holder) + " (created first); " +
                to_string(id) + " answers by id only until one of them is renamed or deleted");
}

// The job no longer carries `name`; a twin of the same name, if any, takes it over.
void release_name(pointer self, const std::string& name, job_id id) {
  auto& st = self->state;
  auto key = lower(name);
  auto t = st.twins.find(key);
  auto i = st.names.find(key);
  if (i != st.names.end() && i->second == id) {
    if (t == st.twins.end()) {
      st.names.erase(i);
      return;
    }
    i->second = t->second.front();
    t->second.erase(t->second.begin());
    st.ctx->say(log_level::info, "the name '" + name + "' now resolves to job " +
                                   to_string(i->second));
  } else if (t != st.twins.end()) {
    t->second.erase(std::remove(t->second.begin(), t->second.end(), id), t->second.end());
  }
  if (t != st.twins.end() && t->second.empty())
    st.twins.erase(t);
}

void track(pointer self, const job_changed& c) {
  auto& st = self->state;
  auto i = st.jobs.find(c.id);
  if (i == st.jobs.end())
    return;
  auto& e = i->second;
  if (c.status == job_status::failed && e.status != job_status::failed) {
    st.recent_failures.push_back(now_of(self));
  }
  if (c.deleted) {
    update_load(st, e, [](job_entry& x) {
      x.runs.clear();
      x.reserved = false;
    });
    release_name(self, e.name, c.id);
    if (e.actor) {
      st.by_addr.erase(e.actor.address());
      self->send_exit(e.actor, caf::exit_reason::user_shutdown);
    }
    st.timers.set(c.id, std::nullopt);
    st.deadlines.set(c.id, std::nullopt);
    st.jobs.erase(i);
    drain_waiting(self);
    return;
  }
  if (lower(e.name) != lower(c.name)) {
    // The new name was reserved by the rename request, so nobody else holds it (and if a
    // twin did, it would keep it: the latest instant loses).
    release_name(self, e.name, c.id);
    claim_name(self, c.name, c.id, instant::max());
  }
  update_load(st, e, [&](job_entry& x) {
    x.runs = c.runs;
    x.group = c.group;
  });
  e.active = std::chrono::steady_clock::now();
  e.name = c.name;
  e.status = c.status;
  e.next_run_at = c.next_run_at;
  e.consecutive_errors = c.consecutive_errors;
  e.timeout = c.timeout;
  st.timers.set(c.id, c.wake);
  std::optional<instant> deadline;
  if (e.timeout > duration::zero())
    for (const auto& r : e.runs)
      if (!deadline || r.started_at + e.timeout < *deadline)
        deadline = r.started_at + e.timeout;
  st.deadlines.set(c.id, deadline);
  drain_waiting(self);
  rearm(self);
}

// Resolves an id (16 hex digits) or a name (case-insensitive).
result<job_id> resolve(const supervisor_state& st, const std::string& text) {
  if (text.empty())
    return fail(errc::invalid_input, "no job id or name given");
  if (auto id = parse_job_id(text); id && st.jobs.count(*id))
    return *id;
  if (auto i = st.names.find(lower(text)); i != st.names.end())
    return i->second;
  return fail(errc::not_found, "no job with id or name '" + text + "'");
}

job_entry entry_of(const job_state& s, job_actor actor) {
  auto c = describe_change(s);
  job_entry e;
  e.actor = std::move(actor);
  e.name = s.name;
  e.status = s.status;
  e.next_run_at = s.next_run_at;
  e.group = c.group;
  e.consecutive_errors = s.consecutive_errors;
  e.timeout = c.timeout;
  e.runs = c.runs;
  return e;
}

// `actor` may be invalid: the job is registered passive and spawned when needed.
void add_job(pointer self, const job_state& s, job_actor actor) {
  auto& st = self->state;
  if (actor)
    st.by_addr[actor.address()] = s.id;
  claim_name(self, s.name, s.id, s.created_at);
  auto e = entry_of(s, std::move(actor));
  e.active = std::chrono::steady_clock::now();
  auto [i, added] = st.jobs.emplace(s.id, job_entry{});
  update_load(st, i->second, [&](job_entry& x) { x = std::move(e); });
  st.timers.set(s.id, wake_at(s));
}

void notify_projector(pointer self) {
  auto& st = self->state;
  if (st.projector && !st.ctx->projector_poked.exchange(true))
    caf::anon_send(st.projector, advance_atom::value);
}

caf::result<job_state> forward(pointer self, const std::string& job, command cmd) {
  auto id = resolve(self->state, job);
  if (!id)
    return to_caf_error(id.err());
  notify_projector(self);
  auto rp = self->make_response_promise<job_state>();
  ask_job(self, *id, job_command{std::move(cmd)}, deliver_to(rp));
  return rp;
}

// Asks idle job actors to stop (see supervisor.hpp); each that does leaves only its entry.
void sweep(pointer self) {
  auto& st = self->state;
  auto idle_for = st.ctx->settings.passivate_after;
  auto now = std::chrono::steady_clock::now();
  auto soon = now_of(self) + idle_for;
  for (auto& [id, e] : st.jobs) {
    if (!e.actor || e.reserved || !e.runs.empty() || now - e.active < idle_for)
      continue;
    if (auto wake = st.timers.armed(id); wake && *wake <= soon)
      continue;
    auto actor = e.actor;
    auto job = id;
    self->request(actor, caf::infinite, passivate_atom::value)
      .then(
        [=](bool gone) {
          if (gone) {
            forget_actor(self, job, actor);
            ++self->state.ctx->metrics->actors_passivated;
          }
        },
        [](caf::error&) {});
  }
}

// A job for history queries: a live job by id or name, or the id of a deleted one (its audit
// trail and runs outlive it).
result<job_id> resolve_history(const supervisor_state& st, const std::string& text) {
  auto id = resolve(st, text);
  if (id)
    return id;
  if (auto parsed = parse_job_id(text))
    return *parsed;
  return id;
}

// Answers a history query from the stored projections once the projector has caught up with
// everything appended before the query, so a caller reads its own writes.
template <class Page, class Read>
caf::typed_response_promise<Page> read_history(pointer self, Read read) {
  auto rp = self->make_response_promise<Page>();
  auto answer_now = [=]() mutable {
    Page page;
    auto s = read(*self->state.ctx->log, page);
    if (!s.ok())
      rp.deliver(to_caf_error(store::to_error(s)));
    else
      rp.deliver(std::move(page));
  };
  if (!self->state.projector) {
    answer_now();
    return rp;
  }
  self->request(self->state.projector, caf::infinite, sync_atom::value)
    .then([=](std::uint64_t) mutable { answer_now(); },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// -- pages (see admin.hpp) ----------------------------------------------------------------------

result<std::uint32_t> page_size(std::uint32_t limit) {
  if (limit == 0)
    return default_page_size;
  if (limit > max_page_size)
    return fail(errc::invalid_input, "limit " + std::to_string(limit) +
                                       " is over the largest page of " +
                                       std::to_string(max_page_size) +
                                       " (follow next_cursor for more)");
  return limit;
}

// A cursor is a letter naming its list (j: jobs, a: audit, r: runs) and 16 hex digits of the
// position after which the next page starts. The letter keeps a cursor of one list from being
// read as a position of another.
std::string make_cursor(char kind, std::uint64_t position) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%c%016llx", kind, static_cast<unsigned long long>(position));
  return buf;
}

// The position in `text` (nullopt when empty: the first page).
result<std::optional<std::uint64_t>> parse_cursor(char kind, const std::string& text,
                                                  const char* list) {
  if (text.empty())
    return std::optional<std::uint64_t>{};
  std::uint64_t v = 0;
  const char* digits = text.data() + 1;
  const char* end = text.data() + text.size();
  bool hex = text.size() == 17 && text[0] == kind
             && std::all_of(digits, end, [](char c) {
                  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                });
  if (!hex || std::from_chars(digits, end, v, 16).ptr != end)
    return fail(errc::invalid_input, std::string{"cursor '"} + text.substr(0, 40) +
                                       "' is not a cursor of the " + list +
                                       " list (pass the next_cursor of a previous page)");
  return std::optional<std::uint64_t>{v};
}

// A page of jobs being gathered, one job at a time in id order: only one job's state is in
// flight per request, and the page ends at max_page_bytes, however large the jobs are.
struct job_walk {
  std::vector<job_id> ids;
  std::size_t next = 0;
  // More jobs matched than `ids` holds.
  bool more = false;
  std::size_t bytes = 0;
  std::optional<job_id> last;
  job_list page;
  caf::typed_response_promise<job_list> rp;
};

void add_to_walk(job_walk& w, job_state s) {
  w.bytes += encode_state(s).size();
  w.page.jobs.push_back(std::move(s));
}

void continue_walk(pointer self, std::shared_ptr<job_walk> w) {
  auto& st = self->state;
  while (w->next < w->ids.size()) {
    if (w->bytes >= max_page_bytes)
      break;
    auto id = w->ids[w->next++];
    w->last = id;
    auto i = st.jobs.find(id);
    // Deleted since the page began: it no longer exists, so it is not listed.
    if (i == st.jobs.end())
      continue;
    if (!i->second.actor) {
      if (auto s = load_passive(self, id); s && s->live())
        add_to_walk(*w, std::move(*s));
      continue;
    }
    self->request(i->second.actor, caf::infinite, get_atom::value)
      .then(
        [=](job_state& s) {
          if (s.live())
            add_to_walk(*w, std::move(s));
          continue_walk(self, w);
        },
        [=](caf::error&) {
          // Passivated or deleted meanwhile: its state is in the log.
          if (auto s = load_passive(self, id); s && s->live())
            add_to_walk(*w, std::move(*s));
          continue_walk(self, w);
        });
    return;
  }
  if (w->last && (w->more || w->next < w->ids.size()))
    w->page.next_cursor = make_cursor('j', w->last->value);
  w->rp.deliver(std::move(w->page));
}

health_report health(pointer self) {
  auto& st = self->state;
  auto now = now_of(self);
  health_report h;
  h.started_at = st.started_at;
  h.now = now;
  for (const auto& [id, e] : st.jobs) {
    switch (e.status) {
      case job_status::active: ++h.active; break;
      case job_status::paused: ++h.paused; break;
      case job_status::failed: ++h.failed; break;
      case job_status::completed: ++h.completed; break;
    }
    if (e.status == job_status::active && e.consecutive_errors > 0)
      ++h.erroring;
    for (const auto& r : e.runs)
      h.runs_in_flight.push_back(stuck_run{id, e.name, r.run_id, r.started_at,
                                           now - r.started_at,
                                           e.timeout > duration::zero()
                                             && now - r.started_at > e.timeout});
  }
  auto window = st.ctx->settings.fleet_alert_window;
  while (!st.recent_failures.empty() && now - st.recent_failures.front() > window)
    st.recent_failures.pop_front();
  h.recently_failed = st.recent_failures.size();
  h.fleet_alert = h.recently_failed >= st.ctx->settings.fleet_alert_failures;
  h.quarantined = st.quarantined;
  h.log_salvages = st.log_salvages;
  return h;
}

supervisor_actor::behavior_type supervisor(pointer self, std::shared_ptr<const runtime_context> ctx,
                                           caf::actor projector, recovered_jobs recovered) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.projector = std::move(projector);
  st.started_at = now_of(self);
  st.quarantined = std::move(recovered.quarantined);
  st.log_salvages = std::move(recovered.log_salvages);
  // Overdue jobs are spread out so a thousand of them do not all fire in the same millisecond;
  // each then follows its misfire policy when its due arrives late.
  auto now = st.started_at;
  std::size_t overdue = 0;
  for (const auto& s : recovered.jobs)
    if (auto w = wake_at(s); w && *w < now)
      ++overdue;
  auto spacing = overdue == 0 ? duration::zero()
                              : std::min<duration>(std::chrono::milliseconds{1},
                                                   st.ctx->settings.recovery_stagger
                                                     / static_cast<duration::rep>(overdue));
  std::size_t nth = 0;
  auto idle_for = st.ctx->settings.passivate_after;
  for (auto& s : recovered.jobs) {
    // Only jobs with something to do soon get an actor now; the others when first needed.
    auto wake = wake_at(s);
    bool needed = idle_for <= duration::zero() || !s.in_flight.empty()
                  || (wake && *wake <= now + idle_for);
    job_actor actor;
    if (needed)
      actor = spawn_job_actor(self, s, st.ctx);
    add_job(self, s, actor);
    if (wake && *wake < now)
      st.timers.set(s.id, now + spacing * static_cast<duration::rep>(nth++));
    if (!s.in_flight.empty())
      caf::anon_send(actor, job_command{command{abandon_in_flight{"scheduler restarted"}, "system",
                                            {}}});
  }
  st.ctx->say(log_level::info, "recovered " + std::to_string(recovered.jobs.size()) + " jobs (" +
                                 std::to_string(overdue) + " overdue) in " +
                                 format_duration(recovered.took));
  rearm(self);
  if (idle_for > duration::zero())
    self->delayed_send(self, sweep_interval(st.ctx->settings), sweep_atom::value);

  // A shutdown ends the job actors with the supervisor, so none outlives it (and the log).
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& [id, e] : self->state.jobs)
      if (e.actor)
        self->send_exit(e.actor, em.reason);
    self->quit(em.reason);
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.by_addr.find(dm.source);
    if (i == st.by_addr.end())
      return;
    auto id = i->second;
    st.by_addr.erase(i);
    if (!st.jobs.count(id) || dm.reason == caf::exit_reason::normal)
      return;
    // A job actor died (a bug, or killed on purpose): its state is in the log, so a new actor
    // takes over from there.
    job_state s;
    auto loaded = st.ctx->log->load_job(id, s);
    if (!loaded.ok() || !s.live()) {
      st.ctx->say(log_level::error, "job " + to_string(id) + " died and cannot be reloaded: " +
                                      loaded.message());
      return;
    }
    st.ctx->say(log_level::warning, "job '" + s.name + "' (" + to_string(id) +
                                      ") actor died (" + caf::to_string(dm.reason) +
                                      "); respawned from the log");
    auto actor = spawn_job_actor(self, s, st.ctx);
    add_job(self, s, actor);
    if (!s.in_flight.empty())
      caf::anon_send(actor, job_command{command{abandon_in_flight{"job actor restarted"}, "system",
                                            {}}});
    rearm(self);
  });

  return {
    [=](create_request& req) -> caf::result<job_state> {
      auto& st = self->state;
      auto key = lower(req.spec.name);
      if (st.jobs.size() + st.creates_pending >= st.ctx->settings.max_jobs)
        return to_caf_error(errc::limit_exceeded,
                            "the job cap of " + std::to_string(st.ctx->settings.max_jobs) +
                              " jobs is reached (" + std::to_string(st.jobs.size()) +
                              " live): delete jobs or raise max_jobs (--max-jobs)");
      if (st.names.count(key) || st.names_pending.count(key))
        return to_caf_error(errc::name_taken,
                            "a job named '" + req.spec.name + "' already exists");
      job_id id;
      for (;;) {
        id = job_id{st.ids()};
        std::uint64_t highest = 0;
        auto s = st.ctx->log->highest_seq(id, highest);
        if (!s.ok())
          return to_caf_error(store::to_error(s));
        // Ids are never reused, not even those of deleted and purged jobs.
        if (id.value != 0 && !st.jobs.count(id) && highest == 0)
          break;
      }
      job_state empty;
      empty.id = id;
      auto actor = spawn_job_actor(self, empty, st.ctx);
      st.by_addr[actor.address()] = id;
      st.names_pending.insert(key);
      ++st.creates_pending;
      auto rp = self->make_response_promise<job_state>();
      self
        ->request(actor, caf::infinite,
                  job_command{command{create_job{id, req.spec.name, req.spec.sched, req.spec.what,
                                                 req.spec.policies},
                                      req.actor, req.note}})
        .then(
          [=](job_state& s) mutable {
            self->state.names_pending.erase(key);
            --self->state.creates_pending;
            add_job(self, s, actor);
            notify_projector(self);
            rearm(self);
            rp.deliver(std::move(s));
          },
          [=](caf::error& err) mutable {
            self->state.names_pending.erase(key);
            --self->state.creates_pending;
            self->state.by_addr.erase(actor.address());
            self->send_exit(actor, caf::exit_reason::user_shutdown);
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [=](update_request& req) -> caf::result<job_state> {
      if (!req.changes.name)
        return forward(self, req.job, command{std::move(req.changes), req.actor, req.note});
      auto& st = self->state;
      auto id = resolve(st, req.job);
      if (!id)
        return to_caf_error(id.err());
      // The new name is reserved like a create's until the rename is durable (track() then
      // moves it) or refused: checking `names` alone let concurrent renames, or a rename and a
      // create, all take one name. Its own name too, so a change of case cannot race a
      // rename away from it.
      auto key = lower(*req.changes.name);
      auto holder = st.names.find(key);
      if ((holder != st.names.end() && holder->second != *id) || st.names_pending.count(key))
        return to_caf_error(errc::name_taken,
                            "a job named '" + *req.changes.name + "' already exists");
      st.names_pending.insert(key);
      notify_projector(self);
      auto rp = self->make_response_promise<job_state>();
      auto reply = deliver_to(rp);
      ask_job(self, *id, job_command{command{std::move(req.changes), req.actor, req.note}},
              [=](result<job_state> r) {
                self->state.names_pending.erase(key);
                reply(std::move(r));
              });
      return rp;
    },
    [=](pause_request& req) -> caf::result<job_state> {
      return forward(self, req.job, command{pause_job{}, req.actor, req.note});
    },
    [=](resume_request& req) -> caf::result<job_state> {
      return forward(self, req.job, command{resume_job{req.force}, req.actor, req.note});
    },
    [=](delete_request& req) -> caf::result<job_state> {
      return forward(self, req.job, command{delete_job{}, req.actor, req.note});
    },
    [=](run_now_request& req) -> caf::result<job_state> {
      auto id = resolve(self->state, req.job);
      if (!id)
        return to_caf_error(id.err());
      if (self->state.stopping)
        return to_caf_error(errc::unavailable, "the scheduler is stopping");
      auto rp = self->make_response_promise<job_state>();
      want_run(self, waiting_run{*id, true, {}, req.actor, req.note, rp});
      notify_projector(self);
      return rp;
    },
    [=](get_request& req) -> caf::result<job_state> {
      auto id = resolve(self->state, req.job);
      if (!id)
        return to_caf_error(id.err());
      if (!self->state.jobs.at(*id).actor) {
        auto s = load_passive(self, *id);
        if (!s)
          return to_caf_error(s.err());
        return std::move(*s);
      }
      auto rp = self->make_response_promise<job_state>();
      ask_job(self, *id, get_atom::value, deliver_to(rp));
      return rp;
    },
    [=](list_request& req) -> caf::result<job_list> {
      auto& st = self->state;
      auto limit = page_size(req.limit);
      if (!limit)
        return to_caf_error(limit.err());
      auto after = parse_cursor('j', req.cursor, "jobs");
      if (!after)
        return to_caf_error(after.err());
      std::optional<job_status> status;
      if (!req.status.empty()) {
        auto s = parse_job_status(req.status);
        if (!s)
          return to_caf_error(s.err());
        status = *s;
      }
      auto needle = lower(req.name);
      auto w = std::make_shared<job_walk>();
      for (const auto& [id, e] : st.jobs)
        if ((!*after || id.value > **after) && (!status || e.status == *status)
            && (needle.empty() || lower(e.name).find(needle) != std::string::npos))
          w->ids.push_back(id);
      if (w->ids.size() > *limit) {
        std::nth_element(w->ids.begin(), w->ids.begin() + *limit, w->ids.end());
        w->ids.resize(*limit);
        w->more = true;
      }
      std::sort(w->ids.begin(), w->ids.end());
      w->rp = self->make_response_promise<job_list>();
      auto rp = w->rp;
      continue_walk(self, w);
      return rp;
    },
    [=](audit_request& req) -> caf::result<audit_page> {
      auto limit = page_size(req.limit);
      if (!limit)
        return to_caf_error(limit.err());
      auto after = parse_cursor('a', req.cursor, "audit");
      if (!after)
        return to_caf_error(after.err());
      auto before = *after ? **after : req.before;
      std::optional<job_id> job;
      if (!req.job.empty()) {
        auto id = resolve_history(self->state, req.job);
        if (!id)
          return to_caf_error(id.err());
        job = *id;
      }
      return read_history<audit_page>(self, [=, n = *limit](const store::event_log& log,
                                                            audit_page& page) {
        // One more than the page tells whether another page follows.
        auto s = read_audit(log, job, n + 1, before, page.entries);
        if (s.ok() && page.entries.size() > n) {
          page.entries.resize(n);
          page.next_cursor = make_cursor('a', page.entries.back().position);
        }
        return s;
      });
    },
    [=](runs_request& req) -> caf::result<run_page> {
      auto limit = page_size(req.limit);
      if (!limit)
        return to_caf_error(limit.err());
      auto after = parse_cursor('r', req.cursor, "runs");
      if (!after)
        return to_caf_error(after.err());
      auto job = resolve_history(self->state, req.job);
      if (!job)
        return to_caf_error(job.err());
      return read_history<run_page>(self, [=, id = *job, n = *limit,
                                           before = after->value_or(0)](
                                            const store::event_log& log, run_page& page) {
        auto s = read_runs(log, id, n + 1, page.runs, before);
        if (s.ok() && page.runs.size() > n) {
          page.runs.resize(n);
          page.next_cursor = make_cursor('r', page.runs.back().run_id);
        }
        return s;
      });
    },
    [=](preview_request& req) -> caf::result<preview_result> {
      if (req.count > 1000)
        return to_caf_error(errc::invalid_input, "preview count " + std::to_string(req.count) +
                                                   " is over the limit of 1000");
      auto sched = req.sched;
      if (auto c = compile(sched); !c)
        return to_caf_error(c.err());
      preview_result out;
      auto t = req.from;
      for (std::uint32_t i = 0; i < req.count; ++i) {
        auto n = next_after(sched, t);
        if (!n)
          break;
        out.fires.push_back(*n);
        t = *n;
      }
      return out;
    },
    [=](health_request&) -> health_report { return health(self); },
    [=](job_changed& c) {
      track(self, c);
      notify_projector(self);
    },
    [=](tick& t) {
      auto& st = self->state;
      if (t.epoch != 0 && t.epoch != st.epoch)
        return;
      // A wake-up that is due by the clock no longer guards anything, even when its delayed
      // message has not arrived yet (an explicit check, or a clock that moved on its own):
      // forget it so the next earliest deadline gets a wake-up of its own.
      if (t.epoch != 0 || (st.armed_for && *st.armed_for <= now_of(self)))
        st.armed_for.reset();
      on_tick(self);
    },
    [=](get_atom, job_id id) -> caf::actor {
      auto a = actor_of(self, id);
      if (!a)
        return caf::actor{};
      return caf::actor_cast<caf::actor>(*a);
    },
    [=](sweep_atom) {
      auto& st = self->state;
      if (st.stopping)
        return;
      // Actors stopped since the last sweep left freed memory spread over the heap; glibc keeps
      // it unless asked (a burst of creates gone idle otherwise keeps its peak RSS for good).
      auto passivated = st.ctx->metrics->actors_passivated.load();
      if (passivated - st.trimmed_at >= 1024) {
        st.trimmed_at = passivated;
#ifdef __GLIBC__
        malloc_trim(0);
#endif
      }
      sweep(self);
      self->delayed_send(self, sweep_interval(st.ctx->settings), sweep_atom::value);
    },
    [=](stop_atom) -> std::uint64_t {
      auto& st = self->state;
      st.stopping = true;
      for (auto& w : st.waiting)
        answer(w.promise, to_caf_error(errc::unavailable, "the scheduler is stopping"));
      st.waiting.clear();
      std::uint64_t running = 0;
      for (const auto& [id, e] : st.jobs)
        running += e.runs.size();
      return running;
    },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<const runtime_context> ctx,
                                  caf::actor projector, recovered_jobs recovered) {
  return sys.spawn(supervisor, std::move(ctx), std::move(projector), std::move(recovered));
}

} // namespace almanac
